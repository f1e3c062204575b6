#!/usr/bin/env bash
# test_curl.sh - curl as its users drive it: a whole download, `-C -` to
# resume a partial file, uploads with `-T` (a Content-Range header, and
# `-C N -T`, which makes curl send the Content-Range itself), and `-z` (a
# conditional GET by date: If-Modified-Since).
#
#   MMAPD_BIN=build/dev/server/mmapd tests/clients/test_curl.sh
. "$(dirname "$0")/lib.sh"
need_clients curl
start_mmapd

SIZE=1500000
random_map c $SIZE "$tmp/a"

# curl with a deadline; -q first so no ~/.curlrc is read.
c() { timeout 30 curl -q -sS --max-time 20 "$@"; }

c -o "$tmp/whole" "$url"
expect_same "curl: whole download" "$tmp/whole" "$tmp/a" "rule: GET /data answers the mapping's bytes"

head -c 1000000 "$tmp/a" >"$tmp/partial"
c -C - -o "$tmp/partial" "$url"
expect_same "curl -C -: resumed download" "$tmp/partial" "$tmp/a" \
    "rule: Range: bytes=1000000- answers 206 with the rest"

# Upload with an explicit Content-Range, then let curl compute one (-C N -T
# sends Content-Range: bytes N-LAST/TOTAL with the file's tail).
random_file "$tmp/b" $SIZE
c -T "$tmp/b" -H "Content-Range: bytes 0-$((SIZE - 1))/*" "$url"
map_bytes c "$tmp/got"
expect_same "curl -T with Content-Range: upload" "$tmp/got" "$tmp/b" "rule: PUT with Content-Range writes there"
random_file "$tmp/b2" $SIZE
head -c 1000000 "$tmp/b" >"$tmp/want"
tail -c +1000001 "$tmp/b2" >>"$tmp/want"
c -C 1000000 -T "$tmp/b2" "$url"
map_bytes c "$tmp/got"
expect_same "curl -C 1000000 -T: upload of the tail" "$tmp/got" "$tmp/want" \
    "rule: PUT with Content-Range: bytes 1000000-1499999/1500000 writes only the tail"

# -z DATE sends If-Modified-Since: DATE. A date after the last change (and
# not in the future, which a server must ignore) → 304, nothing sent.
next_second
since=$(http_date)
code=$(c -z "$since" -o "$tmp/z1" -w '%{http_code} %{size_download}' "$url")
check test "$code" = "304 0" -- "curl -z '$since' (no change since): got '$code' (status, bytes), want '304 0'; rule: If-Modified-Since not older than Last-Modified → 304 (and Last-Modified on every bytes response)"

# After a write in a later second the same -z must bring the new bytes.
next_second
random_file "$tmp/patch" 4096
write_at c 0 "$tmp/patch"
{ cat "$tmp/patch"; tail -c +4097 "$tmp/want"; } >"$tmp/want2"
rm -f "$tmp/z2"
code=$(c -z "$since" -o "$tmp/z2" -w '%{http_code}' "$url")
check test "$code" = 200 -- "curl -z '$since' after a write: status $code, want 200; rule: a write moves Last-Modified past the date"
expect_same "curl -z after a write: the new bytes" "$tmp/z2" "$tmp/want2" "rule: a write moves Last-Modified, so -z fetches it"

# The everyday form: -R keeps the server's Last-Modified as the file's time,
# -z FILE asks only for something newer than that file.
c -R -o "$tmp/mirror" "$url"
expect_same "curl -R: download" "$tmp/mirror" "$tmp/want2" "rule: GET /data answers the mapping's bytes"
mark=$(log_mark)
c -R -z "$tmp/mirror" -o "$tmp/mirror" "$url"
got=$(requests_since "$mark" GET /v1/maps/c/data | tr '\n' ' ')
check test "$got" = "304 0 " -- "curl -R -z FILE with no change: server answered '$got' (status bytes_out), want '304 0'; rule: Last-Modified on every bytes response, If-Modified-Since → 304"

finish curl
