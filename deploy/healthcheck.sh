#!/bin/bash
# Container HEALTHCHECK: GET /healthz where mmapd listens (MMAPD_LISTEN, as the
# image sets it), with bash's /dev/tcp so the runtime image needs no curl (and
# none of libcurl's ~15 dependencies). Exit 0 only on HTTP 200 within 3 s.
set -euo pipefail
listen=${MMAPD_LISTEN:-0.0.0.0:8080}
port=${listen##*:}
host=${listen%:*}
host=${host#[}
host=${host%]}
# A wildcard address is reached through loopback.
case $host in 0.0.0.0) host=127.0.0.1 ;; ::) host=::1 ;; esac
exec timeout 3 bash -c '
  set -e
  exec 3<>"/dev/tcp/$1/$2"
  printf "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3
  IFS= read -r status <&3
  [[ $status == "HTTP/1."?" 200 "* ]]' _ "$host" "$port"
