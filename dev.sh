#!/usr/bin/env bash
# dev.sh - the README's commands: install what is missing, build, then run or test.
#
#   ./dev.sh run          build and start mmapd on 127.0.0.1:8080 serving ./data
#   ./dev.sh test         build and run the whole test suite (ctest)
#   ./dev.sh test-asan    the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   ./dev.sh test-tsan    the unit tests (the concurrent core included) under ThreadSanitizer
#   ./dev.sh fuzz [SECS]  build the libFuzzer targets (clang) and fuzz each for SECS (15) seconds
#   ./dev.sh container-test  build the container image and prove it runs (podman; minutes)
#   ./dev.sh deps         only install the Debian packages that are missing
#
# Every command first installs the missing Debian 12 packages (apt-get, as root
# or through sudo), so each works on a bare machine. Extra arguments of `run`
# go to mmapd (for example: ./dev.sh run --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")"

# What building, testing and the README's curl examples need (openssl makes
# the throwaway certificate of tests/integration/test_tls.c).
PACKAGES=(gcc libc6-dev make cmake pkg-config libmicrohttpd-dev libjansson-dev
          libsqlite3-dev nettle-dev libmimalloc-dev
          libcurl4-openssl-dev curl ca-certificates openssl
          nginx-light yamllint python3-yaml
          wget aria2 lftp rclone qemu-utils qemu-block-extra xfsprogs)
# nettle-dev: SHA-2 for the Content-Digest of api/src/digest.c.
# libmimalloc-dev: the server's allocator (server/CMakeLists.txt).
# nginx-light: the proxy of the scale-out test (tests/integration/test_scaleout.sh);
# yamllint, python3-yaml: deploy/check.sh. Without them those tests skip.
# wget ... qemu-block-extra: the real clients of tests/clients (ctest -L
# clients); qemu-block-extra holds qemu-img's http:// (curl) block driver.
# xfsprogs: mkfs.xfs for the reflink case of tests/integration/test_snapshot.c
# (an XFS image on a loop device; it skips without root or mkfs.xfs).
# systemd-analyze (package systemd, heavy) is not installed: its check skips.
# chromium, nodejs, npm: the browser tests (tests/browser, ctest -L browser;
# puppeteer-core from tests/browser/package-lock.json drives Debian's
# Chromium and never downloads one). npm is only asked for when the command
# is missing: NodeSource's nodejs bundles it and conflicts with Debian's.
PACKAGES+=(chromium nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)

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
    fuzz)
        # clang and its runtimes (libFuzzer, the sanitizers) only for this.
        install_missing clang libclang-rt-14-dev
        exec tests/fuzz/run_fuzzers.sh "$@"
        ;;
    container-test)
        # Not part of `test` nor of CI: the image build takes minutes. The
        # shared script installs podman and makes the local base image, and
        # prints the engine config to use (runc, bounded rlimits).
        env_sh=../shared/tools/container-env.sh
        if [ -f "$env_sh" ]; then
            line=$(bash "$env_sh" | tail -n 1)
            case $line in "export CONTAINERS_CONF="*) export "${line#export }" ;; esac
        else
            echo "dev.sh: $env_sh not found; using podman as it is" >&2
        fi
        exec deploy/container-test.sh "$@"
        ;;
    *)
        sed -n '2,14s/^# \{0,1\}//p' "$0" >&2
        exit 2
        ;;
esac
