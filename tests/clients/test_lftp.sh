#!/usr/bin/env bash
# test_lftp.sh - lftp over http://: a plain upload and download round trip,
# `get -c` (resume a download), and `put -c` (resume an upload).
#
# What lftp 4.9 sends (seen with `lftp -d`): `put` is one PUT with
# `Content-length`, no Content-Type, and `Last-Modified` and `X-OC-MTime`
# headers carrying the local file's time. `put -c` first HEADs the URL, takes
# its Content-Length as the part already uploaded and sends only the rest with
# `Range: bytes=FROM-LAST/TOTAL` (not Content-Range), so a server that ignores
# Range writes the tail at offset 0. If the size is already the file's, lftp
# sends nothing ("destination file is already complete").
# `open http://host` alone would first `HEAD /`, which is not a resource of
# the API: give the mapping's URL (`open http://host/v1/maps/NAME/`) or whole
# URLs to each command.
#
#   MMAPD_BIN=build/dev/server/mmapd tests/clients/test_lftp.sh
. "$(dirname "$0")/lib.sh"
need_clients lftp
start_mmapd

SIZE=1500000
random_file "$tmp/a" $SIZE
api 201 PUT /v1/maps/l -H 'Content-Type: application/json' -d "{\"size\": $SIZE}"
url=$base/v1/maps/l/data

# One lftp session with bounded retries and timeouts; its exit status is
# returned, but the bytes are what the tests judge.
l() {
    timeout 60 lftp -c "set net:max-retries 1; set net:timeout 10; set net:reconnect-interval-base 1;
                        set cmd:fail-exit yes; set xfer:clobber yes; $1" >>"$tmp/lftp.out" 2>&1
}

l "put $tmp/a -o $url" || true
map_bytes l "$tmp/got"
expect_same "lftp put: upload" "$tmp/got" "$tmp/a" "rule: a PUT without Content-Range replaces the bytes from offset 0"
l "get $url -o $tmp/down" || true
expect_same "lftp get: download" "$tmp/down" "$tmp/a" "rule: GET /data answers the mapping's bytes"

# The session form: `open URL/` checks the "directory" with HEAD of the URL
# as given (trailing slash included), then `get data` fetches NAME/data.
l "open $base/v1/maps/l/; get data -o $tmp/viadir" || true
expect_same "lftp open .../v1/maps/l/ then get data" "$tmp/viadir" "$tmp/a" \
    "rule: a path with a trailing slash names the same resource as without it (lftp's HEAD /v1/maps/l/)"

head -c 1000000 "$tmp/a" >"$tmp/partial"
l "get -c $url -o $tmp/partial" || true
expect_same "lftp get -c: resumed download" "$tmp/partial" "$tmp/a" \
    "rule: Range: bytes=1000000- answers 206 with the rest"

# Resume an upload: a 1,000,000-byte mapping holds the first part of a
# 1,500,000-byte file. lftp sends the last 500,000 bytes with
# Range: bytes=1000000-1499999/1500000. The API has no way to grow a mapping
# by a PUT, and Range is not Content-Range: the server must refuse
# (400 range_on_put) and write nothing - above all not at offset 0.
api 201 PUT /v1/maps/up -H 'Content-Type: application/json' -d '{"size": 1000000}'
head -c 1000000 "$tmp/a" >"$tmp/first"
write_at up 0 "$tmp/first"
mark=$(log_mark)
l "put -c $tmp/a -o $base/v1/maps/up/data" || true
map_bytes up "$tmp/got"
expect_same "lftp put -c: the mapping's bytes are untouched" "$tmp/got" "$tmp/first" \
    "rule: PUT with a Range header → 400 range_on_put, nothing written (lftp's tail must never land at offset 0)"
if cmp -s -n 500000 "$tmp/got" <(tail -c 500000 "$tmp/a"); then
    fail "lftp put -c: the mapping's first 500000 bytes are now the file's bytes 1000000-1499999 (Range ignored, written at offset 0)"
fi
got=$(requests_since "$mark" PUT /v1/maps/up/data | head -1)
check test "${got%% *}" = 400 -- "lftp put -c (PUT with Range: bytes=1000000-1499999/1500000): answered '${got%% *}', want 400; rule: PUT with a Range header → 400 range_on_put"

finish lftp
