#!/usr/bin/env bash
# test_qemu_img.sh - qemu-img reads a raw disk image served by mmapd through
# qemu's curl block driver (Debian: package qemu-block-extra): `info`,
# `convert` to a local file, and `compare` with the original.
#
# The driver HEADs the URL for the size (Content-Length, and it requires
# `Accept-Ranges: bytes`), then reads with `Range` GETs. The image is a
# multiple of 512 bytes because qemu rounds a raw image's size up to whole
# sectors (a 1,500,000-byte mapping shows as 1,500,160 bytes, zero-padded).
#
#   MMAPD_BIN=build/dev/server/mmapd tests/clients/test_qemu_img.sh
. "$(dirname "$0")/lib.sh"
need_clients qemu-img
start_mmapd

SIZE=$((2 << 20))
random_map disk $SIZE "$tmp/disk.raw"
# The json: form sets the driver's own timeout (seconds per request).
img="json:{\"file.driver\":\"http\",\"file.url\":\"$url\",\"file.timeout\":10}"

q() { timeout 60 qemu-img "$@" 2>>"$tmp/qemu.err"; }

if ! q info -f raw "$img" >"$tmp/info" && grep -q "block-curl not found" "$tmp/qemu.err"; then
    echo "skipped: qemu's curl block driver is not installed (apt-get install qemu-block-extra)"
    exit 77
fi
check grep -q "^virtual size: .*($SIZE bytes)" "$tmp/info" -- "qemu-img info over http://: size $SIZE ($(grep -s '^virtual size' "$tmp/info" || tail -1 "$tmp/qemu.err"))"

q convert -f raw -O raw "$img" "$tmp/copy.raw" || fail "qemu-img convert failed: $(tail -1 "$tmp/qemu.err")"
expect_same "qemu-img convert from http://" "$tmp/copy.raw" "$tmp/disk.raw" \
    "rule: ranged GETs answer 206 with exactly the bytes asked for"

# compare exits 0 when identical, 1 when different.
check q compare -q -f raw -F raw "$img" "$tmp/disk.raw" -- "qemu-img compare: the served image equals the original"

# A write through the API is what the next read sees (no stale reads).
random_file "$tmp/sector" 512
write_at disk 4096 "$tmp/sector"
{ head -c 4096 "$tmp/disk.raw"; cat "$tmp/sector"; tail -c +4609 "$tmp/disk.raw"; } >"$tmp/want.raw"
rm -f "$tmp/copy.raw"
q convert -f raw -O raw "$img" "$tmp/copy.raw" || fail "qemu-img convert failed: $(tail -1 "$tmp/qemu.err")"
expect_same "qemu-img convert after a write" "$tmp/copy.raw" "$tmp/want.raw" \
    "rule: a read after a write sees the write"

finish qemu-img
