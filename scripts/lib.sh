# Shared shell helpers for scripts/*.
free_port() {
	# A port nothing listens on now (the caller retries if it is taken before use), below the
	# kernel's ephemeral range (32768-60999 on Debian): an outgoing connection's local port is
	# no listener, so the probe cannot see it, yet it makes a listener's bind fail.
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# A private directory under /tmp that the postgres user can enter (as root, PostgreSQL runs as it).
scratch_dir() {
	local d
	d=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$d"
	echo "$d"
}

# The bare evhttp server the benches compare with (scripts/bare_evhttp.c): build/bench/bare_evhttp.
build_bare_evhttp() {
	mkdir -p build/bench
	cc -O2 -o build/bench/bare_evhttp scripts/bare_evhttp.c $(pkg-config --cflags --libs libevent)
}
