#!/usr/bin/env bash
# run.sh — mmapd against nginx, Apache mod_dav and Redis on their own ranged workloads,
# measured side by side in one run; prints one table of ratios against the targets.
#
#   ./run.sh                      full run: REPEATS=3 rounds x DURATION=10 s per (peer, workload)
#   QUICK=1 ./run.sh              smoke test: 1 round x 3 s, short quiet waits
#
# What it does (everything on loopback, every load bounded in time, servers stopped by PID):
#   1. installs what is missing with apt-get (wrk nginx-light apache2 redis-server redis-tools,
#      plus the tools and build dependencies it uses), builds mmapd with
#      `cmake --preset release` (build/release/server/mmapd), compiles tools/*.c into .bin/
#   2. data in BENCH_DATA (kept between runs, reused when sizes match):
#        data/data.bin    1 GiB pattern file (every 8-byte word holds its own offset)
#        data/put.bin     a copy, target of the ranged PUTs (W3)
#        small/w6/fNNNNN.bin  W6_MAPS files of W6_SIZE bytes, pattern each
#      and locks data.bin, put.bin and the W6 files in the page cache (tools/pin.c: this host
#      runs DAMON pageout, which evicts idle page cache within about a minute)
#   3. starts, on 127.0.0.1: mmapd :18090 (data/, --cache-bytes MMAPD_CACHE), mmapd-small :18091
#      (small/, --cache-bytes MMAPD_SMALL_CACHE = the W7 budget), nginx :18080, Apache :18081,
#      Redis :16379 (the 1 GiB file loaded as one string); creates the mmapd mappings through
#      the API (bench -> data.bin readonly, benchput -> put.bin, sparse -> 64 GiB sparse file,
#      w6-00000..w6-09999 -> the W6 files; creating is skipped when the catalog already has them)
#   4. checks the bytes: per (peer, workload), VERIFY_N random ranges fetched with curl and
#      compared with the pattern (zeros for W5's holes); W3 writes one range and reads it back
#      with both neighbours; every wrk run must report 0 errors / non-2xx and the expected
#      average response size
#   5. REPEATS rounds; per round W1..W4 on every peer (peer order rotated per round, `sync`
#      and a bounded wait for a quiet machine before every run), then W5 and W6 on mmapd-small
#      and a W7 RSS sample (VmRSS/RssAnon/RssFile of mmapd-small after W5 and after W6)
#   6. prints the table (medians over the rounds) of tools/report.py; raw data in OUT
#
# Knobs (environment):
#   QUICK [0]        1: REPEATS=1 DURATION=3 WARMUP=1 QUIET_WAIT=3 unless set explicitly
#   REPEATS [3]  DURATION [10] s  WARMUP [2] s (unrecorded, round 1 only)  THREADS [2] (wrk)
#   QUIET_WAIT [15] s max wait for an idle machine before each run; QUIET_BUSY [15] %
#   PEERS ["mmapd nginx apache redis"]
#   WORKLOADS ["W1 W1L W1C W2 W3 W4 W4C W5 W6 W7 W8 W9 W10 digest extents"]
#     W1L = W1 with both servers' access logs on (a third mmapd, --access-log on, and a second
#     nginx logging to a file, on MMAPD_LOG_PORT [18092] and NGINX_LOG_PORT [18082])
#     W1C, W4C = W1, W4 against mmapd and nginx driven by tools/range_client.c instead of wrk:
#     the client Redis is driven by, so that "vs Redis" compares servers, not clients (wrk
#     with its Lua script costs 16-19 µs of CPU per request here, range_client 11 against
#     Redis and 14 against an HTTP server, and wrk's tail at 8 conns is its own scheduling: RESULTS.md, issue 15 step 8)
#     W8 W9 W10 digest extents: each is its own script (EXTRA_SCRIPTS below), run after the
#     rounds with the other servers stopped; a missing script is reported "not run"
#   W8_COUNTS ["1000 100000"; QUICK: 1000]  passed to w8.sh
#   W1_CONNS [64] W2_CONNS [16] W3_CONNS [64] W4_CONNS [8] W5_CONNS [64] W6_CONNS [64]
#   W2_LEN [1048576]  W5_SIZE [64GiB = 68719476736]  W6_MAPS [10000]  W6_SIZE [65536]
#   MMAPD_CACHE [4GiB] main instance --cache-bytes;  MMAPD_SMALL_CACHE [256MiB] W5/W6/W7 budget
#   MMAPD_THREADS [online CPUs]  MMAPD_ACCESS_LOG [off] (nginx and Apache run without access log)
#   MMAPD_BIN        use this binary instead of building (BUILD=0 skips the build too)
#   MMAPD_PRELOAD    LD_PRELOAD for the mmapd instances only (experiments: tools/madv_random.c)
#   INSTALL [1]      0: never call apt-get (fail if something is missing)
#   BENCH_DATA [/var/tmp/mmapd-bench]  OUT [results/<UTC time>]  VERIFY_N [4]  PIN [1]
#   VERIFY_PEERS [0] 1: also run peers/verify.sh (peer semantics report)
#   MMAPD_PORT [18090] MMAPD_SMALL_PORT [18091] NGINX_PORT [18080] APACHE_PORT [18081] REDIS_PORT [16379]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
REPO="$(cd "$BENCH_DIR/.." && pwd)"

if [[ "${QUICK:-0}" == 1 ]]; then
  : "${REPEATS:=1}" "${DURATION:=3}" "${WARMUP:=1}" "${QUIET_WAIT:=3}"
fi
REPEATS="${REPEATS:-3}"; DURATION="${DURATION:-10}"; WARMUP="${WARMUP:-2}"
export QUIET_WAIT="${QUIET_WAIT:-15}"
THREADS="${THREADS:-2}"
PEERS="${PEERS:-mmapd nginx apache redis}"
WORKLOADS="${WORKLOADS:-W1 W1L W1C W2 W3 W4 W4C W5 W6 W7 W8 W9 W10 digest extents}"
# The workloads measured by a script of their own, in the order they run; each script runs
# once and appends its JSON lines to OUT (w8.jsonl, sharing.jsonl, digest.jsonl), from which
# tools/report.py makes the rows. sharing.sh gets the subset asked for in its own WORKLOADS
# (W10 brings W1w, W1 with 1,000 waiters held, which shares its goal); digest.sh measures both.
EXTRA_SCRIPTS="W8:w8.sh W9:sharing.sh W10:sharing.sh digest:digest.sh extents:digest.sh"
if [[ "${QUICK:-0}" == 1 ]]; then : "${W8_COUNTS:=1000}"; fi
export W8_COUNTS="${W8_COUNTS:-1000 100000}"
export MMAPD_LOG_PORT="${MMAPD_LOG_PORT:-18092}" NGINX_LOG_PORT="${NGINX_LOG_PORT:-18082}"
SPAN=1073741824
W2_LEN="${W2_LEN:-1048576}"
W5_SIZE="${W5_SIZE:-68719476736}"
W6_MAPS="${W6_MAPS:-10000}"
W6_SIZE="${W6_SIZE:-65536}"
MMAPD_CACHE="${MMAPD_CACHE:-4GiB}"
MMAPD_SMALL_CACHE="${MMAPD_SMALL_CACHE:-256MiB}"
MMAPD_ACCESS_LOG="${MMAPD_ACCESS_LOG:-off}"
VERIFY_N="${VERIFY_N:-4}"
BENCH_DATA="${BENCH_DATA:-/var/tmp/mmapd-bench}"
export NGINX_PORT="${NGINX_PORT:-18080}" APACHE_PORT="${APACHE_PORT:-18081}" REDIS_PORT="${REDIS_PORT:-16379}"
MMAPD_PORT="${MMAPD_PORT:-18090}"; MMAPD_SMALL_PORT="${MMAPD_SMALL_PORT:-18091}"
(( DURATION >= 1 && DURATION <= 300 )) || die "DURATION must be 1..300 s"
(( REPEATS >= 1 && REPEATS <= 20 )) || die "REPEATS must be 1..20"
(( W6_SIZE % 4096 == 0 && W6_SIZE >= 4096 )) || die "W6_SIZE must be a multiple of 4096"
TS="$(date -u +%Y%m%dT%H%M%SZ)"
export OUT="${OUT:-$BENCH_DIR/results/$TS}"
mkdir -p "$OUT/raw"
ln -sfn "$(basename "$OUT")" "$BENCH_DIR/results/latest" 2>/dev/null || true
has() { [[ " $1 " == *" $2 "* ]]; }

# ---- 1. packages, build ------------------------------------------------------------------
need_pkgs() { # print the packages (of "cmd:pkg" pairs and plain pkgs) that are missing
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
PKGS=(wrk nginx-light apache2 redis-server redis-tools curl jq gcc libc6-dev make cmake pkg-config
      libmicrohttpd-dev libjansson-dev libsqlite3-dev libmimalloc-dev python3 util-linux procps)
mapfile -t missing < <(need_pkgs "${PKGS[@]}")
if (( ${#missing[@]} > 0 )); then
  [[ "${INSTALL:-1}" == 1 ]] || die "missing packages: ${missing[*]} (INSTALL=0)"
  [[ "$(id -u)" == 0 ]] || die "missing packages ${missing[*]}: run as root (apt-get)"
  log "installing ${missing[*]} (apt-get; services are not used as installed)"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" > "$OUT/apt.log" 2>&1 || { cat "$OUT/apt.log" >&2; die "apt-get failed"; }
fi
if [[ -z "${MMAPD_BIN:-}" ]]; then
  MMAPD_BIN="$REPO/build/release/server/mmapd"
  if [[ "${BUILD:-1}" == 1 ]]; then
    log "building mmapd: cmake --preset release && cmake --build --preset release"
    (cd "$REPO" && cmake --preset release > "$OUT/build.log" 2>&1 \
       && cmake --build --preset release -j "$(nproc)" >> "$OUT/build.log" 2>&1) \
      || { tail -30 "$OUT/build.log" >&2; die "mmapd build failed (log: $OUT/build.log)"; }
  fi
fi
[[ -x "$MMAPD_BIN" ]] || die "no mmapd binary at $MMAPD_BIN"
export MMAPD_BIN
build_tools
created_tmp=0; [[ -z "${BENCH_TMP:-}" ]] && created_tmp=1
bench_tmp > /dev/null
log "run dirs $BENCH_TMP, data $BENCH_DATA, results $OUT"

PIN_PID=""
ALL_PEERS="redis apache nginx"
stop_servers() {
  local p
  for p in $ALL_PEERS; do "$BENCH_DIR/peers/$p.sh" stop 2>/dev/null || true; done
  "$BENCH_DIR/peers/mmapd.sh" stop main 2>/dev/null || true
  "$BENCH_DIR/peers/mmapd.sh" stop small 2>/dev/null || true
  "$BENCH_DIR/peers/mmapd.sh" stop log 2>/dev/null || true
  NGINX_INSTANCE=nginx-log "$BENCH_DIR/peers/nginx.sh" stop 2>/dev/null || true
}
cleanup() {
  stop_servers
  stop_pid "$PIN_PID"
  if [[ "$created_tmp" == 1 && "${KEEP_TMP:-0}" != 1 ]]; then rm -rf "$BENCH_TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 2. data -----------------------------------------------------------------------------
D="$BENCH_DATA/data"; S="$BENCH_DATA/small"
mkdir -p "$D" "$S/w6"
chmod 755 "$BENCH_DATA" "$D"
make_data "$D/data.bin" "$SPAN"
if [[ ! -f "$D/put.bin" || "$(stat -c %s "$D/put.bin")" != "$SPAN" ]]; then cp "$D/data.bin" "$D/put.bin"; fi
chown www-data:www-data "$D/put.bin"
if has "$WORKLOADS" W6; then
  log "W6 files: $W6_MAPS x $W6_SIZE bytes in $S/w6 (kept between runs)"
  "$BENCH_BIN/mkdata" --many "$S/w6" "$W6_MAPS" "$W6_SIZE" || die "mkdata --many failed"
fi
sync
if [[ "${PIN:-1}" == 1 ]]; then
  pinlist="$BENCH_TMP/pin.list"
  : > "$pinlist"
  has "$WORKLOADS" W6 && for ((i = 0; i < W6_MAPS; i++)); do printf '%s/w6/f%05d.bin\n' "$S" "$i"; done > "$pinlist"
  start_pin -f "$pinlist" "$D/data.bin" "$D/put.bin"
fi

{
  echo "date: $(date -u +%FT%TZ)"
  echo "git: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null) $(git -C "$REPO" status --porcelain 2>/dev/null | grep -qv '^??' && echo '(work tree has changes)')"
  echo "kernel: $(uname -r)"
  echo "cpu: $(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}') x $(nproc)"
  echo "memory: $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "mmapd: $MMAPD_BIN ($("$MMAPD_BIN" --version 2>&1))"
  echo "nginx: $(nginx -v 2>&1)"
  echo "apache: $(apache2 -v | head -1)"
  echo "redis: $(redis-server --version)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "mmapd LD_PRELOAD: ${MMAPD_PRELOAD:-none}"
  echo "settings: QUICK=${QUICK:-0} REPEATS=$REPEATS DURATION=$DURATION WARMUP=$WARMUP THREADS=$THREADS PEERS='$PEERS' WORKLOADS='$WORKLOADS' QUIET_WAIT=$QUIET_WAIT MMAPD_CACHE=$MMAPD_CACHE MMAPD_SMALL_CACHE=$MMAPD_SMALL_CACHE W5_SIZE=$W5_SIZE W6_MAPS=$W6_MAPS W6_SIZE=$W6_SIZE MMAPD_ACCESS_LOG=$MMAPD_ACCESS_LOG PIN=${PIN:-1}"
  echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "damon: $(cat /sys/kernel/mm/damon/admin/kdamonds/0/state 2>/dev/null || echo n/a)"
} > "$OUT/meta.txt"

# ---- 3. servers --------------------------------------------------------------------------
declare -A SPID
mm_args=(--access-log "$MMAPD_ACCESS_LOG")
[[ -n "${MMAPD_THREADS:-}" ]] && mm_args+=(--threads "$MMAPD_THREADS")
MM="http://127.0.0.1:$MMAPD_PORT"; MS="http://127.0.0.1:$MMAPD_SMALL_PORT"; ML="http://127.0.0.1:$MMAPD_LOG_PORT"

# mk_map BASE NAME JSON: create or open a mapping; 200/201 are fine, anything else is fatal.
mk_map() {
  local code
  code="$(curl -s -o "$BENCH_TMP/mk.out" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
          --data-binary "$3" "$1/v1/maps/$2")"
  [[ "$code" == 200 || "$code" == 201 ]] || { cat "$BENCH_TMP/mk.out" >&2; die "creating mapping $2 -> HTTP $code"; }
}

if has "$PEERS" mmapd; then
  SPID[mmapd]="$(DOCROOT="$D" "$BENCH_DIR/peers/mmapd.sh" start main "$MMAPD_PORT" "$D" --cache-bytes "$MMAPD_CACHE" "${mm_args[@]}")"
  log "mmapd started, pid ${SPID[mmapd]} (cache $MMAPD_CACHE)"
  mk_map "$MM" bench '{"file":"data.bin","protection":"readonly"}'
  mk_map "$MM" benchput '{"file":"put.bin"}'
  echo "mmapd pid: ${SPID[mmapd]}" >> "$OUT/meta.txt"
  if has "$WORKLOADS" W1L; then
    # W1L: the same file through a third instance with its access log on (to its stderr file,
    # as a service manager would keep it); its own data dir, as two instances never share one
    mkdir -p "$BENCH_DATA/logdata"
    ln -f "$D/data.bin" "$BENCH_DATA/logdata/data.bin"
    SPID[mmapd-log]="$("$BENCH_DIR/peers/mmapd.sh" start log "$MMAPD_LOG_PORT" "$BENCH_DATA/logdata" \
                        --cache-bytes "$MMAPD_CACHE" --access-log on ${MMAPD_THREADS:+--threads "$MMAPD_THREADS"})"
    mk_map "$ML" bench '{"file":"data.bin","protection":"readonly"}'
    log "mmapd-log started, pid ${SPID[mmapd-log]} (access log on)"
    echo "mmapd-log pid: ${SPID[mmapd-log]}" >> "$OUT/meta.txt"
  fi
fi
if has "$WORKLOADS" W5 || has "$WORKLOADS" W6 || has "$WORKLOADS" W7; then
  SPID[small]="$("$BENCH_DIR/peers/mmapd.sh" start small "$MMAPD_SMALL_PORT" "$S" --cache-bytes "$MMAPD_SMALL_CACHE" "${mm_args[@]}")"
  log "mmapd-small started, pid ${SPID[small]} (cache $MMAPD_SMALL_CACHE)"
  echo "mmapd-small pid: ${SPID[small]}" >> "$OUT/meta.txt"
  mk_map "$MS" sparse "{\"file\":\"sparse.bin\",\"size\":$W5_SIZE,\"allocation\":\"sparse\",\"protection\":\"readwrite\"}"
  if has "$WORKLOADS" W6; then
    last="$(printf 'w6-%05d' $((W6_MAPS - 1)))"
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$MS/v1/maps/$last")" != 200 ]]; then
      log "creating $W6_MAPS mappings on mmapd-small (one keep-alive curl; slow the first time: the catalog is rewritten per create)"
      t0=$SECONDS
      for ((i = 0; i < W6_MAPS; i++)); do
        printf 'url = "%s/v1/maps/w6-%05d"\nrequest = "PUT"\nheader = "Content-Type: application/json"\ndata = "{\\"file\\":\\"w6/f%05d.bin\\",\\"protection\\":\\"readonly\\"}"\nwrite-out = "%%{http_code}\\n"\noutput = "/dev/null"\n' \
          "$MS" "$i" "$i"
        (( i < W6_MAPS - 1 )) && echo next
      done > "$BENCH_TMP/w6.curl"
      curl -s -K "$BENCH_TMP/w6.curl" > "$BENCH_TMP/w6.codes"
      bad="$(grep -cv '^20[01]$' "$BENCH_TMP/w6.codes" || true)"
      [[ "$bad" == 0 ]] || die "creating W6 mappings: $bad requests did not answer 200/201"
      log "created $W6_MAPS mappings in $((SECONDS - t0)) s"
      echo "w6 create: $W6_MAPS mappings in $((SECONDS - t0)) s" >> "$OUT/meta.txt"
    fi
  fi
fi
for p in nginx apache redis; do
  has "$PEERS" "$p" || continue
  SPID[$p]="$(DOCROOT="$D" "$BENCH_DIR/peers/$p.sh" start)"
  log "$p started, pid ${SPID[$p]}"
  if [[ "$p" == redis ]]; then
    # W3 writes go to their own 1 GiB string "put" (zero-filled by one SETRANGE of its last
    # byte), so the reads of "big" stay checkable, as Apache and mmapd write to a copy too
    redis-cli -p "$REDIS_PORT" SETRANGE put $((SPAN - 1)) x > /dev/null
    [[ "$(redis-cli -p "$REDIS_PORT" STRLEN put)" == "$SPAN" ]] || die "could not create the Redis key put"
  fi
  echo "$p pid: ${SPID[$p]}" >> "$OUT/meta.txt"
done
if has "$PEERS" nginx && has "$WORKLOADS" W1L; then
  SPID[nginx-log]="$(DOCROOT="$D" NGINX_INSTANCE=nginx-log NGINX_PORT="$NGINX_LOG_PORT" NGINX_ACCESS_LOG=on \
                     "$BENCH_DIR/peers/nginx.sh" start)"
  log "nginx-log started, pid ${SPID[nginx-log]} (access_log to a file, default format)"
  echo "nginx-log pid: ${SPID[nginx-log]}" >> "$OUT/meta.txt"
fi
if [[ "${VERIFY_PEERS:-0}" == 1 ]] && has "$PEERS" nginx && has "$PEERS" apache && has "$PEERS" redis; then
  DOCROOT="$D" "$BENCH_DIR/peers/verify.sh" | tee "$OUT/verify.txt" >&2 || log "WARNING: peers/verify.sh reported failures"
fi

# ---- 4. what each (peer, workload) means -------------------------------------------------
# spec PEER WL: sets BASE PATH_T HDRS METHOD LEN CONNS WSPAN NAMES CHECK SRVPID CLIENT;
# returns 1 if n/a
spec() {
  local p="$1" wl="$2"
  METHOD=GET; LEN=4096; WSPAN=$SPAN; NAMES=0; CHECK=pattern; HDRS='Range: bytes={off}-{last}'; CLIENT=wrk
  case "$wl" in
    W1|W1L) CONNS="${W1_CONNS:-64}" ;;
    W1C|W4C)   # Redis's W1/W4 already use range_client: its rows are the references
      case "$p" in mmapd|nginx) ;; *) return 1 ;; esac
      spec "$p" "${wl%C}" || return 1
      CLIENT=range_client; return 0 ;;
    W2) CONNS="${W2_CONNS:-16}"; LEN="$W2_LEN" ;;
    W3) CONNS="${W3_CONNS:-64}"; METHOD=PUT; HDRS='Content-Range: bytes {off}-{last}/*'; CHECK=put ;;
    W4) CONNS="${W4_CONNS:-8}" ;;
    W5) CONNS="${W5_CONNS:-64}"; WSPAN="$W5_SIZE"; CHECK=zero ;;
    W6) CONNS="${W6_CONNS:-64}"; WSPAN="$W6_SIZE"; NAMES="$W6_MAPS" ;;
    *) return 1 ;;
  esac
  if [[ "$wl" == W1L ]]; then   # both access logs on: the logging instances only
    case "$p" in
      mmapd) BASE="$ML"; SRVPID="${SPID[mmapd-log]}"; PATH_T=/v1/maps/bench/data ;;
      nginx) BASE="http://127.0.0.1:$NGINX_LOG_PORT"; SRVPID="${SPID[nginx-log]}"; PATH_T=/data.bin ;;
      *) return 1 ;;
    esac
    return 0
  fi
  case "$p" in
    mmapd)
      case "$wl" in W5|W6) return 1 ;; esac
      BASE="$MM"; SRVPID="${SPID[mmapd]}"; PATH_T=/v1/maps/bench/data
      [[ "$wl" == W3 ]] && PATH_T=/v1/maps/benchput/data ;;
    mmapd-small)
      case "$wl" in W5) PATH_T=/v1/maps/sparse/data ;; W6) PATH_T='/v1/maps/{name}/data' ;; *) return 1 ;; esac
      BASE="$MS"; SRVPID="${SPID[small]}" ;;
    nginx)
      case "$wl" in W1|W2|W4) ;; *) return 1 ;; esac   # W3: nginx answers PUT + Content-Range with 501
      BASE="http://127.0.0.1:$NGINX_PORT"; SRVPID="${SPID[nginx]}"; PATH_T=/data.bin ;;
    apache)
      case "$wl" in W1|W2|W3|W4) ;; *) return 1 ;; esac
      BASE="http://127.0.0.1:$APACHE_PORT"; SRVPID="${SPID[apache]}"; PATH_T=/data.bin
      [[ "$wl" == W3 ]] && PATH_T=/put.bin ;;
    redis)
      case "$wl" in W1|W2|W3|W4) ;; *) return 1 ;; esac
      BASE=redis; SRVPID="${SPID[redis]}"; PATH_T=big ;;
    *) return 1 ;;
  esac
  return 0
}

rand_off() { # rand_off SPAN LEN -> random 4 KiB-aligned offset with off+len <= span
  local nblk=$(( ($1 - $2) / 4096 + 1 ))
  echo $(( ( (RANDOM << 30 | RANDOM << 15 | RANDOM) % nblk ) * 4096 ))
}
fillt() { # fillt TEMPLATE OFF LEN NAME
  local s="$1"
  s="${s//\{off\}/$2}"; s="${s//\{last\}/$(($2 + $3 - 1))}"; s="${s//\{name\}/$4}"
  printf '%s' "$s"
}

# verify PEER WL: VERIFY_N random ranges checked byte for byte (W3: write, read back, neighbours)
verify() {
  local p="$1" wl="$2" i off name="" code tmp
  tmp="$(mktemp -d)"
  for ((i = 0; i < VERIFY_N; i++)); do
    [[ "$NAMES" -gt 0 ]] && name="$(printf 'w6-%05d' $(( (RANDOM << 15 | RANDOM) % NAMES )))"
    if [[ "$CHECK" == put ]]; then
      off=$(( $(rand_off $((WSPAN - 8192)) 4096) + 4096 ))
      head -c 4096 /dev/zero | tr '\0' 'V' > "$tmp/body"
      if [[ "$p" == redis ]]; then
        # (into files, then cut: a pipe into head would SIGPIPE redis-cli under pipefail)
        redis-cli -p "$REDIS_PORT" --raw GETRANGE put $((off - 4096)) $((off + 8191)) > "$tmp/raw"
        head -c 12288 "$tmp/raw" > "$tmp/before"
        redis-cli -p "$REDIS_PORT" -x SETRANGE put "$off" < "$tmp/body" > /dev/null
        redis-cli -p "$REDIS_PORT" --raw GETRANGE put $((off - 4096)) $((off + 8191)) > "$tmp/raw"
        head -c 12288 "$tmp/raw" > "$tmp/after"
      else
        local rp="$PATH_T"
        curl -s -o "$tmp/before" -H "Range: bytes=$((off - 4096))-$((off + 8191))" "$BASE$rp"
        code="$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Range: bytes $off-$((off + 4095))/*" \
                --data-binary "@$tmp/body" "$BASE$rp")"
        [[ "$code" == 2* ]] || { rm -rf "$tmp"; die "$p $wl: PUT preflight got HTTP $code"; }
        curl -s -o "$tmp/after" -H "Range: bytes=$((off - 4096))-$((off + 8191))" "$BASE$rp"
      fi
      cmp -s <(head -c 4096 "$tmp/before") <(head -c 4096 "$tmp/after") \
        && cmp -s <(tail -c 4096 "$tmp/before") <(tail -c 4096 "$tmp/after") \
        && cmp -s "$tmp/body" <(head -c 8192 "$tmp/after" | tail -c 4096) \
        || { rm -rf "$tmp"; die "$p $wl: written range does not read back, or a neighbour changed (offset $off)"; }
      continue
    fi
    off="$(rand_off "$WSPAN" "$LEN")"
    if [[ "$p" == redis ]]; then
      redis-cli -p "$REDIS_PORT" --raw GETRANGE big "$off" $((off + LEN - 1)) > "$tmp/raw"
      head -c "$LEN" "$tmp/raw" > "$tmp/r"
    else
      code="$(curl -s -o "$tmp/r" -w '%{http_code}' -H "Range: bytes=$off-$((off + LEN - 1))" "$BASE$(fillt "$PATH_T" "$off" "$LEN" "$name")")"
      [[ "$code" == 206 ]] || { rm -rf "$tmp"; die "$p $wl: GET preflight got HTTP $code, want 206"; }
    fi
    local flag=--check; [[ "$CHECK" == zero ]] && flag=--zero
    "$BENCH_BIN/mkdata" "$flag" - "$off" "$LEN" < "$tmp/r" \
      || { rm -rf "$tmp"; die "$p $wl: wrong bytes at offset $off ${name:+of $name}"; }
  done
  rm -rf "$tmp"
  log "$p $wl: $VERIFY_N ranges verified byte for byte ($CHECK)"
}

# run_one PEER WL RUN SECS RECORD
run_one() {
  local p="$1" wl="$2" run="$3" secs="$4" record="$5" t="$THREADS" raw extra shown cmd
  (( t > CONNS )) && t="$CONNS"
  raw="$OUT/raw/${p}_${wl}_run${run}.txt"; [[ "$record" == 1 ]] || raw="$OUT/raw/${p}_${wl}_warmup.txt"
  if [[ "$p" == redis ]]; then
    local mode=get key=big; [[ "$wl" == W3 ]] && mode=set key=put
    cmd=("$BENCH_BIN/range_client" -P redis -H 127.0.0.1 -p "$REDIS_PORT" -k "$key" -m "$mode" -c "$CONNS" -t "$t"
         -d "$secs" -s "$WSPAN" -l "$LEN" -a 4096 -S "$run")
    shown=".bin/range_client ${cmd[*]:1}"
  elif [[ "$CLIENT" == range_client ]]; then   # W1C, W4C: GET only, no {name} in the path
    cmd=("$BENCH_BIN/range_client" -P http -H 127.0.0.1 -p "${BASE##*:}" -u "$PATH_T" -m get -c "$CONNS" -t "$t"
         -d "$secs" -s "$WSPAN" -l "$LEN" -a 4096 -S "$run")
    shown=".bin/range_client ${cmd[*]:1}"
  else
    export BENCH_METHOD="$METHOD" BENCH_PATH="$PATH_T" BENCH_HEADERS="$HDRS" BENCH_SPAN="$WSPAN" \
           BENCH_LEN="$LEN" BENCH_ALIGN=4096 BENCH_SEED="$run" BENCH_NAMES="$NAMES"
    cmd=(wrk "-t$t" "-c$CONNS" "-d${secs}s" --timeout 5s --latency -s "$BENCH_DIR/lua/range.lua" "$BASE")
    shown="BENCH_METHOD=$METHOD BENCH_PATH='$PATH_T' BENCH_HEADERS='$HDRS' BENCH_SPAN=$WSPAN BENCH_LEN=$LEN BENCH_ALIGN=4096 BENCH_NAMES=$NAMES BENCH_SEED=$run wrk -t$t -c$CONNS -d${secs}s --timeout 5s --latency -s lua/range.lua $BASE"
  fi
  extra="$(jq -nc --arg peer "$p" --arg wl "$wl" --argjson run "$run" --argjson conns "$CONNS" --argjson threads "$t" \
           --arg method "$METHOD" --arg cmd "$shown" --argjson len "$LEN" \
           '{peer:$peer, workload:$wl, run:$run, conns:$conns, threads:$threads, method:$method, cmd:$cmd, len:$len}')"
  [[ "$record" == 1 ]] && sync
  SERVER_PIDS="$SRVPID" measure_run "$raw" "$record" "$extra" "${cmd[@]}"
}

# rss_sample LABEL PID RUN BUDGET BASE: VmRSS/RssAnon/RssFile (kB) of one server -> $OUT/rss.jsonl
rss_sample() {
  local label="$1" pid="$2" run="$3" budget="$4" base="$5"
  awk -v l="$label" -v r="$run" -v b="$(numfmt --from=iec-i "${budget%B}" 2>/dev/null || echo 0)" \
      -v v="$(curl -s "$base/v1/info" | jq -c '.' 2>/dev/null)" \
      '/^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem):/{a[$1]=$2}
       END{printf "{\"label\":\"%s\",\"run\":%d,\"budget_bytes\":%.0f", l, r, b;
           for (k in a) {kk=k; sub(/:$/,"",kk); printf ",\"%s_kB\":%d", kk, a[k]}
           printf ",\"info\":%s}\n", (v == "" ? "null" : v)}' "/proc/$pid/status" >> "$OUT/rss.jsonl"
  log "W7 $label: $(grep -E '^(VmRSS|RssAnon|RssFile)' "/proc/$pid/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
}

# ---- 5. rounds ---------------------------------------------------------------------------
read -r -a peer_list <<< "$PEERS"
np=${#peer_list[@]}
verified=" "
for ((r = 1; r <= REPEATS; r++)); do
  log "=== round $r of $REPEATS ==="
  for wl in W1 W1L W1C W2 W3 W4 W4C; do
    has "$WORKLOADS" "$wl" || continue
    for ((i = 0; i < np; i++)); do
      p="${peer_list[$(( (i + r - 1) % np ))]}"
      spec "$p" "$wl" || continue
      if [[ "$verified" != *" $p/$wl "* ]]; then
        verify "$p" "$wl"; verified+="$p/$wl "
        [[ "$WARMUP" -gt 0 ]] && run_one "$p" "$wl" 0 "$WARMUP" 0
      fi
      run_one "$p" "$wl" "$r" "$DURATION" 1
    done
  done
  for wl in W5 W6; do
    has "$WORKLOADS" "$wl" || continue
    spec mmapd-small "$wl"
    if [[ "$verified" != *" small/$wl "* ]]; then
      verify mmapd-small "$wl"; verified+="small/$wl "
      [[ "$WARMUP" -gt 0 ]] && run_one mmapd-small "$wl" 0 "$WARMUP" 0
    fi
    run_one mmapd-small "$wl" "$r" "$DURATION" 1
    has "$WORKLOADS" W7 && rss_sample "mmapd-small after $wl" "${SPID[small]}" "$r" "$MMAPD_SMALL_CACHE" "$MS"
  done
  if has "$WORKLOADS" W7 && has "$PEERS" mmapd; then rss_sample "mmapd main after W1-W4" "${SPID[mmapd]}" "$r" "$MMAPD_CACHE" "$MM"; fi
done
for p in "${!SPID[@]}"; do kill -0 "${SPID[$p]}" 2>/dev/null || die "$p (pid ${SPID[$p]}) died during the run"; done

# ---- 5b. workloads with their own script ---------------------------------------------------
# Run with every server above stopped (they start their own, on their own ports), after the
# rounds so they cannot disturb W1-W7. Each gets OUT, the binary and the round settings.
declare -A extra_wl=()   # script -> the workload ids asked of it
extra_order=""
for e in $EXTRA_SCRIPTS; do
  id="${e%%:*}" sc="${e#*:}"
  has "$WORKLOADS" "$id" && [[ -x "$BENCH_DIR/$sc" ]] || continue
  [[ -n "${extra_wl[$sc]:-}" ]] || extra_order+=" $sc"
  extra_wl[$sc]+=" $id"
done
if [[ -n "$extra_order" ]]; then
  stop_servers
  for sc in $extra_order; do
    ids="${extra_wl[$sc]# }"
    sub="$ids"
    [[ "$sc" == sharing.sh ]] && sub="${ids/W10/W10 W1w}"
    log "$ids: bench/$sc (log: $OUT/extra_${sc%.sh}.log)"
    echo "$ids" >> "$OUT/extra_ran.txt"
    OUT="$OUT" MMAPD_BIN="$MMAPD_BIN" BUILD=0 BENCH_DATA="$BENCH_DATA" QUICK="${QUICK:-0}" REPEATS="$REPEATS" \
      DURATION="$DURATION" WORKLOADS="$sub" "$BENCH_DIR/$sc" > "$OUT/extra_${sc%.sh}.log" 2>&1 \
      || log "WARNING: bench/$sc failed (see $OUT/extra_${sc%.sh}.log)"
  done
fi

# ---- 6. report ---------------------------------------------------------------------------
python3 "$BENCH_DIR/tools/report.py" "$OUT" > "$OUT/summary.md"
cat "$OUT/summary.md"
log "results in $OUT (runs.jsonl, rss.jsonl, raw/, meta.txt, summary.md)"
