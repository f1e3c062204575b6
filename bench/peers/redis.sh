#!/usr/bin/env bash
# peers/redis.sh start|stop — redis-server on 127.0.0.1:$REDIS_PORT, no persistence.
# start also stores ${DOCROOT:-$BENCH_TMP/data}/data.bin as the string key "big" (SETRANGE, 1 MiB chunks)
# and prints the server PID (also in $BENCH_TMP/redis/pid); stop kills that PID only.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
: "${BENCH_TMP:?set BENCH_TMP (see run.sh)}"
PORT="${REDIS_PORT:-16379}"
RUN="$BENCH_TMP/redis"
case "${1:-}" in
  start)
    mkdir -p "$RUN"
    render "$BENCH_DIR/conf/redis.conf.in" "$RUN/redis.conf" "$RUN" "$BENCH_TMP/data" "$PORT"
    peer_launch "$RUN" "$PORT" redis-server "$RUN/redis.conf"
    "$BENCH_BIN/range_client" -P redis -p "$PORT" -k big -L "${DOCROOT:-$BENCH_TMP/data}/data.bin" >&2
    cat "$RUN/pid"
    ;;
  stop)
    peer_stop "$RUN"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
