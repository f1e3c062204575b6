#!/usr/bin/env bash
# test_wget.sh - GNU Wget: `wget -c` resumes a partial file, and `wget -N`
# (timestamping) downloads again only when the mapping changed.
#
# wget -N sends `If-Modified-Since: <the local file's mtime>` on a plain GET
# (wget >= 1.19 does no HEAD first). It sets the file's mtime from the
# response's Last-Modified; without one it prints "Last-modified header
# missing -- time-stamps turned off." and downloads every time.
#
#   MMAPD_BIN=build/dev/server/mmapd tests/clients/test_wget.sh
. "$(dirname "$0")/lib.sh"
need_clients wget
start_mmapd

SIZE=1500000
random_map w $SIZE "$tmp/a"

w() { timeout 30 wget --no-config -q --tries=1 --timeout=10 "$@"; }

head -c 1000000 "$tmp/a" >"$tmp/partial"
mark=$(log_mark)
w -c -O "$tmp/partial" "$url"
expect_same "wget -c: resumed download" "$tmp/partial" "$tmp/a" \
    "rule: Range: bytes=1000000- answers 206 with the rest"
got=$(requests_since "$mark" GET /v1/maps/w/data | tr '\n' ' ')
check test "$got" = "206 500000 " -- "wget -c fetched only the missing 500000 bytes (server answered '$got')"

mkdir "$tmp/mirror"
cd "$tmp/mirror"
w -N "$url"
expect_same "wget -N: first download" "$tmp/mirror/data" "$tmp/a" "rule: GET /data answers the mapping's bytes"

mark=$(log_mark)
w -N "$url"
got=$(requests_since "$mark" GET /v1/maps/w/data | tr '\n' ' ')
check test "$got" = "304 0 " -- "wget -N with nothing changed: server answered '$got' (status bytes_out), want '304 0' (no download); rule: Last-Modified on every bytes response, If-Modified-Since not older than it → 304"
expect_same "wget -N: local copy kept" "$tmp/mirror/data" "$tmp/a" "rule: a 304 leaves the copy as it was"

# A write in a later second than the copy's Last-Modified: -N must fetch it.
next_second
random_file "$tmp/patch" 4096
write_at w 0 "$tmp/patch"
{ cat "$tmp/patch"; tail -c +4097 "$tmp/a"; } >"$tmp/want"
w -N "$url"
expect_same "wget -N after a write: the new bytes" "$tmp/mirror/data" "$tmp/want" \
    "rule: a write moves Last-Modified, so If-Modified-Since gets 200 and the bytes"

finish wget
