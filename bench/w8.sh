#!/usr/bin/env bash
# w8.sh - W8, the catalog at scale: create rate at N file-backed mappings,
# then restart-to-ready time and RSS (tools/w8.py does one N).
#
#   ./w8.sh                         W8_COUNTS="1000 100000" (1,000,000: W8_COUNTS=1000000)
#   MMAPD_BIN=... BUILD=0 ./w8.sh   another binary, no build
#
# Knobs: W8_COUNTS ["1000 100000"]  W8_SIZE [65536] bytes per mapping (sparse,
# so N x SIZE need not fit the disk)  W8_PORT [18096]  W8_DIR [/var/tmp/mmapd-w8]
# (emptied before each N and removed after)  OUT [results/<UTC time>]
# Prints one JSON line per N and appends it to OUT/w8.jsonl. The server runs
# on 127.0.0.1 and is stopped by its PID.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
W8_COUNTS="${W8_COUNTS:-1000 100000}"
W8_SIZE="${W8_SIZE:-65536}"
W8_PORT="${W8_PORT:-18096}"
export W8_DIR="${W8_DIR:-/var/tmp/mmapd-w8}"
OUT="${OUT:-$BENCH_DIR/results/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
if [[ "${BUILD:-1}" == 1 && -z "${MMAPD_BIN:-}" ]]; then
  (cd "$REPO" && cmake --preset release >/dev/null && cmake --build --preset release --target mmapd >/dev/null)
fi
export MMAPD_BIN="${MMAPD_BIN:-$REPO/build/release/server/mmapd}"
for n in $W8_COUNTS; do
  python3 "$BENCH_DIR/tools/w8.py" "$n" "$W8_SIZE" "$W8_PORT" | tee -a "$OUT/w8.jsonl"
done
