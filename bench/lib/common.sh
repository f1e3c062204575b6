# Shared helpers for the bench scripts (adapted from the peer harness in ../shared/bench;
# nothing here reads ../shared at run time). Source it; do not run it.
# shellcheck shell=bash

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BENCH_DIR
BENCH_BIN="${BENCH_BIN:-$BENCH_DIR/.bin}"     # compiled tools (ignored build output)
export BENCH_BIN

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Fail unless URL/host points at this machine's loopback.
assert_loopback() {
  local u="$1" host
  host="${u#*://}"; host="${host%%/*}"
  case "$host" in
    \[::1\]*) return 0 ;;
  esac
  host="${host%%:*}"
  case "$host" in
    127.*|localhost) return 0 ;;
  esac
  die "refusing non-loopback target '$u' (only 127.0.0.0/8, localhost, [::1])"
}

# Build the C tools once (or when sources change).
build_tools() {
  mkdir -p "$BENCH_BIN"
  local t
  for t in mkdata range_client pin; do
    if [[ ! -x "$BENCH_BIN/$t" || "$BENCH_DIR/tools/$t.c" -nt "$BENCH_BIN/$t" ]]; then
      gcc -O2 -Wall -pthread -o "$BENCH_BIN/$t" "$BENCH_DIR/tools/$t.c" || die "cannot build $t"
    fi
  done
}

# The scratch area: data files and server run dirs. Not under the bench dir.
bench_tmp() {
  if [[ -z "${BENCH_TMP:-}" ]]; then
    BENCH_TMP="$(mktemp -d /tmp/mmapbench.XXXXXX)"
    export BENCH_TMP
  fi
  mkdir -p "$BENCH_TMP/data"
  chmod 755 "$BENCH_TMP"
  chmod 755 "$BENCH_TMP/data"
  echo "$BENCH_TMP"
}

# make_data FILE SIZE: self-describing pattern file (tools/mkdata.c), reused if the size matches.
make_data() {
  local f="$1" size="$2"
  if [[ -f "$f" && "$(stat -c %s "$f")" == "$size" ]]; then return 0; fi
  log "writing $size-byte pattern file $f"
  "$BENCH_BIN/mkdata" "$f" "$size" || die "mkdata failed"
}

# Read a file through the page cache and report how much of it is resident.
warm_file() {
  local f="$1"
  cat "$f" > /dev/null
  if command -v fincore >/dev/null; then
    fincore -b -n -o RES,SIZE "$f" | awk -v f="$f" '{printf "page cache: %s resident %d of %d bytes\n", f, $1, $2}' >&2
  fi
}

# Render a config template: @RUN@, @DOCROOT@, @PORT@.
render() {
  local in="$1" out="$2" run="$3" docroot="$4" port="$5"
  sed -e "s#@RUN@#$run#g" -e "s#@DOCROOT@#$docroot#g" -e "s#@PORT@#$port#g" "$in" > "$out"
}

# Wait until 127.0.0.1:PORT accepts connections (max ~15 s).
wait_port() {
  local port="$1" i
  for i in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "nothing listening on 127.0.0.1:$port"
}

# Stop one process we started, by PID only: TERM, wait (up to SECONDS, default 10), then KILL.
stop_pid() {
  local pid="$1" secs="${2:-10}" i
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 $((secs * 10))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "pid $pid did not exit within ${secs}s of TERM; sending KILL"
  kill -9 "$pid" 2>/dev/null || true
}

# peer_launch RUN PORT CMD...: start a server that stays in the foreground,
# in the background, with its output in RUN/stdout.log; record its PID in
# RUN/pid, wait for PORT to accept. The caller prints the PID when done.
peer_launch() {
  local run=$1 port=$2
  shift 2
  "$@" > "$run/stdout.log" 2>&1 < /dev/null &
  echo $! > "$run/pid"
  wait_port "$port"
}

# peer_stop RUN [WAIT]: stop the PID recorded in RUN/pid (and only it).
peer_stop() {
  local run=$1
  if [[ -f "$run/pid" ]]; then stop_pid "$(cat "$run/pid")" ${2:+"$2"}; rm -f "$run/pid"; fi
}

# CPU accounting from /proc/stat (all CPUs, USER_HZ ticks): "task irq idle steal" where
# task = user+nice+system, irq = irq+softirq, idle = idle+iowait.
cpu_snapshot() { awk '/^cpu /{print $2+$3+$4, $7+$8, $5+$6, $9; exit}' /proc/stat; }
# cpu_delta A(4 fields) B(4 fields): prints "busy_pct steal_pct" of the whole machine.
cpu_delta() {
  awk -v t0="$1" -v q0="$2" -v i0="$3" -v s0="$4" -v t1="$5" -v q1="$6" -v i1="$7" -v s1="$8" 'BEGIN{
    t=t1-t0; q=q1-q0; i=i1-i0; s=s1-s0; n=t+q+i+s; if (n<=0) n=1;
    printf "%.1f %.1f", 100*(t+q)/n, 100*s/n }'
}
# cpu_account A(4) B(4) SERVER_TICKS LOADGEN_SECONDS KSOFTIRQD_TICKS: JSON fields, % of the
# whole machine (100 = all cores). This kernel uses tick-based accounting without
# IRQ_TIME_ACCOUNTING, so a task's CPU time includes the softirq work (loopback TCP) done
# while it was running; the buckets server + loadgen + ksoftirqd + foreign partition
# busy = user+nice+system+irq+softirq. foreign = anything else: other tenants, kworkers,
# our own shell. cpu_irq_pct (time in irq/softirq context) overlaps the buckets.
cpu_account() {
  awk -v t0="$1" -v q0="$2" -v i0="$3" -v s0="$4" -v t1="$5" -v q1="$6" -v i1="$7" -v s1="$8" \
      -v srv="$9" -v lg="${10}" -v ks="${11:-0}" 'BEGIN{
    t=t1-t0; q=q1-q0; i=i1-i0; s=s1-s0; n=t+q+i+s; if (n<=0) n=1; lgt=lg*100;
    if (srv < 0) { f = -1 } else { f = t + q - srv - lgt - ks; if (f < 0) f = 0 }
    printf "{\"cpu_busy_pct\":%.1f,\"cpu_steal_pct\":%.1f,\"cpu_irq_pct\":%.1f,", 100*(t+q)/n, 100*s/n, 100*q/n;
    printf "\"cpu_server_pct\":%s,\"cpu_loadgen_pct\":%.1f,\"cpu_ksoftirqd_pct\":%.1f,\"cpu_foreign_pct\":%s,",
      (srv < 0 ? "null" : sprintf("%.1f", 100*srv/n)), 100*lgt/n, 100*ks/n, (f < 0 ? "null" : sprintf("%.1f", 100*f/n));
    printf "\"cpu_ticks\":{\"total\":%d,\"task\":%d,\"irq\":%d,\"steal\":%d,\"server\":%d,\"loadgen\":%d,\"ksoftirqd\":%d}}",
      n, t, q, s, srv, lgt, ks }'
}

# PIDs of the ksoftirqd kernel threads (read-only use: CPU accounting). One grep, not a
# process per /proc entry: on a busy machine with ~1000 processes that took 40+ s per run.
ksoftirqd_pids() {
  if [[ -z "${KSOFTIRQD_PIDS:-}" ]]; then
    KSOFTIRQD_PIDS="$(grep -l '^ksoftirqd/' /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')"
    export KSOFTIRQD_PIDS
  fi
  echo "$KSOFTIRQD_PIDS"
}
# CPU ticks (USER_HZ) used so far by the given PIDs, no children.
pid_ticks() {
  local total=0 p
  for p in "$@"; do
    [[ -r "/proc/$p/stat" ]] || continue
    total=$(( total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}') ))
  done
  echo "$total"
}
# CPU ticks (USER_HZ) used so far by PID and its direct children (threads included).
tree_ticks() {
  local total=0 p t
  for p in "$@"; do
    for t in "$p" $(ps -o pid= --ppid "$p" 2>/dev/null); do
      [[ -r "/proc/$t/stat" ]] || continue
      total=$(( total + $(sed 's/.*) //' "/proc/$t/stat" | awk '{print $12 + $13}') ))
    done
  done
  echo "$total"
}

# Wait (at most QUIET_WAIT s, default 30) until the machine is nearly idle: busy below
# QUIET_BUSY % (default 15) over a 1 s window. Other tenants share these 2 cores.
# Prints the seconds waited; 0 when already quiet, QUIET_WAIT when it gave up.
wait_quiet() {
  local max="${QUIET_WAIT:-30}" lim="${QUIET_BUSY:-15}" waited=0 a b busy
  while (( waited < max )); do
    a="$(cpu_snapshot)"; sleep 1; b="$(cpu_snapshot)"
    busy="$(cpu_delta $a $b)"; busy="${busy% *}"
    if awk -v b="$busy" -v l="$lim" 'BEGIN{exit !(b < l)}'; then break; fi
    waited=$((waited + 1))
  done
  (( waited >= max && max > 0 )) && log "machine still busy after ${max}s of waiting; running anyway"
  echo "$waited"
}

# Keep files resident in the page cache for the lifetime of this shell (tools/pin.c).
# start_pin [-f LISTFILE] FILE...  Sets PIN_PID; stop with stop_pid "$PIN_PID". Waits until
# pin reports every file locked (mlock returns once the pages are resident).
start_pin() {
  PIN_PID=""
  [[ $# -gt 0 ]] || return 0
  local plog i
  plog="$(mktemp)"
  "$BENCH_BIN/pin" -t "${PIN_SECS:-7200}" "$@" 2> "$plog" &
  PIN_PID=$!
  for i in $(seq 1 3000); do
    grep -q '^pin: ready' "$plog" && break
    kill -0 "$PIN_PID" 2>/dev/null || { cat "$plog" >&2; die "pin exited early"; }
    sleep 0.2
  done
  log "pinned in page cache (pid $PIN_PID): $(grep '^pin: ready' "$plog" | cut -d' ' -f3-)"
  rm -f "$plog"
}

# measure_run RAW RECORD EXTRA_JSON CMD...
# Runs one bounded load-generator command (wrk or range_client) with its output in RAW and,
# when RECORD=1, appends its BENCHJSON line + EXTRA_JSON + CPU accounting to $OUT/runs.jsonl.
# Before a recorded run it waits for the machine to be quiet (wait_quiet). If SERVER_PIDS is
# set (root PIDs of the server; their children are counted too), the CPU the server used is
# split from the load generator's and from everyone else's ("foreign").
measure_run() {
  local raw="$1" record="$2" extra="$3"; shift 3
  local q=0 load c0 c1 s0=-1 s1=-1 k0 k1 tf rc=0 ksp
  [[ "$record" == 1 ]] && q="$(wait_quiet)"
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  tf="$(mktemp)"
  ksp="$(ksoftirqd_pids)"
  [[ -n "${SERVER_PIDS:-}" ]] && s0="$(tree_ticks $SERVER_PIDS)"
  k0="$(pid_ticks $ksp)"
  c0="$(cpu_snapshot)"
  local TIMEFORMAT='%U %S'
  { time "$@" > "$raw" 2>&1; } 2> "$tf" || rc=$?
  c1="$(cpu_snapshot)"
  k1="$(pid_ticks $ksp)"
  [[ -n "${SERVER_PIDS:-}" ]] && s1="$(tree_ticks $SERVER_PIDS)"
  if [[ "$rc" != 0 ]]; then cat "$raw" "$tf" >&2; rm -f "$tf"; die "load generator failed (exit $rc): $*"; fi
  if [[ "$record" != 1 ]]; then rm -f "$tf"; return 0; fi
  local lg srv=-1 acct j
  lg="$(awk 'END{print $1 + $2}' "$tf")"; rm -f "$tf"
  [[ "$s0" != -1 ]] && srv=$((s1 - s0))
  acct="$(cpu_account $c0 $c1 "$srv" "$lg" $((k1 - k0)))"
  j="$(grep '^BENCHJSON ' "$raw" | tail -1 | cut -d' ' -f2-)"
  [[ -n "$j" ]] || { cat "$raw" >&2; die "no BENCHJSON line in $raw"; }
  jq -c --argjson extra "$extra" --argjson acct "$acct" --arg load "$load" --argjson q "$q" \
        --arg ts "$(date -u +%FT%TZ)" \
        '. + $extra + $acct + {loadavg_before:$load, quiet_wait_s:$q, time:$ts}' <<< "$j" >> "$OUT/runs.jsonl"
  jq -r '"\(.peer) \(.workload) run \(.run): \(.rps|floor) req/s, \(.mbps_payload) MB/s, p50 \(.lat_p50_us) us, p99 \(.lat_p99_us) us, errors \(.err_connect+.err_read+.err_write+.err_status+.err_timeout); cpu busy \(.cpu_busy_pct)% = server \(.cpu_server_pct) + loadgen \(.cpu_loadgen_pct) + ksoftirqd \(.cpu_ksoftirqd_pct) + foreign \(.cpu_foreign_pct) (irq context \(.cpu_irq_pct)); waited \(.quiet_wait_s)s for quiet"' \
     <<< "$(tail -1 "$OUT/runs.jsonl")" >&2
}
