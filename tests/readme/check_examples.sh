#!/usr/bin/env bash
# check_examples.sh README MMAPD_BIN
#
# Proves that the README's curl examples work exactly as printed. It starts the
# real mmapd on a free loopback port with an empty data directory, takes every
# ```console block between "<!-- examples:begin -->" and "<!-- examples:end -->",
# runs each "$ command" line in order (with localhost:8080 pointed at the test
# server, in a scratch directory), and compares what the command prints with
# the lines printed under it in the README. Values that differ on every run
# (ETags, timestamps, multipart boundaries, Date headers) are masked on both
# sides before comparing; everything else must match to the byte.
set -euo pipefail
readme=$1
bin=$2
work=$(mktemp -d /tmp/mmapd-readme.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/out"
"$bin" --listen 127.0.0.1:0 --data-dir "$work/data" --access-log off >"$work/out" 2>"$work/err" &
pid=$!
exec 3<"$work/out"
line=
read -r -t 10 line <&3 || { echo "mmapd did not start:"; cat "$work/err"; exit 1; }
port=${line##*:}
case "$line" in "mmapd listening on http://127.0.0.1:"*) ;; *) echo "unexpected: $line"; exit 1 ;; esac

mask() {
    sed -E -e 's/[0-9a-f]{8}-[0-9a-f]+-[0-9a-f]+/ETAG/g' \
           -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z/TIME/g' \
           -e 's/boundary=[A-Za-z0-9]+/boundary=B/g; s/^--[A-Za-z0-9]{8,}(--)?/--B\1/' \
           -e '/^[Dd]ate: /d' -e 's/\r$//'
}

# Pull out the example blocks: "$ cmd" lines and the expected output after each.
awk '
    /<!-- examples:begin -->/ { on = 1; next }
    /<!-- examples:end -->/   { on = 0; next }
    on && /^```console/       { inblock = 1; next }
    on && inblock && /^```/   { inblock = 0; next }
    on && inblock             { print }
' "$readme" >"$work/examples"
[ -s "$work/examples" ] || { echo "no examples found in $readme"; exit 1; }

cd "$work"
n=0
fail=0
flush_case() {
    [ -n "${cmd:-}" ] || return 0
    n=$((n + 1))
    local run=${cmd//localhost:8080/127.0.0.1:$port}
    bash -c "$run" >"$work/actual" 2>"$work/stderr" || true
    printf '%s' "$expected" | mask | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$work/want"
    mask <"$work/actual" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$work/got"
    if ! diff -u "$work/want" "$work/got" >"$work/diff"; then
        echo "FAILED example $n: \$ $cmd"
        cat "$work/diff" "$work/stderr"
        fail=$((fail + 1))
    fi
}
cmd=
expected=
while IFS= read -r l; do
    if [[ $l == '$ '* ]]; then
        flush_case
        cmd=${l#\$ }
        expected=
    else
        expected+="$l"$'\n'
    fi
done <"$work/examples"
flush_case
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
