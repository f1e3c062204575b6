#!/usr/bin/env bash
# check_examples.sh [--update] README MMAPD_BIN
#
# Proves that the README's curl examples work exactly as printed. It starts the
# real mmapd on a free loopback port with an empty data directory, takes every
# ```console block between "<!-- examples:begin -->" and "<!-- examples:end -->",
# runs each "$ command" line in order (with localhost:8080 pointed at the test
# server, in a scratch directory), and compares what the command prints with
# the lines printed under it in the README. Values that differ on every run
# (ETags, timestamps, HTTP-dates, multipart boundaries, Date headers) are masked on both
# sides before comparing; everything else must match to the byte.
#
# With --update it rewrites the printed outputs in README from what the
# commands print now (for a maintainer after a deliberate change; review the
# diff). The test itself never runs in that mode.
set -euo pipefail
update=0
if [ "${1:-}" = "--update" ]; then
    update=1
    shift
fi
readme=$(realpath "$1")
bin=$(realpath "$2")
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
# --threads and --max-memory (whose default follows the machine's memory)
# are pinned so that /v1/info prints the same on every machine. The CORS
# origin is the one the README's "Try it" starts the server with.
"$bin" --listen 127.0.0.1:0 --data-dir "$work/data" --threads 2 --max-memory 4GiB --access-log off --cors-origin https://app.example >"$work/out" 2>"$work/err" &
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
           -e 's/[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT/HTTPDATE/g' \
           -e '/^[Dd]ate: /d' -e 's/\r$//'
}

# The README cannot show whether output ended with a newline (a mapped range
# usually does not), so both sides end in exactly one.
trim() {
    local text
    text=$(cat)
    printf '%s\n' "$text"
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
    cp "$work/actual" "$work/out.$n"
    printf '%s' "$expected" | mask | trim >"$work/want"
    mask <"$work/actual" | trim >"$work/got"
    if [ "$update" -eq 0 ] && ! diff -u "$work/want" "$work/got" >"$work/diff"; then
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

if [ "$update" -eq 1 ]; then
    # Reprint the README with each command followed by its fresh output.
    i=0 on=0 inblock=0 skipping=0
    while IFS= read -r l; do
        case "$l" in
        *'<!-- examples:begin -->'*) on=1 ;;
        *'<!-- examples:end -->'*) on=0 ;;
        esac
        if [ $on -eq 1 ] && [[ $l == '```console'* ]]; then inblock=1; skipping=0
        elif [ $on -eq 1 ] && [ $inblock -eq 1 ] && [[ $l == '```'* ]]; then inblock=0; skipping=0
        elif [ $inblock -eq 1 ] && [[ $l == '$ '* ]]; then
            i=$((i + 1))
            printf '%s\n' "$l"
            sed -e 's/\r$//' "$work/out.$i"
            [ -n "$(tail -c1 "$work/out.$i")" ] && echo
            skipping=1
            continue
        elif [ $skipping -eq 1 ]; then continue
        fi
        printf '%s\n' "$l"
    done <"$readme" >"$work/README.new"
    cp "$work/README.new" "$readme"
    echo "updated $i examples in $readme"
    exit 0
fi
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
