#!/usr/bin/env bash
# run_fuzzers.sh - build the libFuzzer targets (clang) and run each one for a
# fixed time over a scratch copy of its seed corpus, so CI fuzzes every
# parser on every run without ever writing into tests/corpus/.
#
#   tests/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET]     (default 15)
#
# Builds the fuzz targets of the `fuzz` CMake preset (build/fuzz), or of the
# directory named by FUZZ_BUILD_DIR with the same settings: one target per
# directory tests/corpus/fuzz_*/ (the seeds), each then run in turn. A crash,
# leak, sanitizer report or timeout fails the script; the input that caused
# it is kept under the printed directory: copy it into tests/corpus/<target>/
# once fixed, so the replay test keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-15}
case "$secs" in ''|*[!0-9]*) echo "run_fuzzers.sh: seconds must be a number" >&2; exit 2 ;; esac

# Only the fuzz targets are built: one per seed corpus directory. (A target
# without a corpus fails the replay test of the ordinary builds.)
targets=()
for d in tests/corpus/fuzz_*/; do
    targets+=("$(basename "$d")")
done
jobs=$(nproc 2>/dev/null || echo 2)
if [ -n "${FUZZ_BUILD_DIR:-}" ]; then
    build=$FUZZ_BUILD_DIR
    cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DBUILD_TESTING=ON -DMMAPD_FUZZ=ON -DMMAPD_SANITIZE=address,undefined >/dev/null
    cmake --build "$build" -j "$jobs" --target "${targets[@]}"
else
    build=build/fuzz
    cmake --preset fuzz >/dev/null
    cmake --build --preset fuzz -j "$jobs" --target "${targets[@]}"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mmapd-fuzz-XXXXXX")
status=0
ran=0
for bin in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    t=$(basename "$bin")
    seeds=tests/corpus/$t
    if [ ! -d "$seeds" ]; then
        echo "run_fuzzers.sh: $t has no seed corpus in $seeds" >&2
        status=1
        continue
    fi
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
    cp -R "$seeds"/. "$work/$t/corpus/"
    echo "== $t: ${secs}s over $(ls "$seeds" | wc -l) seeds"
    # -timeout: one input taking longer than 10 s is a hang; -rss_limit_mb
    # keeps a memory blow-up a failure instead of an OOM kill of the runner.
    if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/$t/artifacts/" \
        "$work/$t/corpus" >"$work/$t/log" 2>&1; then
        echo "run_fuzzers.sh: $t FAILED; log and crashing input in $work/$t" >&2
        tail -n 40 "$work/$t/log" >&2
        status=1
        continue
    fi
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$work/$t/log" || true
    ran=$((ran + 1))
done
if [ "$ran" -eq 0 ] && [ "$status" -eq 0 ]; then
    echo "run_fuzzers.sh: no fuzz target was built in $build/tests/fuzz" >&2
    status=1
fi
if [ "$status" -eq 0 ]; then
    rm -rf "$work"
    echo "run_fuzzers.sh: $ran targets fuzzed for ${secs}s each, no failure"
fi
exit "$status"
