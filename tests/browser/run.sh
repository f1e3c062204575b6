#!/usr/bin/env bash
# run.sh deps NODE_DIR        install puppeteer-core (package-lock.json) into NODE_DIR
# run.sh test NODE_DIR OUT MMAPD_BIN SCRIPT [ARGS...]
#                             run one browser test (node SCRIPT ARGS)
#
# The browser tests of ctest (label "browser"): Debian's Chromium
# (/usr/bin/chromium, or $CHROMIUM) driven by puppeteer-core, which never
# downloads a browser. `deps` runs `npm ci` only when the lock file differs
# from the one last installed in NODE_DIR (a directory of the build tree),
# so the network is needed once per lock file. A test exits 77 (skipped)
# only when Chromium or Node.js is not installed: ./dev.sh test installs
# both (README "Tests").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}

need_tools() {
    if [ ! -x "$chromium" ]; then
        echo "SKIP: no Chromium at $chromium (./dev.sh test installs Debian's chromium)" >&2
        exit 77
    fi
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "SKIP: no node/npm (./dev.sh test installs Debian's nodejs and npm)" >&2
        exit 77
    fi
}

case "${1:-}" in
deps)
    need_tools
    dir=$2
    mkdir -p "$dir"
    if cmp -s "$here/package-lock.json" "$dir/package-lock.json" &&
        [ -d "$dir/node_modules/puppeteer-core" ]; then
        exit 0
    fi
    cp "$here/package.json" "$here/package-lock.json" "$dir/"
    # puppeteer-core has no install script; the variable is belt and braces.
    (cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    ;;
test)
    need_tools
    export MMAPD_NODE_DIR=$2 MMAPD_BROWSER_OUT=$3 MMAPD_BIN=$4 CHROMIUM=$chromium
    shift 4
    mkdir -p "$MMAPD_BROWSER_OUT"
    if [ ! -d "$MMAPD_NODE_DIR/node_modules/puppeteer-core" ]; then
        echo "no puppeteer-core in $MMAPD_NODE_DIR: the browser.deps test did not run" >&2
        exit 1
    fi
    script=$1
    shift
    exec node "$here/$script" "$@"
    ;;
*)
    echo "usage: $0 deps NODE_DIR | test NODE_DIR OUT MMAPD_BIN SCRIPT [ARGS...]" >&2
    exit 2
    ;;
esac
