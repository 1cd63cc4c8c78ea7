-- shared by post.lua and get.lua: one summary line wrk's caller parses
-- RESULT requests duration_us p50_ms p99_ms non2xx3xx socket_errors
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %d %d %.3f %.3f %d %d\n", summary.requests,
		summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		e.status, e.connect + e.read + e.write + e.timeout))
end
