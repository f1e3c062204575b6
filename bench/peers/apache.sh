#!/usr/bin/env bash
# peers/apache.sh start|stop — Apache httpd (mpm_event, mod_dav_fs) on
# 127.0.0.1:$APACHE_PORT with DocumentRoot $BENCH_TMP/data.
# start prints the parent PID (also in $BENCH_TMP/apache/pid); stop kills that PID only
# (the parent takes its children down on TERM).
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
: "${BENCH_TMP:?set BENCH_TMP (see run.sh)}"
PORT="${APACHE_PORT:-18081}"
RUN="$BENCH_TMP/apache"
case "${1:-}" in
  start)
    mkdir -p "$RUN/lock"
    chown www-data:www-data "$RUN/lock"
    render "$BENCH_DIR/conf/apache2.conf.in" "$RUN/apache2.conf" "$RUN" "${DOCROOT:-$BENCH_TMP/data}" "$PORT"
    apache2 -t -d "$RUN" -f "$RUN/apache2.conf" > "$RUN/configtest.log" 2>&1 \
      || { cat "$RUN/configtest.log" >&2; die "apache config test failed"; }
    peer_launch "$RUN" "$PORT" apache2 -d "$RUN" -f "$RUN/apache2.conf" -DFOREGROUND
    cat "$RUN/pid"
    ;;
  stop)
    peer_stop "$RUN"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
