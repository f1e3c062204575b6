#!/usr/bin/env bash
# snapshot.sh [MMAPD_BIN] - what writers wait for during a snapshot of a
# 1 GiB fully written mapping (POST .../snapshot), on each copy path:
#   copy_file_range  a file mapping on this machine's file system (ext4 here)
#   copy             a memory mapping (through memory, from its memfd)
#   reflink          a file mapping on a loop-mounted XFS image with reflink
#                    (needs root, mkfs.xfs and loop devices; skipped otherwise)
# For each it prints the server's writers_held_us, the wall time of the
# snapshot request, and the latency of one 4 KiB PUT to the source sent
# 50 ms after the snapshot began (it waits for the copy).
set -euo pipefail
bin=$(realpath "${1:-build/release/server/mmapd}")
work=$(mktemp -d /tmp/mmapd-snapbench.XXXXXX)
pid=
mnt=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    [ -n "$mnt" ] && umount "$mnt" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

start() { # start DATA_DIR
    mkfifo "$work/out.$$" 2>/dev/null || true
    "$bin" --listen 127.0.0.1:0 --data-dir "$1" --access-log off --max-memory 4GiB >"$work/out.$$" 2>/dev/null &
    pid=$!
    exec 3<"$work/out.$$"
    read -r -t 20 line <&3
    port=${line##*:}
    base=http://127.0.0.1:$port
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; exec 3<&-; rm -f "$work/out.$$"; }

{ yes mmapd-snapshot-bench || true; } | head -c 1073741824 >"$work/fill"
head -c 4096 /dev/urandom >"$work/page"

measure() { # measure LABEL SPEC
    curl -s -X PUT "$base/v1/maps/src" -d "$2" -o /dev/null
    curl -s -T "$work/fill" "$base/v1/maps/src/data" -o /dev/null
    curl -s -X POST "$base/v1/maps/src/flush" -o /dev/null || true
    sync
    curl -s -o "$work/snap.json" -w '%{time_total}\n' -X POST "$base/v1/maps/src/snapshot" \
        -d '{"as": "snap"}' >"$work/snap.time" &
    local spid=$!
    sleep 0.05
    local put
    put=$(curl -s -o /dev/null -w '%{time_total}' -X PUT "$base/v1/maps/src/data?offset=4096" \
        --data-binary @"$work/page")
    wait $spid
    local held copy
    held=$(grep -o '"writers_held_us":[0-9]*' "$work/snap.json" | cut -d: -f2)
    copy=$(grep -o '"copy":"[a-z_]*"' "$work/snap.json" | cut -d'"' -f4)
    printf '%-16s copy=%-16s writers_held=%8.1f ms  snapshot request=%6.3f s  PUT during it=%6.3f s\n' \
        "$1" "$copy" "$(echo "$held / 1000" | bc -l)" "$(cat "$work/snap.time")" "$put"
    curl -s -X DELETE "$base/v1/maps/snap?unlink=true" -o /dev/null
    curl -s -X DELETE "$base/v1/maps/src?unlink=true" -o /dev/null
}

start "$work/data"
measure "file (local fs)" '{"size": 1073741824}'
measure "memory" '{"size": 1073741824, "backing": "memory"}'
stop

if [ "$(id -u)" -eq 0 ] && command -v mkfs.xfs >/dev/null; then
    truncate -s 3G "$work/xfs.img"
    mkfs.xfs -q -f -m reflink=1 "$work/xfs.img"
    mkdir "$work/xfs"
    if mount -o loop "$work/xfs.img" "$work/xfs"; then
        mnt=$work/xfs
        start "$work/xfs/data"
        measure "file (XFS)" '{"size": 1073741824}'
        stop
    fi
else
    echo "reflink: skipped (needs root and mkfs.xfs)"
fi
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
