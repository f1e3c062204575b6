#!/usr/bin/env bash
# dev.sh - the README's commands: install what is missing, build, then run or test.
#
#   ./dev.sh run          build and start mmapd on 127.0.0.1:8080 serving ./data
#   ./dev.sh test         build and run the whole test suite (ctest)
#   ./dev.sh test-asan    the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   ./dev.sh test-tsan    the unit tests (the concurrent core included) under ThreadSanitizer
#   ./dev.sh deps         only install the Debian packages that are missing
#
# Every command first installs the missing Debian 12 packages (apt-get, as root
# or through sudo), so each works on a bare machine. Extra arguments of `run`
# go to mmapd (for example: ./dev.sh run --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")"

# What building, testing and the README's curl examples need.
PACKAGES=(gcc libc6-dev make cmake pkg-config libmicrohttpd-dev libjansson-dev
          libcurl4-openssl-dev curl ca-certificates)

install_missing() {
    local missing=() p
    for p in "${PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "dev.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    echo "dev.sh: installing ${missing[*]}" >&2
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 \
        install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

jobs() { nproc 2>/dev/null || echo 2; }

build() { # build PRESET
    cmake --preset "$1" >/dev/null
    cmake --build --preset "$1" -j "$(jobs)"
}

suite() { # suite PRESET [ctest args...]
    local preset=$1
    shift
    build "$preset"
    ctest --preset "$preset" -j "$(jobs)" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    deps) install_missing ;;
    run)
        install_missing
        build release
        exec ./build/release/server/mmapd "$@"
        ;;
    test) install_missing; suite dev ;;
    test-asan) install_missing; suite asan ;;
    test-tsan) install_missing; suite tsan -L unit ;;
    *)
        sed -n '2,12s/^# \{0,1\}//p' "$0" >&2
        exit 2
        ;;
esac
