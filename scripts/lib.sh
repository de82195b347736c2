# Shared shell helpers for scripts/*.
free_port() {
	# A port nothing listens on now (the caller retries if it is taken before use).
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
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
