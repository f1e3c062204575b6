#!/usr/bin/env bash
# test_rclone.sh - rclone's http backend (read-only, configured on the
# command line): copy a mapping's bytes, change them through the API, copy
# again: the change must arrive.
#
# The form that works for a user: the mapping's URL with a trailing slash as
# the remote's root, and `data` as the file in it:
#
#   rclone copy --http-url http://HOST:PORT/v1/maps/NAME/ :http:data DEST
#
# rclone then HEADs .../NAME/data, sees a file, and copies it (HEAD, GET):
# it never lists the "directory". Other forms fail for reasons of rclone's:
# `--http-url .../NAME/data :http:` treats the URL as a directory and GETs
# `.../NAME/data/`; and `rclone lsl`, `cat` or `size` on any form list the
# root with `GET /v1/maps/NAME/`, whose answer rclone parses only when it is
# text/html (an HTML page of links), so the mapping's JSON is no listing.
# rclone decides whether to copy by size and modification time, the time
# taken from Last-Modified (without one, every file dates from 1970 and a
# write, which never changes the size, looks like no change at all).
#
#   MMAPD_BIN=build/dev/server/mmapd tests/clients/test_rclone.sh
. "$(dirname "$0")/lib.sh"
need_clients rclone
start_mmapd

SIZE=1500000
random_map r $SIZE "$tmp/a"

r() {
    timeout 60 rclone --config /dev/null --retries 1 --low-level-retries 1 \
        --contimeout 5s --timeout 10s "$@" >>"$tmp/rclone.out" 2>&1
}
copy() {
    r copy --http-url "$base/v1/maps/r/" :http:data "$tmp/dst"
}

copy || fail "rclone copy failed: $(tail -3 "$tmp/rclone.out")"
expect_same "rclone copy: first copy" "$tmp/dst/data" "$tmp/a" "rule: HEAD and GET /data answer the mapping"

# Change 4 KiB in a later second than the copy's time, then copy again.
next_second
random_file "$tmp/patch" 4096
write_at r 0 "$tmp/patch"
{ cat "$tmp/patch"; tail -c +4097 "$tmp/a"; } >"$tmp/want"
copy || fail "rclone copy failed: $(tail -3 "$tmp/rclone.out")"
expect_same "rclone copy after a write: the change arrived" "$tmp/dst/data" "$tmp/want" \
    "rule: Last-Modified on HEAD and GET of /data, moved by every write (rclone takes the time from HEAD and compares size and time; a write keeps the size)"

# The request rclone's listing commands send first: the trailing slash must
# name the mapping, not 404 (rclone reports a 404 as "directory not found").
code=$(timeout 30 curl -q -sS --max-time 20 -o /dev/null -w '%{http_code}' "$base/v1/maps/r/")
check test "$code" = 200 -- "GET /v1/maps/r/ (sent by rclone lsl/cat/size): status $code, want 200; rule: a path with a trailing slash names the same resource as without it"

finish rclone
