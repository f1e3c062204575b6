#!/usr/bin/env bash
# digest.sh [MMAPD_BIN] - issue 13's two figures:
#   1. W3 (PUT 4 KiB at random 4 KiB-aligned offsets of a 1 GiB mapping, 64
#      connections, wrk + lua/range.lua as bench/run.sh runs it) without and
#      with "Content-Digest: sha-256=:...:" on every request, alternating,
#      REPEATS rounds of DURATION seconds: req/s of each and their ratio.
#   2. Extents of a 1 TiB sparse mapping holding 10,000 extents (one 4 KiB
#      page every 100 MiB or so), listed in pages of 1,000 over one
#      keep-alive connection: time per page (median of 10 pages) and for
#      the whole listing.
# Prints one line per measurement and the machine's load average, and appends
# them as JSON lines to OUT/digest.jsonl (bench/tools/report.py makes the
# digest and extents rows of run.sh's table from them).
set -euo pipefail
cd "$(dirname "$0")"
bin=$(realpath "${1:-${MMAPD_BIN:-../build/release/server/mmapd}}")
REPEATS=${REPEATS:-3}
DURATION=${DURATION:-10}
OUT="${OUT:-$(pwd)/results/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
export OUT
work=$(mktemp -d /tmp/mmapd-digestbench.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/out"
"$bin" --listen 127.0.0.1:0 --data-dir "$work/data" --access-log off >"$work/out" 2>/dev/null &
pid=$!
exec 3<"$work/out"
read -r -t 20 line <&3
port=${line##*:}
base=http://127.0.0.1:$port
curl -sf -X PUT "$base/v1/maps/benchput" -d '{"size": 1073741824}' -o /dev/null

# The 26 bodies of lua/range.lua ('A' x 4096 .. 'Z' x 4096) and their digests.
digests=
for c in A B C D E F G H I J K L M N O P Q R S T U V W X Y Z; do
    d=$(head -c 4096 /dev/zero | tr '\0' "$c" | openssl dgst -sha256 -binary | base64)
    digests=${digests:+$digests,}$d
done

w3() { # w3 DIGESTS -> req/s (fails on any error or non-2xx)
    local out
    out=$(BENCH_METHOD=PUT BENCH_PATH=/v1/maps/benchput/data \
        BENCH_HEADERS='Content-Range: bytes {off}-{last}/*' BENCH_SPAN=1073741824 \
        BENCH_LEN=4096 BENCH_ALIGN=4096 BENCH_DIGESTS="$1" \
        wrk -t2 -c64 -d"${DURATION}s" --timeout 5s -s lua/range.lua "$base" | grep '^BENCHJSON ')
    out=${out#BENCHJSON }
    python3 -c 'import json,sys; j=json.loads(sys.argv[1]); e=j["err_status"]+j["err_read"]+j["err_write"]+j["err_connect"]+j["err_timeout"]; sys.exit("errors: %d" % e) if e else print("%.0f" % j["rps"])' "$out"
}

plain=()
digest=()
for r in $(seq "$REPEATS"); do
    plain+=("$(w3 '')")
    digest+=("$(w3 "$digests")")
    echo "round $r: W3 ${plain[-1]} req/s, W3 + Content-Digest ${digest[-1]} req/s"
done
python3 - "${plain[*]}" "${digest[*]}" <<'PY'
import json, os, statistics, sys
p = [float(x) for x in sys.argv[1].split()]
d = [float(x) for x in sys.argv[2].split()]
mp, md = statistics.median(p), statistics.median(d)
print(f"W3 median {mp:.0f} req/s, with sha-256 Content-Digest {md:.0f} req/s: ratio {md / mp:.3f}")
with open(os.path.join(os.environ["OUT"], "digest.jsonl"), "a") as f:
    f.write(json.dumps({"kind": "digest", "plain": p, "digest": d,
                        "loadavg": open("/proc/loadavg").read().split()[:3]}) + "\n")
PY

python3 - "$port" <<'PY'
import http.client, json, os, statistics, sys, time
port = int(sys.argv[1])
c = http.client.HTTPConnection("127.0.0.1", port)
def req(method, path, body=None):
    c.request(method, path, body=body)
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status} {data[:200]!r}")
    return data
TIB = 1 << 40
req("PUT", "/v1/maps/ext", json.dumps({"size": TIB, "allocation": "sparse"}))
step = TIB // 10000 // 4096 * 4096
t0 = time.monotonic()
for i in range(10000):
    req("PUT", f"/v1/maps/ext/data?offset={i * step}", b"x")
print(f"10,000 one-byte PUTs spread over 1 TiB: {time.monotonic() - t0:.1f} s")
pages, after, total = [], None, 0
t0 = time.monotonic()
while True:
    q = "/v1/maps/ext/extents?limit=1000" + (f"&after={after}" if after is not None else "")
    t = time.monotonic()
    j = json.loads(req("GET", q))
    pages.append(time.monotonic() - t)
    total += len(j["extents"])
    if j["next"] is None:
        break
    after = j["next"]
whole = time.monotonic() - t0
assert total == 10000, total
print(f"extents of a 1 TiB mapping with 10,000 extents: {len(pages)} pages of 1,000, "
      f"median {statistics.median(pages) * 1000:.1f} ms per page "
      f"(min {min(pages) * 1000:.1f}, max {max(pages) * 1000:.1f}), {whole * 1000:.0f} ms in all")
with open(os.path.join(os.environ["OUT"], "digest.jsonl"), "a") as f:
    f.write(json.dumps({"kind": "extents", "pages_s": pages, "whole_s": whole,
                        "loadavg": open("/proc/loadavg").read().split()[:3]}) + "\n")
PY
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
