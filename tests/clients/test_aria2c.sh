#!/usr/bin/env bash
# test_aria2c.sh - aria2: a segmented download over 4 connections
# (`-x4 -s4`), and the resume of one that was interrupted (its .aria2 control
# file remembers which pieces arrived; the rest are fetched as ranges).
#
#   MMAPD_BIN=build/dev/server/mmapd tests/clients/test_aria2c.sh
. "$(dirname "$0")/lib.sh"
need_clients aria2c
start_mmapd

SIZE=$((4 << 20))
random_map s $SIZE "$tmp/a"

# -k1M: pieces of 1 MiB (the default minimum split is 20 MiB, so a 4 MiB file
# would come over one connection). No config file, no DNS cache surprises.
a() {
    timeout "$1" aria2c --no-conf -q -x4 -s4 -k1M --connect-timeout=5 --timeout=10 \
        --max-tries=1 --allow-overwrite=true --auto-file-renaming=false \
        -d "$tmp" "${@:2}" "$url"
}

mark=$(log_mark)
a 30 -o whole
expect_same "aria2c -x4 -s4: segmented download" "$tmp/whole" "$tmp/a" \
    "rule: ranged GETs answer 206 with exactly the bytes asked for"
n=$(requests_since "$mark" GET /v1/maps/s/data | grep -c '^206 ' || true)
check test "$n" -ge 2 -- "aria2c used ranged requests ($n answered 206)"

# Interrupt a throttled download after 2 s (SIGINT: aria2c saves its control
# file), then resume it at full speed.
timeout -s INT 2 aria2c --no-conf -q -x4 -s4 -k1M --max-overall-download-limit=256K \
    --allow-overwrite=true --auto-file-renaming=false -d "$tmp" -o resumed "$url" || true
check test -f "$tmp/resumed.aria2" -- "aria2c left a control file to resume from"
a 30 -c -o resumed
expect_same "aria2c -c: resumed segmented download" "$tmp/resumed" "$tmp/a" \
    "rule: ranged GETs answer 206 with exactly the bytes asked for"
check test ! -e "$tmp/resumed.aria2" -- "aria2c -c completed (its control file is gone)"
# How many bytes the resume fetched is aria2c's business, not a rule: it
# opens with a plain GET that it drops once it knows the size, and near the
# end may fetch one piece over two connections; so it is not asserted.

finish aria2c
