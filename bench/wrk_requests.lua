-- wrk script of the benchmarks that send many different requests (bench/loadgen.py):
-- each wrk thread cycles through the requests of WRK_REQUESTS, a file of lines
--   <path> TAB <bearer token or -> TAB <expected substring of the answer or -> TAB <body>
-- (a body starting with "<" is sent as text/xml, others as application/json)
-- Each request carries X-Request-Id: r<line number>; the service echoes it, so each answer is
-- checked against its own line: status 200 and the expected substring in the body.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests, expects = {}, {}
  mismatches, checked, first_bad = 0, 0, ""
  local n = 0
  for line in io.lines(os.getenv("WRK_REQUESTS")) do
    local path, token, expect, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    n = n + 1
    local kind = body:sub(1, 1) == "<" and "text/xml" or "application/json"
    local headers = {["Content-Type"] = kind, ["X-Request-Id"] = "r" .. n}
    if token ~= "-" then headers["Authorization"] = "Bearer " .. token end
    requests[n] = wrk.format("POST", path, headers, body)
    expects["r" .. n] = expect
  end
  -- each thread from its own place, unless every line is to be sent once, in order
  -- (WRK_IN_ORDER, with one thread: bench/upstream.py's encrypt_codes)
  index = os.getenv("WRK_IN_ORDER") and 0 or math.random(n) - 1
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  checked = checked + 1
  local expect = expects[headers["X-Request-Id"] or headers["x-request-id"] or ""]
  if status ~= 200 or expect == nil or (expect ~= "-" and not body:find(expect, 1, true)) then
    mismatches = mismatches + 1
    if first_bad == "" then first_bad = status .. " " .. body:sub(1, 120) end
  end
end

done = function(summary, latency, requests)
  local bad, seen, example = 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("mismatches")
    seen = seen + thread:get("checked")
    if example == "" then example = thread:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"non2xx":%d,"socket_errors":%d,"checked":%d,"mismatches":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout, seen, bad))
  if example ~= "" then io.write("WRK_FIRST_BAD " .. example:gsub("\n", " ") .. "\n") end
end
