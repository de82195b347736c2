#!/usr/bin/env bash
# `make run` as a newcomer runs it, from a checkout in a private (0700) directory: as root (CI;
# PostgreSQL then runs as the postgres user, who cannot enter that directory) and as a normal user.
# Each run waits for /health and /ready with a deadline, checks where the services' files went,
# stops the server with SIGTERM (make run must exit 0) and the services with `make stop`.
#   test/make-run/test.sh [BINDIR]    BINDIR: bin (default) or bin/asan; the build is reused
# As root, the normal user is MAKE_RUN_USER (default nobody). scripts/test runs this.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
src=$PWD
bindir=${1:-bin}
mode=release
[ "$bindir" != bin/asan ] || mode=asan
[ -x "$bindir/sellerhubd" ] && [ -f "build/$mode/libsellerhub.a" ] ||
	{ echo "make-run: build first (make MODE=$mode all)" >&2; exit 1; }

base=$(mktemp -d /tmp/sellerhub-make-run.XXXXXX)
chmod 755 "$base"
srv_pid="" co="" as=() newcomer=()
cleanup() {
	if [ -n "$srv_pid" ] && kill -0 "$srv_pid" 2>/dev/null; then
		kill -9 $(descendants "$srv_pid") "$srv_pid" 2>/dev/null || true
	fi
	[ -z "$co" ] || stop_services
	rm -rf "$base"
}
trap cleanup EXIT INT TERM

descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}

# A newcomer's environment: nothing of ours (SERVICES_DIR, DATABASE_URL, SELLERHUBD...) leaks in.
clean_env() {
	newcomer=(env -i PATH="$PATH" HOME="$home" LANG=C.UTF-8 PORT="$port" PG_PORT="$pg_port"
		REDIS_PORT="$redis_port" PG_FSYNC=off REDIS_AOF=no)
	local v
	for v in ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS; do
		[ -z "${!v:-}" ] || newcomer+=("$v=${!v}")
	done
}

# make stop, then remove the cluster's directory outside the checkout if it has one (as root).
stop_services() {
	local ext=""
	if [ -L "$co/var/pg" ]; then
		ext=$(dirname "$(readlink "$co/var/pg")")
		[ "$(cat "$ext/checkout" 2>/dev/null)" = "$co/var" ] || ext=""
	fi
	"${as[@]}" "${newcomer[@]}" make -C "$co" --no-print-directory stop >/dev/null 2>&1 || true
	[ -z "$ext" ] || rm -rf "$ext"
	co=""
}

fail() {
	echo "make-run: $who: FAIL: $*" >&2
	echo "--- make run's output:" >&2
	tail -n 30 "$log" >&2
	exit 1
}

# make run in the background as $as; 0 once /health answers, 1 if make run exited first.
start_make_run() {
	local deadline
	"${as[@]}" "${newcomer[@]}" make -C "$co" --no-print-directory MODE="$mode" run >"$log" 2>&1 &
	srv_pid=$!
	deadline=$(($(date +%s) + 120))
	until curl -fs --max-time 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
		if ! kill -0 "$srv_pid" 2>/dev/null; then
			wait "$srv_pid" || true
			srv_pid=""
			return 1
		fi
		[ "$(date +%s)" -lt "$deadline" ] || fail "/health did not answer within 120 s"
		sleep 0.2
	done
}

# run_as NAME: a copy of this checkout in $base/NAME/sellerhub ($base/NAME is 0700 and NAME's),
# `make run` in it as NAME, /health, /ready, where the files are, SIGTERM, exit 0, make stop.
run_as() {
	who=$1
	home=$base/$who
	co=$home/sellerhub
	log=$base/$who.log
	mkdir -p "$co/build/$mode/src" "$co/$bindir"
	# The working tree as it is (uncommitted changes too) and this MODE's server build, mtimes kept,
	# so make finds the server up to date instead of compiling it again.
	tar -C "$src" --exclude=./.git --exclude=./var --exclude=./bin --exclude=./build -cf - . |
		tar -C "$co" -xf -
	cp -a "build/$mode/src" "build/$mode/libsellerhub.a" "$co/build/$mode/"
	cp -a "$bindir/sellerhubd" "$co/$bindir/"
	if [ "$who" = "$(id -un)" ]; then
		as=()
	else
		chown -R "$who:" "$home"
		as=(setpriv --reuid="$who" --regid="$(id -g "$who")" --clear-groups)
	fi
	chmod 700 "$home"

	# A free port can be taken between the probe and the bind: then again on fresh ports.
	local t0 now attempt
	for attempt in 1 2 3 4 5; do
		port=$(free_port) pg_port=$(free_port) redis_port=$(free_port)
		clean_env
		t0=$(date +%s.%N)
		start_make_run && break
		[ "$attempt" -lt 5 ] && grep -q "Address already in use" "$log" || fail "make run exited before /health answered"
		stop_services
		co=$home/sellerhub
		rm -rf "$co/var"
	done
	now=$(date +%s.%N)
	curl -fs --max-time 5 "http://127.0.0.1:$port/ready" >/dev/null || fail "/ready is not 200"

	# Every file of the private services can be found from the checkout, and make run said where.
	grep -q "^services: PostgreSQL on 127.0.0.1:$pg_port as " "$log" || fail "no 'services: PostgreSQL' line"
	grep -q "^services: Redis on 127.0.0.1:$redis_port, files in $co/var/redis" "$log" || fail "no 'services: Redis' line"
	local where
	if [ "$who" = root ]; then
		[ -L "$co/var/pg" ] && [ -L "$co/var/run" ] || fail "var/pg and var/run are not symlinks"
		where=$(readlink "$co/var/pg")
		[ -f "$where/PG_VERSION" ] || fail "var/pg does not lead to the cluster"
		grep -q "as postgres, data $where ($co/var/pg and $co/var/run link there)" "$log" ||
			fail "the PostgreSQL line does not name $where"
	else
		[ -d "$co/var/pg" ] && [ ! -L "$co/var/pg" ] && [ "$(stat -c %U "$co/var/pg")" = "$who" ] ||
			fail "var/pg is not $who's own directory"
		where=$co/var/pg
	fi

	# Stop as Ctrl-C would, but only the server: make run must then exit 0 (drained, clean).
	local server
	server=$(for p in $(descendants "$srv_pid"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sellerhubd ] && echo "$p"; done)
	[ -n "$server" ] || fail "no sellerhubd under make run"
	kill -TERM $server
	deadline=$(($(date +%s) + 30))
	while kill -0 "$srv_pid" 2>/dev/null; do
		[ "$(date +%s)" -lt "$deadline" ] || fail "make run did not exit within 30 s of SIGTERM"
		sleep 0.1
	done
	local rc=0 deadline
	wait "$srv_pid" || rc=$?
	srv_pid=""
	[ "$rc" -eq 0 ] || fail "make run exited $rc after SIGTERM"
	local pgdata=$where
	stop_services
	[ ! -f "$pgdata/postmaster.pid" ] || fail "PostgreSQL still running after make stop"
	awk -v w="$who" -v a="$t0" -v b="$now" -v d="$pgdata" 'BEGIN {
		printf "make-run: %s: ok (/health after %.1f s; PostgreSQL data in %s)\n", w, b - a, d }'
}

if [ "$(id -u)" -eq 0 ]; then
	run_as root
	user=${MAKE_RUN_USER:-nobody}
	if ! id -u "$user" >/dev/null 2>&1; then
		echo "make-run: as a normal user: SKIPPED (no user '$user'; set MAKE_RUN_USER)"
	elif ! command -v setpriv >/dev/null; then
		echo "make-run: as a normal user: SKIPPED (setpriv is missing)"
	else
		run_as "$user"
	fi
else
	echo "make-run: as root: SKIPPED (not root; CI runs it as root)"
	run_as "$(id -un)"
fi
