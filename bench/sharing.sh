#!/usr/bin/env bash
# sharing.sh - W9, W10 and W1 with 1,000 waiters held (issue 12): the
# sharing features under load. It needs neither the 1 GiB data nor the
# other peers; run.sh runs it after its rounds (W9, W10 in its WORKLOADS)
# and tools/report.py makes table rows from OUT/sharing.jsonl.
#
#   W9   atomic add: POST /v1/maps/counter/atomic {"op":"add",...} with wrk
#        (lua/range.lua, BENCH_BODY_TEXT) against Redis INCRBY with
#        redis-benchmark, both at W9_CONNS connections. The counter must
#        end equal to the number of adds wrk counted (every add landed
#        once), and wrk must report no error.
#   W10  watch wake-up latency: tools/wake.c parks N waiting HEADs, one PUT
#        changes the ETag, each waiter's time to its answer (p50/p99), for
#        N in W10_N, W10_ROUNDS rounds each.
#   W1w  W1 (GET 4 KiB at random offsets, lua/range.lua) on a 64 MiB
#        memory mapping at W1_CONNS connections, three runs: without
#        waiters, with W1W_WAITERS waiting requests held on another mapping
#        (tools/wake.c -H; all must still be held at the end), without
#        again. Goal: with >= 0.9x the mean of the two without.
#
#   ./sharing.sh                       all three
#   WORKLOADS="W10" ./sharing.sh       a subset
#   MMAPD_BIN=... BUILD=0 ./sharing.sh another binary, no build
#
# Knobs: DURATION [10] s per wrk/redis run; W9_CONNS [64]; W10_N
# ["1 100 1000"]; W10_ROUNDS [20]; W1_CONNS [64]; W1W_WAITERS [1000];
# SHARING_PORT [18097]; REDIS_PORT [16399] (not run.sh's 16379: a run.sh
# of someone else may hold that one); OUT [results/<UTC time>].
# Prints one BENCHJSON line per run and appends them to OUT/sharing.jsonl.
# Servers run on 127.0.0.1 and are stopped by their PIDs.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
DURATION="${DURATION:-10}"
W9_CONNS="${W9_CONNS:-64}"
W10_N="${W10_N:-1 100 1000}"
W10_ROUNDS="${W10_ROUNDS:-20}"
W1_CONNS="${W1_CONNS:-64}"
W1W_WAITERS="${W1W_WAITERS:-1000}"
PORT="${SHARING_PORT:-18097}"
REDIS_PORT="${REDIS_PORT:-16399}"
WORKLOADS="${WORKLOADS:-W9 W10 W1w}"
OUT="${OUT:-$BENCH_DIR/results/$(date -u +%Y%m%dT%H%M%SZ)}"
BASE="http://127.0.0.1:$PORT"
mkdir -p "$OUT"
BENCH_TMP_OWN=${BENCH_TMP:-}
bench_tmp >/dev/null
if [[ "${BUILD:-1}" == 1 && -z "${MMAPD_BIN:-}" ]]; then
  (cd "$REPO" && cmake --preset release >/dev/null && cmake --build --preset release --target mmapd >/dev/null)
fi
export MMAPD_BIN="${MMAPD_BIN:-$REPO/build/release/server/mmapd}"
mkdir -p "$BENCH_BIN"
gcc -O2 -Wall -o "$BENCH_BIN/wake" "$BENCH_DIR/tools/wake.c" || die "cannot build wake"

record() { # WORKLOAD SERVER JSON: one line, tagged, with the load average
  local line="{\"workload\":\"$1\",\"server\":\"$2\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",${3#\{}"
  echo "$line" | tee -a "$OUT/sharing.jsonl"
}

wrk_json() { wrk "$@" | sed -n 's/^BENCHJSON //p'; }

cleanup() {
  "$BENCH_DIR/peers/mmapd.sh" stop sharing >/dev/null 2>&1 || true
  peer_stop "$BENCH_TMP/redis-w9" 2>/dev/null || true
  [[ -n "$BENCH_TMP_OWN" ]] || rm -rf "$BENCH_TMP"
}
trap cleanup EXIT

"$BENCH_DIR/peers/mmapd.sh" start sharing "$PORT" "$BENCH_TMP/sharing-data" \
  --access-log off --max-waiters $((W1W_WAITERS + 2000)) --max-connections 8192 >/dev/null
curl -sf -X PUT "$BASE/v1/maps/counter" -d '{"backing": "memory", "size": 4096}' -o /dev/null
curl -sf -X PUT "$BASE/v1/maps/w10" -d '{"backing": "memory", "size": 4096}' -o /dev/null
curl -sf -X PUT "$BASE/v1/maps/idle" -d '{"backing": "memory", "size": 4096}' -o /dev/null
curl -sf -X PUT "$BASE/v1/maps/w1" -d '{"backing": "memory", "size": 67108864}' -o /dev/null
head -c 67108864 /dev/urandom | curl -sf -X PUT "$BASE/v1/maps/w1/data" --data-binary @- -o /dev/null

for w in $WORKLOADS; do
  case "$w" in
  W9)
    j=$(BENCH_METHOD=POST BENCH_PATH=/v1/maps/counter/atomic BENCH_HEADERS='' BENCH_LEN=8 \
        BENCH_BODY_TEXT='{"op": "add", "offset": 0, "width": 8, "value": 1}' \
        wrk_json -t2 "-c$W9_CONNS" "-d${DURATION}s" --timeout 5s --latency \
          -s "$BENCH_DIR/lua/range.lua" "$BASE")
    n=$(echo "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["requests"])')
    errs=$(echo "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(d[k] for k in d if k.startswith("err_")))')
    got=$(curl -sf -X POST "$BASE/v1/maps/counter/atomic" -d '{"op": "load", "offset": 0, "width": 8}' \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["old"])')
    # wrk counts requests whose answers it read; one in flight per connection at the end may
    # have landed unread.
    [[ "$errs" == 0 && "$got" -ge "$n" && "$got" -le $((n + W9_CONNS)) ]] \
      || die "W9: counter $got after $n adds ($errs errors)"
    record W9 mmapd "$j"
    # Our own Redis, never one that already listens there.
    if (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; then
      die "something already listens on 127.0.0.1:$REDIS_PORT (set REDIS_PORT)"
    fi
    mkdir -p "$BENCH_TMP/redis-w9"
    render "$BENCH_DIR/conf/redis.conf.in" "$BENCH_TMP/redis-w9/redis.conf" "$BENCH_TMP/redis-w9" "$BENCH_TMP" "$REDIS_PORT"
    peer_launch "$BENCH_TMP/redis-w9" "$REDIS_PORT" redis-server "$BENCH_TMP/redis-w9/redis.conf"
    kill -0 "$(cat "$BENCH_TMP/redis-w9/pid")" || die "our redis-server did not start"
    # As many INCRBYs as mmapd did adds, so both run about as long.
    rps=$(redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c "$W9_CONNS" -n "$((n > 100000 ? n : 100000))" \
            --csv INCRBY w9counter 1 | tail -1 | cut -d, -f2 | tr -d '"')
    record W9 redis "{\"rps\":$rps,\"tool\":\"redis-benchmark -c $W9_CONNS INCRBY\"}"
    peer_stop "$BENCH_TMP/redis-w9"
    ;;
  W10)
    for n in $W10_N; do
      j=$("$BENCH_BIN/wake" "$PORT" w10 "$n" "$W10_ROUNDS" | sed -n 's/^BENCHJSON //p')
      [[ -n "$j" ]] || die "W10 with $n waiters failed"
      record W10 mmapd "$j"
    done
    ;;
  W1w)
    w1() {
      BENCH_METHOD=GET BENCH_PATH=/v1/maps/w1/data BENCH_SPAN=67108864 BENCH_LEN=4096 \
        wrk_json -t2 "-c$W1_CONNS" "-d${DURATION}s" --timeout 5s --latency \
          -s "$BENCH_DIR/lua/range.lua" "$BASE"
    }
    record W1-no-waiters mmapd "$(w1)"
    "$BENCH_BIN/wake" -H "$PORT" idle "$W1W_WAITERS" $((DURATION + 4)) >"$BENCH_TMP/hold.out" &
    hold=$!
    sleep 2 # all parked before the load starts
    record W1-with-waiters mmapd "$(w1)"
    wait "$hold" || die "W1w: a held waiter was answered"
    record W1-held mmapd "$(sed -n 's/^BENCHJSON //p' "$BENCH_TMP/hold.out")"
    record W1-no-waiters mmapd "$(w1)"
    ;;
  *) die "unknown workload $w" ;;
  esac
done
