#!/usr/bin/env bash
# peers/nginx.sh start|stop — nginx on 127.0.0.1:$NGINX_PORT serving $BENCH_TMP/data.
# start prints the master PID (also in $BENCH_TMP/$NGINX_INSTANCE/pid); stop kills that PID only.
# NGINX_INSTANCE [nginx] names the run dir (a second instance needs its own name and port);
# NGINX_ACCESS_LOG=on logs every request to RUN/access.log in nginx's default format (combined),
# nginx's default; off (the default here) is `access_log off`.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
: "${BENCH_TMP:?set BENCH_TMP (see run.sh)}"
PORT="${NGINX_PORT:-18080}"
RUN="$BENCH_TMP/${NGINX_INSTANCE:-nginx}"
case "${1:-}" in
  start)
    mkdir -p "$RUN"
    render "$BENCH_DIR/conf/nginx.conf.in" "$RUN/nginx.conf" "$RUN" "${DOCROOT:-$BENCH_TMP/data}" "$PORT"
    [[ "${NGINX_ACCESS_LOG:-off}" == on ]] && sed -i "s#access_log off;#access_log $RUN/access.log;#" "$RUN/nginx.conf"
    nginx -t -q -p "$RUN" -e "$RUN/error.log" -c "$RUN/nginx.conf" || die "nginx config test failed"
    peer_launch "$RUN" "$PORT" nginx -p "$RUN" -e "$RUN/error.log" -c "$RUN/nginx.conf" -g 'daemon off;'
    cat "$RUN/pid"
    ;;
  stop)
    peer_stop "$RUN"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
