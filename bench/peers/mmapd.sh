#!/usr/bin/env bash
# peers/mmapd.sh start|stop INSTANCE — one mmapd instance on 127.0.0.1:PORT, loopback only.
#
#   start INSTANCE PORT DATA_DIR [mmapd flags...]   prints the PID (also $BENCH_TMP/mmapd-INSTANCE/pid)
#   stop INSTANCE                                   kills that PID only (SIGTERM: graceful; KILL after
#                                                   MMAPD_STOP_WAIT [90] s)
#
# MMAPD_BIN is the binary (run.sh builds it with cmake --preset release). stdout/stderr go to
# $BENCH_TMP/mmapd-INSTANCE/{stdout,stderr}.log; start waits for the "mmapd listening" line.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
: "${BENCH_TMP:?set BENCH_TMP (see run.sh)}"
: "${MMAPD_BIN:?set MMAPD_BIN}"
cmd="${1:-}"; inst="${2:-}"
[[ -n "$inst" ]] || { echo "usage: $0 start|stop INSTANCE [PORT DATA_DIR flags...]" >&2; exit 2; }
RUN="$BENCH_TMP/mmapd-$inst"
case "$cmd" in
  start)
    port="${3:?port}"; dir="${4:?data dir}"; shift 4
    mkdir -p "$RUN" "$dir"
    # MMAPD_PRELOAD: an LD_PRELOAD for experiments (e.g. .bin/madv_random.so, see tools/madv_random.c)
    LD_PRELOAD="${MMAPD_PRELOAD:-}" "$MMAPD_BIN" --listen "127.0.0.1:$port" --data-dir "$dir" "$@" \
      > "$RUN/stdout.log" 2> "$RUN/stderr.log" < /dev/null &
    echo $! > "$RUN/pid"
    for _ in $(seq 1 300); do
      grep -q '^mmapd listening' "$RUN/stdout.log" 2>/dev/null && break
      kill -0 "$(cat "$RUN/pid")" 2>/dev/null || { cat "$RUN/stderr.log" >&2; die "mmapd $inst exited at start"; }
      sleep 0.1
    done
    grep -q '^mmapd listening' "$RUN/stdout.log" || die "mmapd $inst did not start listening"
    cat "$RUN/pid"
    ;;
  stop)
    # graceful shutdown flushes every file mapping: with 10,000 mappings it took ~15 s here
    peer_stop "$RUN" "${MMAPD_STOP_WAIT:-90}"
    ;;
  *) echo "usage: $0 start|stop INSTANCE ..." >&2; exit 2 ;;
esac
