-- wrk script for scripts/bench-webhooks: POST /webhooks/ml with a unique _id every time.
local threads = {}
local next_id = 0

function setup(thread)
	next_id = next_id + 1
	thread:set("tid", next_id)
	table.insert(threads, thread)
end

function init(args)
	local prefix = string.format("bench-%s-%d-%d", args[1] or "run", os.time(), tid)
	local user = tonumber(args[2] or "4242")
	-- The request is formatted whole here, not through wrk.format: request() runs for every
	-- request, on the same two cores as the server it measures.
	head = "POST /webhooks/ml HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. wrk.port
		.. "\r\nContent-Type: application/json\r\nContent-Length: "
	body = '{"_id":"' .. prefix .. '-%d","resource":"/orders/%d","user_id":' .. user
		.. ',"topic":"orders_v2","application_id":1,"attempts":1,'
		.. '"sent":"2026-11-23T10:00:00.000Z","received":"2026-11-23T10:00:00.000Z"}'
	n = 0
end

function request()
	n = n + 1
	local b = string.format(body, n, n)
	return head .. #b .. "\r\n\r\n" .. b
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
