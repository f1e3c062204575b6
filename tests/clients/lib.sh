# lib.sh - what every real-client test (tests/clients/test_*.sh) shares:
# start the real mmapd on a free loopback port with an empty data directory,
# make mappings and change their bytes through the API (with curl, the
# reference client), compare bytes by digest, read the access log, and report.
#
# Source it first thing:   . "$(dirname "$0")/lib.sh"; need_clients wget
#
#   need_clients CMD...      exit 77 (ctest: skipped) unless every CMD is installed
#   start_mmapd              start mmapd; sets $base (http://127.0.0.1:PORT) and $pid
#   random_file FILE BYTES   FILE holds BYTES random bytes
#   make_map NAME FILE       create mapping NAME as large as FILE, holding its bytes
#   random_map NAME BYTES FILE  FILE gets BYTES random bytes, mapping NAME a copy;
#                            sets $url to the mapping's /data
#   write_at NAME OFFSET FILE  PUT FILE's bytes at OFFSET (Content-Range), want 204
#   expect_same WHAT GOT WANT RULE  GOT and WANT (files) must have the same sha256
#   check COND... -- MESSAGE  record a failure unless the command COND succeeds
#   log_mark / log_since M   access-log line count now / the lines logged after M
#                            (both first make the server write its buffered lines)
#   next_second              sleep until the wall clock is in a later second
#   http_date                the current time as an HTTP-date (RFC 9110 5.6.7)
#   finish NAME              stop mmapd (it must exit 0), print the verdict;
#                            exit 1 if any check failed
#
# A failed check does not stop the test: every rule the client depends on is
# checked and reported, so one run says all that a server change has to fix.
# Each failure message names the rule that is broken, as the README and
# api/openapi.yaml state it. Every client call is bounded with timeout(1) (and
# the client's own timeouts); the server started here is the only process
# stopped, by PID, and the temporary directory is removed however the test ends.
set -euo pipefail

bin=${MMAPD_BIN:?MMAPD_BIN must name the mmapd executable}
tmp=$(mktemp -d /tmp/mmapd-clients.XXXXXX)
pid=
base=
failures=0

# The clients read their own configuration (~/.curlrc, ~/.wgetrc, ~/.lftprc,
# rclone.conf) and some write state under $HOME (lftp's history): give them an
# empty home so neither the user's settings nor the test leak across. Proxies
# are bypassed: everything here is loopback.
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config XDG_DATA_HOME=$tmp/home/.local/share
mkdir -p "$HOME"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY ftp_proxy
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1

cleanup() {
    if [[ -n $pid ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

need_clients() {
    local c
    for c in "$@"; do
        if ! command -v "$c" >/dev/null; then
            echo "skipped: $c is not installed (./dev.sh deps installs the clients)"
            exit 77
        fi
    done
}

# Fatal: the test cannot go on (the server did not start, the API refused a
# setup step). Shows the end of the server's log.
die() {
    echo "FAIL: $*" >&2
    [[ -f $tmp/mmapd.err ]] && tail -5 "$tmp/mmapd.err" | sed 's/^/  mmapd: /' >&2
    exit 1
}

start_mmapd() {
    local line=
    # Created first: the server's redirections happen after the fork, and the
    # loop below may read before they do.
    : >"$tmp/mmapd.out"
    : >"$tmp/mmapd.err"
    # The access log (on stderr) is how the tests see what a client asked and
    # what the server answered, whatever the client prints.
    "$bin" --listen 127.0.0.1:0 --data-dir "$tmp/data" --access-log on \
        >"$tmp/mmapd.out" 2>"$tmp/mmapd.err" &
    pid=$!
    for _ in $(seq 100); do
        line=$(head -1 "$tmp/mmapd.out")
        [[ -n $line ]] && break # printed with one write, so never partial
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [[ $line =~ ^mmapd\ listening\ on\ (http://127\.0\.0\.1:[0-9]+)$ ]] \
        || die "mmapd did not start: '$line'"
    base=${BASH_REMATCH[1]}
}

# api WANT METHOD PATH [curl args...]: one API request (setup, not under
# test); the body goes to $tmp/api.body. Dies unless the status is WANT.
api() {
    local want=$1 method=$2 path=$3 got
    shift 3
    got=$(curl -q -sS --max-time 20 -o "$tmp/api.body" -w '%{http_code}' \
        -X "$method" "$@" "$base$path") || die "$method $path: curl failed"
    [[ $got == "$want" ]] || die "$method $path: status $got, want $want: $(head -c 300 "$tmp/api.body")"
}

random_file() {
    head -c "$2" /dev/urandom >"$1"
}

make_map() {
    local name=$1 file=$2 size
    size=$(stat -c %s "$file")
    api 201 PUT "/v1/maps/$name" -H 'Content-Type: application/json' -d "{\"size\": $size}"
    write_at "$name" 0 "$file"
}

random_map() {
    random_file "$3" "$2"
    make_map "$1" "$3"
    url=$base/v1/maps/$1/data
}

write_at() {
    local name=$1 off=$2 file=$3 len
    len=$(stat -c %s "$file")
    api 204 PUT "/v1/maps/$name/data" -H "Content-Range: bytes $off-$((off + len - 1))/*" \
        -H 'Content-Type: application/octet-stream' --data-binary "@$file"
}

# map_bytes NAME FILE: the mapping's bytes as the server holds them now.
map_bytes() {
    api 200 GET "/v1/maps/$1/data"
    cp "$tmp/api.body" "$2"
}

sha() {
    if [[ -f $1 ]]; then sha256sum <"$1" | cut -c1-64; else echo "(no file)"; fi
}

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

expect_same() {
    local what=$1 got=$2 want=$3 rule=$4
    if [[ $(sha "$got") == "$(sha "$want")" ]]; then
        echo "ok: $what"
    else
        fail "$what: sha256 $(sha "$got" | cut -c1-16)…, want $(sha "$want" | cut -c1-16)…; $rule"
    fi
}

check() {
    local cmd=()
    while [[ $1 != -- ]]; do
        cmd+=("$1")
        shift
    done
    shift
    if "${cmd[@]}"; then echo "ok: $*"; else fail "$*"; fi
}

# The server buffers access lines per thread for up to 100 ms (README,
# "Logging"). SIGHUP makes it write them all before it logs the SIGHUP
# (without --token-file: "SIGHUP: no --token-file to reload"), so once that
# line is in the log, so is the line of every request answered before.
log_sync() {
    local before
    before=$(grep -c 'mmapd info: SIGHUP' "$tmp/mmapd.err" || true)
    kill -HUP "$pid"
    for _ in $(seq 200); do
        (($(grep -c 'mmapd info: SIGHUP' "$tmp/mmapd.err" || true) > before)) && return
        sleep 0.05
    done
    die "mmapd did not log the SIGHUP within 10 s"
}

log_mark() {
    log_sync
    wc -l <"$tmp/mmapd.err"
}

log_since() {
    log_sync
    tail -n +"$(($1 + 1))" "$tmp/mmapd.err" | grep '^{"ts"' || true
}

# The access-log lines after MARK for METHOD on PATH, as "STATUS BYTES_OUT".
# A request's line is logged when the server has sent the whole answer,
# which can be a moment after the client has read it: poll (at most 5 s)
# until at least one line is there.
requests_since() {
    local mark=$1 method=$2 path=$3 lines=
    for _ in $(seq 50); do
        lines=$(log_since "$mark" | { grep -F "\"method\":\"$method\",\"path\":\"$path\"," || true; })
        [[ -n $lines ]] && break
        sleep 0.1
    done
    # No such request is an answer too (empty), not an error.
    [[ -z $lines ]] || sed -E 's/.*"status":([0-9]+).*"bytes_out":([0-9]+).*/\1 \2/' <<<"$lines"
}

# HTTP-dates have one-second resolution, so a tool that compares times sees
# a write only if it lands in a later second than the state it copied. The
# extra 0.2 s keeps what follows clear of the turn of the second, which a
# server stamping times from a coarse clock (a few ms behind) may still
# count as the second before.
next_second() {
    local now
    now=$(date +%s)
    while [[ $(date +%s) == "$now" ]]; do sleep 0.05; done
    sleep 0.2
}

http_date() {
    LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT'
}

# Stop the server (SIGTERM, at most 15 s) and check it ended well: exit
# status 0, so a crash or a sanitizer's report under the asan preset fails
# the test even when every client got its bytes.
stop_mmapd() {
    local rc=0
    kill -TERM "$pid"
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "mmapd still running 15 s after SIGTERM"
        return
    fi
    wait "$pid" || rc=$?
    pid=
    if ((rc != 0)); then
        fail "mmapd exited with status $rc"
        grep -v '^{"ts"' "$tmp/mmapd.err" | tail -20 | sed 's/^/  mmapd: /' >&2
    fi
}

finish() {
    stop_mmapd
    if ((failures > 0)); then
        echo "$1: $failures check(s) failed" >&2
        exit 1
    fi
    echo "$1: passed"
}
