#!/usr/bin/env bash
# profile.sh — where mmapd spends its work on the W1 path (4 KiB random ranged GET), measured
# in ways the noise of a shared machine does not move much:
#
#   1. callgrind: mmapd runs under `valgrind --tool=callgrind`; after a warm-up the counters are
#      zeroed (callgrind_control -z), a bounded wrk run drives W1, the counters are dumped
#      (callgrind_control -d) and divided by the requests the server answered in that window
#      (from /metrics, mmapd_requests_total{route="data"}): instructions per request, the top
#      functions (inclusive and self), and calls per request of malloc/free/locks/syscall wrappers.
#   2. strace -c -f on the native Release server during a bounded wrk run: syscalls per request.
#
#   PROFILE_SECS [10] (callgrind window)  STRACE_SECS [5]  PROFILE_CONNS [64]
#   MMAPD_BIN (default: build/release/server/mmapd, built by run.sh)  BENCH_DATA [/var/tmp/mmapd-bench]
#   ACCESS_LOG [off]  OUT [results/profile-<UTC time>]  PORT [18095]
# Needs the 1 GiB pattern file that run.sh writes ($BENCH_DATA/data/data.bin); it is hard-linked
# into a private data dir so this does not disturb run.sh's catalog.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
MMAPD_BIN="${MMAPD_BIN:-$REPO/build/release/server/mmapd}"
BENCH_DATA="${BENCH_DATA:-/var/tmp/mmapd-bench}"
PROFILE_SECS="${PROFILE_SECS:-10}"; STRACE_SECS="${STRACE_SECS:-5}"; CONNS="${PROFILE_CONNS:-64}"
PORT="${PORT:-18095}"; ACCESS_LOG="${ACCESS_LOG:-off}"
OUT="${OUT:-$BENCH_DIR/results/profile-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
for c in valgrind callgrind_annotate callgrind_control strace wrk; do
  command -v "$c" > /dev/null || { [[ "$(id -u)" == 0 ]] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind strace wrk > /dev/null; break; }
done
[[ -x "$MMAPD_BIN" ]] || die "no mmapd at $MMAPD_BIN (run ./run.sh or cmake --build --preset release)"
build_tools
[[ -f "$BENCH_DATA/data/data.bin" ]] || die "no $BENCH_DATA/data/data.bin: run ./run.sh once (or tools/mkdata)"
P="$(mktemp -d /tmp/mmapdprof.XXXXXX)"
ln -f "$BENCH_DATA/data/data.bin" "$P/data.bin" 2>/dev/null || cp "$BENCH_DATA/data/data.bin" "$P/data.bin"
SRV=""; PIN_PID=""
cleanup() { stop_pid "$SRV"; stop_pid "$PIN_PID"; rm -rf "$P"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
start_pin "$P/data.bin"
BASE="http://127.0.0.1:$PORT"
export BENCH_METHOD=GET BENCH_PATH=/v1/maps/bench/data BENCH_HEADERS='Range: bytes={off}-{last}' \
       BENCH_SPAN=1073741824 BENCH_LEN=4096 BENCH_ALIGN=4096 BENCH_SEED=7
served() { curl -s "$BASE/metrics" | awk '/^mmapd_requests_total\{route="data"/{s+=$2} END{printf "%d\n", s}'; }
wait_listen() {
  local i
  for i in $(seq 1 600); do grep -q '^mmapd listening' "$1" 2>/dev/null && return 0; sleep 0.1; done
  die "mmapd did not start (see $1)"
}
args=(--listen "127.0.0.1:$PORT" --data-dir "$P" --access-log "$ACCESS_LOG" --cache-bytes 4GiB)

# ---- 1. callgrind ------------------------------------------------------------------------
log "callgrind: starting mmapd under valgrind"
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.%p" --dump-instr=no \
  "$MMAPD_BIN" "${args[@]}" > "$P/cg.stdout" 2> "$P/cg.stderr" < /dev/null &
SRV=$!
wait_listen "$P/cg.stdout"
curl -s -o /dev/null -X PUT --data-binary '{"file":"data.bin","protection":"readonly"}' "$BASE/v1/maps/bench"
log "callgrind: warm-up (views mapped, connections set up)"
wrk -t2 -c"$CONNS" -d5s --timeout 30s -s "$BENCH_DIR/lua/range.lua" "$BASE" > "$OUT/cg_warmup.txt" 2>&1
callgrind_control -z "$SRV" > /dev/null
n0="$(served)"
wrk -t2 -c"$CONNS" -d"${PROFILE_SECS}s" --timeout 30s --latency -s "$BENCH_DIR/lua/range.lua" "$BASE" > "$OUT/cg_wrk.txt" 2>&1
n1="$(served)"
callgrind_control -d "$SRV" > /dev/null
stop_pid "$SRV"; SRV=""
sleep 0.5
nreq=$((n1 - n0 - 1))   # the /metrics request in the window is not a data request, but it ran: ~1 request of noise
f="$(ls "$OUT"/callgrind.out.*.1 2>/dev/null | head -1)"   # callgrind_control -d writes <file>.1
[[ -n "$f" ]] || f="$(ls -S "$OUT"/callgrind.out.* | head -1)"
log "callgrind: $nreq data requests in the window; profile $f"
callgrind_annotate --threshold=100 --inclusive=yes "$f" > "$OUT/annotate_inclusive.txt" 2>/dev/null || true
callgrind_annotate --threshold=100 "$f" > "$OUT/annotate_self.txt" 2>/dev/null || true
total="$(awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1; exit}' "$OUT/annotate_self.txt")"
{
  echo "# callgrind, W1 path (4 KiB random Range GET, $CONNS conns, access log $ACCESS_LOG)"
  echo "requests in window: $nreq"
  echo "instructions (Ir) in window, all threads: $total"
  awk -v t="$total" -v n="$nreq" 'BEGIN{ if (n > 0) printf "instructions per request: %.0f\n", t / n }'
  echo
  echo "## top functions by self instructions (Ir per request, % of total)"
  awk -v n="$nreq" -v t="$total" '/^ *[0-9,]+ +\(/ && NR>20 {x=$1; gsub(",","",x); $1=""; $2=""; sub(/^ +/,"");
       printf "%10.0f  %5.1f%%  %s\n", x/n, 100*x/t, $0; if (++c>=30) exit}' "$OUT/annotate_self.txt"
  echo
  echo "## top functions by inclusive instructions (Ir per request)"
  awk -v n="$nreq" -v t="$total" '/^ *[0-9,]+ +\(/ && NR>20 {x=$1; gsub(",","",x); $1=""; $2=""; sub(/^ +/,"");
       printf "%10.0f  %5.1f%%  %s\n", x/n, 100*x/t, $0; if (++c>=40) exit}' "$OUT/annotate_inclusive.txt"
} > "$OUT/callgrind_summary.txt"
# calls per request of allocation, locking and syscall wrappers (from the call graph)
python3 - "$f" "$nreq" >> "$OUT/callgrind_summary.txt" <<'EOF'
import re, sys
from collections import defaultdict
path, n = sys.argv[1], max(int(sys.argv[2]), 1)
names = {}
calls = defaultdict(int)
cur_fn = None
pending = None
def name_of(tok, kind):
    m = re.match(r"\((\d+)\)(?: (.*))?", tok)
    if not m:
        return tok
    key = (kind, m.group(1))
    if m.group(2):
        names[key] = m.group(2)
    return names.get(key, tok)
for line in open(path, errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("fn="):
        cur_fn = name_of(line[3:], "fn")
    elif line.startswith("cfn="):
        pending = name_of(line[4:], "fn")
    elif line.startswith("calls=") and pending:
        calls[pending] += int(line[6:].split()[0])
        pending = None
want = re.compile(r"^(malloc|calloc|realloc|free|strdup|strndup|pthread_mutex_lock|pthread_mutex_unlock|pthread_rwlock_rdlock|"
                  r"pthread_rwlock_unlock|pthread_rwlock_wrlock|__lll_lock_wait|epoll_wait|epoll_ctl|accept4|recv|recvfrom|send|sendmsg|"
                  r"sendfile|writev|write|read|setsockopt|clock_gettime|mmap|munmap|madvise|snprintf|vsnprintf|strcmp|strlen|memcpy|"
                  r"__memcpy_avx_unaligned_erms|MHD_add_response_header|MHD_lookup_connection_value|MHD_queue_response|"
                  r"MHD_create_response_from_iovec|MHD_create_response_from_buffer|mc_view_acquire|mc_view_release|"
                  r"mc_catalog_get|mc_mapping_info|mc_catalog_cache_stats|api_metrics_record|srv_log_access|inet_ntop|"
                  r"MHD_get_connection_info|api__header|api_exchange_start|api_exchange_free)$")
print("\n## calls per request (all callers), selected functions")
for fn, c in sorted(calls.items(), key=lambda x: -x[1]):
    base = fn.split("'")[0]
    if want.match(base):
        print(f"{c / n:8.2f}  {fn}")
EOF
log "callgrind summary: $OUT/callgrind_summary.txt"

# ---- 2. strace -c -f on the native server ------------------------------------------------
log "strace: native Release server"
"$MMAPD_BIN" "${args[@]}" > "$P/st.stdout" 2> "$P/st.stderr" < /dev/null &
SRV=$!
wait_listen "$P/st.stdout"
wrk -t2 -c"$CONNS" -d2s --timeout 5s -s "$BENCH_DIR/lua/range.lua" "$BASE" > /dev/null 2>&1
n0="$(served)"
strace -c -f -q -o "$OUT/strace_c.txt" -p "$SRV" &
ST=$!
sleep 1
wrk -t2 -c"$CONNS" -d"${STRACE_SECS}s" --timeout 5s -s "$BENCH_DIR/lua/range.lua" "$BASE" > "$OUT/strace_wrk.txt" 2>&1
sleep 0.5
kill -INT "$ST" 2>/dev/null || true
wait "$ST" 2>/dev/null || true
n1="$(served)"
nreq=$((n1 - n0 - 1))
{
  echo "# strace -c -f, W1 path, $CONNS conns, ${STRACE_SECS} s (server slowed by strace; counts matter, not times)"
  echo "requests: $nreq"
  echo "syscall           calls   per request"
  awk -v n="$nreq" 'NR>2 && $1 !~ /^-/ && $NF != "total" && NF>=5 {printf "%-16s %8d   %.3f\n", $NF, $4, $4/n}' "$OUT/strace_c.txt"
  awk -v n="$nreq" '$NF=="total"{printf "%-16s %8d   %.3f\n", "TOTAL", $4, $4/n}' "$OUT/strace_c.txt"
} > "$OUT/strace_summary.txt"
stop_pid "$SRV"; SRV=""
cat "$OUT/callgrind_summary.txt" "$OUT/strace_summary.txt"
log "profile in $OUT"
