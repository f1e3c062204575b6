#!/usr/bin/env bash
# ab.sh — before/after of one change: two mmapd variants (binary + flags), or mmapd and nginx,
# driven with the same ranged-GET load in interleaved rounds (A B A B ...), so both see the same
# machine state. Prints per run req/s, p50/p99, server CPU µs per request (utime+stime of the
# server's processes / requests: the figure other tenants disturb least) and the load average,
# then the medians and the B/A ratios.
#
#   A="BIN [flags...]" B="BIN [flags...]" ./ab.sh        mmapd variants (each on its own port)
#   A=nginx / B=nginx                                     nginx from conf/nginx.conf.in instead
#   NGINX_ACCESS_LOG=on                                   nginx logs to a file (its default format)
#   ROUNDS [5]  SECS [5]  CONNS [64]  LEN [4096]  THREADS [2]  BENCH_DATA [/var/tmp/mmapd-bench]
#   A_FILE / B_FILE [$BENCH_DATA/data/data.bin]         the 1 GiB file an mmapd variant serves instead,
#                                                       hard-linked (same filesystem as /tmp), e.g. a copy
#                                                       written with `dd bs=2M` to compare page cache folio
#                                                       sizes (RESULTS.md "Issue 15", step 4a)
# Needs $BENCH_DATA/data/data.bin (run.sh writes it). Loopback only; servers stopped by PID.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
: "${A:?A=\"BIN [flags]\" or nginx}" "${B:?B=\"BIN [flags]\" or nginx}"
ROUNDS="${ROUNDS:-5}"; SECS="${SECS:-5}"; CONNS="${CONNS:-64}"; LEN="${LEN:-4096}"; THREADS="${THREADS:-2}"
BENCH_DATA="${BENCH_DATA:-/var/tmp/mmapd-bench}"
[[ -f "$BENCH_DATA/data/data.bin" ]] || die "no $BENCH_DATA/data/data.bin: run ./run.sh once"
build_tools
bench_tmp > /dev/null
T="$BENCH_TMP"
ln -f "$BENCH_DATA/data/data.bin" "$T/data/data.bin" 2>/dev/null || cp "$BENCH_DATA/data/data.bin" "$T/data/data.bin"
declare -A PID PORT PATHS
PIN_PID=""
cleanup() {
  local v
  for v in A B; do [[ -n "${PID[$v]:-}" ]] && stop_pid "${PID[$v]}"; done
  stop_pid "$PIN_PID"
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_pin "$T/data/data.bin" ${A_FILE:+"$A_FILE"} ${B_FILE:+"$B_FILE"}

start_variant() { # start_variant A|B SPEC PORT
  local v="$1" spec="$2" port="$3" run="$T/$1"
  mkdir -p "$run/data"
  PORT[$v]="$port"
  if [[ "$spec" == nginx ]]; then
    render "$BENCH_DIR/conf/nginx.conf.in" "$run/nginx.conf" "$run" "$T/data" "$port"
    [[ "${NGINX_ACCESS_LOG:-off}" == on ]] && sed -i "s#access_log off;#access_log $run/access.log;#" "$run/nginx.conf"
    nginx -p "$run" -e "$run/error.log" -c "$run/nginx.conf" -g 'daemon off;' > "$run/stdout" 2>&1 &
    PID[$v]=$!
    wait_port "$port"
    PATHS[$v]=/data.bin
  else
    read -r -a argv <<< "$spec"
    local file_var="${v}_FILE"
    ln -f "${!file_var:-$T/data/data.bin}" "$run/data/data.bin" \
      || die "variant $v: cannot hard-link ${!file_var:-$T/data/data.bin} (another filesystem?)"
    "${argv[@]}" --listen "127.0.0.1:$port" --data-dir "$run/data" --cache-bytes 4GiB \
      > "$run/stdout" 2> "$run/stderr" < /dev/null &
    PID[$v]=$!
    wait_port "$port"
    curl -sf -o /dev/null -X PUT -H 'Content-Type: application/json' \
      --data-binary '{"file":"data.bin","protection":"readonly"}' "http://127.0.0.1:$port/v1/maps/bench" \
      || die "variant $v: cannot create the mapping"
    PATHS[$v]=/v1/maps/bench/data
  fi
}

# CPU ticks (utime+stime) of a PID and its children processes (nginx workers)
ticks() {
  local p sum=0 f
  for p in "$1" $(pgrep -P "$1" || true); do
    f="$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null || echo "0 0")"
    sum=$(( sum + ${f% *} + ${f#* } ))
  done
  echo "$sum"
}

start_variant A "$A" 18101
start_variant B "$B" 18102
hz="$(getconf CLK_TCK)"
export BENCH_METHOD=GET BENCH_HEADERS='Range: bytes={off}-{last}' BENCH_SPAN=1073741824 \
       BENCH_LEN="$LEN" BENCH_ALIGN=4096 BENCH_NAMES=0
out="$T/results.txt"; : > "$out"
for v in A B; do  # warm-up: views mapped, connections set up
  BENCH_PATH="${PATHS[$v]}" BENCH_SEED=0 wrk -t"$THREADS" -c"$CONNS" -d2s -s "$BENCH_DIR/lua/range.lua" \
    "http://127.0.0.1:${PORT[$v]}" > /dev/null 2>&1
done
for ((r = 1; r <= ROUNDS; r++)); do
  for v in A B; do
    [[ $((r % 2)) == 0 ]] && v=$([[ $v == A ]] && echo B || echo A)   # alternate who goes first
    c0="$(ticks "${PID[$v]}")"
    BENCH_PATH="${PATHS[$v]}" BENCH_SEED="$r" wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 5s --latency \
      -s "$BENCH_DIR/lua/range.lua" "http://127.0.0.1:${PORT[$v]}" > "$T/wrk.txt" 2>&1
    c1="$(ticks "${PID[$v]}")"
    python3 - "$T/wrk.txt" "$v" "$r" "$((c1 - c0))" "$hz" "$(cut -d' ' -f1 /proc/loadavg)" >> "$out" <<'EOF'
import json, re, sys
txt = open(sys.argv[1]).read()
m = re.search(r"^BENCHJSON (.*)$", txt, re.M)
if not m:
    sys.exit("no JSON line from lua/range.lua:\n" + txt)
j = json.loads(m.group(1))
req = j["requests"]; ticks = int(sys.argv[4]); hz = int(sys.argv[5])
bad = sum(j[k] for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout"))
print(json.dumps({"v": sys.argv[2], "round": int(sys.argv[3]), "rps": j["rps"], "p50_us": j["lat_p50_us"],
                  "p99_us": j["lat_p99_us"], "cpu_us_per_req": ticks * 1e6 / hz / max(req, 1),
                  "errors": bad, "load1": float(sys.argv[6])}))
EOF
    tail -1 "$out" >&2
  done
done
python3 - "$out" "$A" "$B" <<'EOF'
import json, statistics as st, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {v: {k: st.median(r[k] for r in rows if r["v"] == v) for k in ("rps", "p50_us", "p99_us", "cpu_us_per_req")} for v in "AB"}
print(f"A = {sys.argv[2]}\nB = {sys.argv[3]}")
print(f"loadavg during the runs: {min(r['load1'] for r in rows):.1f}-{max(r['load1'] for r in rows):.1f}; errors: {sum(r['errors'] for r in rows)}")
print("| variant | req/s | p50 µs | p99 µs | server CPU µs/req |\n|---|---|---|---|---|")
for v in "AB":
    m = med[v]
    print(f"| {v} | {m['rps']:.0f} | {m['p50_us']:.0f} | {m['p99_us']:.0f} | {m['cpu_us_per_req']:.2f} |")
print(f"B/A: req/s {med['B']['rps']/med['A']['rps']:.3f}, p99 {med['B']['p99_us']/med['A']['p99_us']:.3f}, "
      f"CPU/req {med['B']['cpu_us_per_req']/med['A']['cpu_us_per_req']:.3f} (medians of {len(rows)//2} rounds)")
EOF
