# sellerhub — `make help` lists the targets.
#
# MODE=release (default) builds into build/release and bin/; MODE=asan builds with
# AddressSanitizer + UBSan into build/asan and bin/asan/.

MODE ?= release
PKGS := libevent libevent_pthreads libpq hiredis libcurl openssl jansson libjwt libargon2 zlib \
        xlsxwriter

CC      ?= cc
WARN    := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
           -Wshadow -Wpointer-arith -Wcast-qual -Wsign-compare -Wno-unused-parameter -fno-common
CFLAGS_BASE := -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) -MMD -MP \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

ifeq ($(MODE),asan)
  CFLAGS  := $(CFLAGS_BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS := -fsanitize=address,undefined
  BIN     := bin/asan
else
  CFLAGS  := $(CFLAGS_BASE) -O2 -g
  LDFLAGS :=
  BIN     := bin
endif
OBJDIR := build/$(MODE)

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c src/api/*.c src/sync/*.c src/channels/*.c src/channels/*/*.c))
SIM_SRC  := $(wildcard test/marketsim/*.c)
UNIT_SRC := $(wildcard test/unit/*.c)
INT_SRC  := $(wildcard test/integration/*.c)

obj = $(patsubst %.c,$(OBJDIR)/%.o,$(1))
LIB := $(OBJDIR)/libsellerhub.a

# The test runners need no speed, only a quick build: -Og compiles them about a third faster.
ifneq ($(MODE),asan)
$(call obj,$(UNIT_SRC) $(INT_SRC)): CFLAGS := $(CFLAGS_BASE) -Og -g
endif

.DEFAULT_GOAL := all
.PHONY: all help run stop migrate test test-only asan bench bench-webhooks bench-sync demo fmt fmt-check clean services fuzz fuzz-build

all: $(BIN)/sellerhubd $(if $(SIM_SRC),$(BIN)/marketsim) $(BIN)/test-unit $(BIN)/test-integration $(BIN)/webhook-load ## build the server, marketsim, the test runners and bench-webhooks' load

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/' | expand -t 18

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(call obj,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BIN)/sellerhubd: $(call obj,src/main.c) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/marketsim: $(call obj,$(SIM_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/test-unit: $(call obj,$(UNIT_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcriterion

$(BIN)/test-integration: $(call obj,$(INT_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcriterion

# The load generator of bench-webhooks' burst phase: libevent only, no server code.
$(BIN)/webhook-load: $(call obj,scripts/webhook_load.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libevent)

services: ## start the private PostgreSQL and Redis under var/
	@scripts/bootstrap
	@scripts/services start

# scripts/run runs this MODE's server (bin/asan/sellerhubd for MODE=asan).
run migrate: export SELLERHUBD ?= $(BIN)/sellerhubd

run: ## install what is missing, start services, migrate and run sellerhubd on 127.0.0.1:8080
	@scripts/bootstrap
	@$(MAKE) --no-print-directory $(BIN)/sellerhubd
	@scripts/services start
	@scripts/run

stop: ## stop the private PostgreSQL and Redis
	@scripts/services stop

migrate: $(BIN)/sellerhubd ## apply the migrations to the make-run database
	@scripts/services start
	@scripts/run migrate

test: ## install what is missing, build, and run every test against throw-away services
	@scripts/bootstrap
	@$(MAKE) --no-print-directory fmt-check
	@$(MAKE) --no-print-directory all
	@scripts/test $(BIN)

test-only: all ## run the tests without bootstrap or format check
	@scripts/test $(BIN)

asan: ## build and test with AddressSanitizer + UBSan (and LeakSanitizer)
	@scripts/bootstrap
	@$(MAKE) --no-print-directory MODE=asan all
	@scripts/test bin/asan

bench: ## measure the README's figures (wrk: /health vs bare evhttp, pool latency, logins)
	@scripts/bootstrap
	@$(MAKE) --no-print-directory all
	@scripts/bench
	@scripts/bench-auth $(BIN)
	@scripts/bench-auth $(BIN)

bench-webhooks: ## webhook intake: acks/s and p99 at 50 connections, acknowledged = stored = processed
	@scripts/bootstrap
	@$(MAKE) --no-print-directory all
	@scripts/bench-webhooks 20 $(BIN)

demo: ## marketsim as Mercado Livre + sellerhubd wired to it, a demo seller connected through OAuth
	@scripts/bootstrap
	@$(MAKE) --no-print-directory all
	@scripts/demo
bench-sync: ## issue 7 bars: a rate-limited backfill (time, 429s, RSS), orders list/stats at 100k orders
	@$(MAKE) --no-print-directory all
	@scripts/bench-sync $(BIN)

# libFuzzer harnesses (test/fuzz/fuzz_<name>.c): the library built again with clang and the
# fuzzer's coverage, ASan and UBSan, into build/fuzz/; scripts/fuzz runs them (test/fuzz/README.md).
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := $(CFLAGS_BASE) -O2 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_SRC     := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst test/fuzz/%.c,build/fuzz/bin/%,$(FUZZ_SRC))
FUZZ_LIB     := build/fuzz/libsellerhub.a
fuzz_obj      = $(patsubst %.c,build/fuzz/obj/%.o,$(1))
FUZZ_SECONDS ?= 60

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIB): $(call fuzz_obj,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

build/fuzz/bin/%: build/fuzz/obj/test/fuzz/%.o $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_BINS) ## build the libFuzzer harnesses into build/fuzz/bin/

fuzz: ## build the fuzz harnesses and run each for FUZZ_SECONDS (default 60); fails on a crash
	@scripts/bootstrap
	@$(MAKE) --no-print-directory fuzz-build
	@scripts/fuzz $(FUZZ_SECONDS) $(FUZZ_BINS)

fmt: ## format the C sources with clang-format
	@clang-format -i $(shell git ls-files '*.c' '*.h')

fmt-check: ## fail when a C source is not clang-format clean
	@out=$$(for f in $$(git ls-files '*.c' '*.h'); do clang-format "$$f" | cmp -s - "$$f" || echo "$$f"; done); \
	if [ -n "$$out" ]; then echo "not clang-format clean (run make fmt):"; echo "$$out"; exit 1; fi

clean: ## remove build outputs (not var/)
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
