-- range.lua: wrk script for random ranged requests against any HTTP service.
--
-- Everything comes from environment variables, so one script serves every
-- peer and, later, the project's own service:
--
--   BENCH_METHOD   GET | PUT | PATCH | POST            (default GET)
--   BENCH_PATH     request-target template             (default /data.bin)
--   BENCH_HEADERS  header templates, separated by '|'  (default "Range: bytes={off}-{last}")
--                  use "" (empty) for none
--   BENCH_SPAN     size of the target object in bytes  (default 1073741824)
--   BENCH_LEN      bytes per request                   (default 4096)
--   BENCH_ALIGN    offsets are multiples of this       (default BENCH_LEN)
--   BENCH_BODY     1: send a BENCH_LEN-byte body        (default 1 for PUT/PATCH/POST, else 0)
--   BENCH_BODY_TEXT  the body to send instead, as is (a JSON operation, W9)
--   BENCH_NREQ     distinct pre-built requests per thread (default: up to 65536, capped at ~32 MiB)
--   BENCH_SEED     random seed                         (default 1)
--   BENCH_NAMES    N > 0: each request also picks a random name index in [0, N) for the
--                  {name} token (many-mappings workload W6)   (default 0: {name} unused)
--   BENCH_NAME_FMT string.format pattern for {name}     (default "w6-%05d")
--   BENCH_DIGESTS  26 base64 SHA-256 digests, comma-separated, of the 26 bodies
--                  ('A' x len .. 'Z' x len): each request with a body then carries
--                  "Content-Digest: sha-256=:<its digest>:" (bench/digest.sh makes
--                  them with openssl)                  (default: no digest)
--
-- Template tokens: {off} first byte, {last} last byte (inclusive, as in
-- Range/Content-Range), {end} one past the last byte, {len} length, {span},
-- {name} a random name (BENCH_NAMES, BENCH_NAME_FMT; span is then per name).
-- Example query style: BENCH_PATH='/v1/maps/bench/data?offset={off}&length={len}' BENCH_HEADERS=''
--
-- Requests are pre-built in init() (wrk's advice: building a request per call
-- in Lua is what limits wrk) and cycled; offsets are uniformly random.
-- done() prints one machine-readable line starting with "BENCHJSON ".

local function env(name, default)
  local v = os.getenv(name)
  if v == nil then return default end
  return v
end

local function num(x) return string.format("%.0f", x) end

local method  = env("BENCH_METHOD", "GET")
local path_t  = env("BENCH_PATH", "/data.bin")
local hdrs_t  = env("BENCH_HEADERS", "Range: bytes={off}-{last}")
local span    = tonumber(env("BENCH_SPAN", "1073741824"))
local len     = tonumber(env("BENCH_LEN", "4096"))
local align   = tonumber(env("BENCH_ALIGN", tostring(len)))
local default_body = (method == "PUT" or method == "PATCH" or method == "POST") and "1" or "0"
local body_on = env("BENCH_BODY", default_body) == "1"
local seed    = tonumber(env("BENCH_SEED", "1"))
local names   = tonumber(env("BENCH_NAMES", "0"))
local name_fmt = env("BENCH_NAME_FMT", "w6-%05d")
local body_text = env("BENCH_BODY_TEXT", nil)

local function fill(s, off, name)
  return (s:gsub("{(%w+)}", function(k)
    if k == "off" then return num(off)
    elseif k == "last" then return num(off + len - 1)
    elseif k == "end" then return num(off + len)
    elseif k == "len" then return num(len)
    elseif k == "span" then return num(span)
    elseif k == "name" then return name
    end
    return nil
  end))
end

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

local reqs, nreq, idx = {}, 0, 0

function init(args)
  local t = tid or 1
  math.randomseed(seed * 1000003 + t * 7919)
  local per = 256 + (body_on and len or 0)
  nreq = tonumber(env("BENCH_NREQ", "0"))
  if nreq == 0 then
    nreq = math.floor((32 * 1024 * 1024) / per)
    if nreq > 65536 then nreq = 65536 end
    if nreq < 16 then nreq = 16 end
  end
  local nblk = math.floor((span - len) / align) + 1
  local bodies = {}
  if body_on then
    for c = 0, 25 do bodies[c] = string.rep(string.char(65 + c), len) end
  end
  local digests, ndig = {}, 0
  for d in string.gmatch(env("BENCH_DIGESTS", ""), "[^,]+") do
    digests[ndig] = d
    ndig = ndig + 1
  end
  for i = 1, nreq do
    local off = (math.random(nblk) - 1) * align
    local name = nil
    if names > 0 then name = string.format(name_fmt, math.random(names) - 1) end
    local headers = {}
    if hdrs_t ~= "" then
      for h in string.gmatch(hdrs_t, "[^|]+") do
        local k, v = string.match(fill(h, off, name), "^%s*([^:]+):%s*(.-)%s*$")
        if k then headers[k] = v end
      end
    end
    local body = nil
    if body_on then
      local c = (i + t) % 26
      body = bodies[c]
      if ndig == 26 then headers["Content-Digest"] = "sha-256=:" .. digests[c] .. ":" end
    end
    if body_text then body = body_text end
    reqs[i] = wrk.format(method, fill(path_t, off, name), headers, body)
  end
end

function request()
  idx = idx + 1
  if idx > nreq then idx = 1 end
  return reqs[idx]
end

function done(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  local n = summary.requests
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%.0f,"len":%d,"rps":%.1f,' ..
    '"mbps_payload":%.2f,"mbps_wire":%.2f,"lat_mean_us":%.1f,"lat_p50_us":%.1f,' ..
    '"lat_p90_us":%.1f,"lat_p99_us":%.1f,"lat_p999_us":%.1f,"lat_max_us":%.1f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
    '"avg_resp_bytes":%.1f}\n',
    n, summary.duration, summary.bytes, len, n / s,
    n * len / s / 1e6, summary.bytes / s / 1e6, latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout,
    n > 0 and summary.bytes / n or 0))
end
