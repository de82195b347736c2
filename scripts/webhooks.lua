-- wrk script for scripts/bench-webhooks: POST /webhooks/ml with a unique _id every time.
local threads = {}
local next_id = 0

function setup(thread)
	next_id = next_id + 1
	thread:set("tid", next_id)
	table.insert(threads, thread)
end

function init(args)
	prefix = string.format("bench-%s-%d-%d", args[1] or "run", os.time(), tid)
	user = tonumber(args[2] or "4242")
	n = 0
end

function request()
	n = n + 1
	local body = string.format('{"_id":"%s-%d","resource":"/orders/%d","user_id":%d,'
		.. '"topic":"orders_v2","application_id":1,"attempts":1,'
		.. '"sent":"2026-11-23T10:00:00.000Z","received":"2026-11-23T10:00:00.000Z"}',
		prefix, n, n, user)
	return wrk.format("POST", "/webhooks/ml", {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
	local non2xx = summary.errors.status
	local sockerr = summary.errors.connect + summary.errors.read + summary.errors.write
		+ summary.errors.timeout
	io.write(string.format("acknowledged=%d non2xx=%d socket_errors=%d\n",
		summary.requests - non2xx - summary.errors.read, non2xx, sockerr))
	io.write(string.format("p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
