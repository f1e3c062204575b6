#!/usr/bin/env bash
# peers/nginx.sh start|stop — nginx on 127.0.0.1:$NGINX_PORT serving $BENCH_TMP/data.
# start prints the master PID (also in $BENCH_TMP/nginx/pid); stop kills that PID only.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
: "${BENCH_TMP:?set BENCH_TMP (see run.sh)}"
PORT="${NGINX_PORT:-18080}"
RUN="$BENCH_TMP/nginx"
case "${1:-}" in
  start)
    mkdir -p "$RUN"
    render "$BENCH_DIR/conf/nginx.conf.in" "$RUN/nginx.conf" "$RUN" "${DOCROOT:-$BENCH_TMP/data}" "$PORT"
    nginx -t -q -p "$RUN" -e "$RUN/error.log" -c "$RUN/nginx.conf" || die "nginx config test failed"
    peer_launch "$RUN" "$PORT" nginx -p "$RUN" -e "$RUN/error.log" -c "$RUN/nginx.conf" -g 'daemon off;'
    cat "$RUN/pid"
    ;;
  stop)
    peer_stop "$RUN"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
