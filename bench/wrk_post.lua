-- wrk script of the benchmarks: POST a JSON body, optionally with a Bearer token, and print the
-- figures as one JSON line that bench/loadgen.py parses.
--   WRK_BODY   the JSON body (default {})
--   WRK_TOKEN  a session token: sent as "Authorization: Bearer <token>" (unset: no header)
--   WRK_METHOD POST (default) or GET
wrk.method = os.getenv("WRK_METHOD") or "POST"
wrk.body = os.getenv("WRK_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("WRK_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
