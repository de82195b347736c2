# Sourced by scripts/bench-dashboard and scripts/bench-products: private PostgreSQL + Redis, one
# sellerhubd from $bindir, and a tenant holding scripts/gen-orders' data (ORDERS, SKUS), made once
# per data set and kept in BENCH_DIR when it is set (else a throw-away directory). Sets base, auth,
# tenant, DATABASE_URL and percentiles (p50/p99 of curl over URLs on stdin).
. scripts/lib.sh
export ORDERS=${ORDERS:-1000000} SKUS=${SKUS:-50000}
if [ -n "${BENCH_DIR:-}" ]; then
	mkdir -p "$BENCH_DIR" && chmod 755 "$BENCH_DIR"
	tmp=$(cd "$BENCH_DIR" && pwd -P) keep=1
else
	tmp=$(scratch_dir sellerhub-bench) keep=
fi
export SERVICES_DIR=$tmp/services PG_PORT=$(free_port) REDIS_PORT=$(free_port)
export PG_FSYNC=off REDIS_AOF=no PG_DB=sellerhub_bench
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	scripts/services stop >/dev/null 2>&1 || true
	[ -n "$keep" ] || rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
scripts/services start >/dev/null
set -a
. "$SERVICES_DIR/services.env"
set +a

port=$(free_port)
export PORT=$port JWT_SECRET=$(openssl rand -hex 32) ENCRYPTION_KEY=$(openssl rand -hex 32)
export LOG_LEVEL=warn RATE_LIMIT_PER_MINUTE=1000000
"$bindir/sellerhubd" serve >"$tmp/server.log" 2>&1 &
server_pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done

data="$tmp/data-$ORDERS-$SKUS"
password=Passw0rdBench
if [ -f "$data" ]; then
	email=$(cat "$data")
	token=$(curl -sf -H 'Content-Type: application/json' "$base/api/auth/login" \
		-d "{\"email\":\"$email\",\"password\":\"$password\"}" | jq -r .data.tokens.accessToken)
	echo "data: reused ($data)"
else
	email="bench-$$-$RANDOM@bench.example.com"
	token=$(curl -sf -H 'Content-Type: application/json' "$base/api/auth/register" \
		-d "{\"email\":\"$email\",\"password\":\"$password\",\"fullName\":\"Bench\",\"companyName\":\"Bench\"}" |
		jq -r .data.tokens.accessToken)
	tenant=$(psql -X -qAt "$DATABASE_URL" -c "SELECT tenant_id FROM users WHERE email = '$email'")
	start=$(date +%s.%N)
	scripts/gen-orders "$DATABASE_URL" "$tenant" >/dev/null
	echo "data: $ORDERS orders, $((ORDERS * 3)) lines, $SKUS SKUs generated and rolled up in $(echo "$(date +%s.%N) - $start" | bc | cut -c1-6) s"
	echo "$email" >"$data"
fi
auth="Authorization: Bearer $token"
tenant=$(psql -X -qAt "$DATABASE_URL" -c "SELECT tenant_id FROM users WHERE email = '$email'")

# p50 and p99 in ms of curl's time_total over the given URLs (one per line on stdin).
percentiles() {
	while read -r url; do
		curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "$auth" "$url"
	done | awk '$1 != 200 { bad++ } { print $2 * 1000 }
		END { if (bad) print "non-200 answers: " bad > "/dev/stderr" }' |
		sort -n | awk '{ v[NR] = $1 } END {
			printf "p50 %.1f ms, p99 %.1f ms (%d requests)\n", v[int(NR * 0.5)], v[int(NR * 0.99)], NR }'
}
