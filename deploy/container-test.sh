#!/usr/bin/env bash
# container-test.sh - prove the container image runs: build it, run it on a
# named volume, smoke-test the API, stop it (graceful: exit code 0), start a
# new container on the same volume and find the data still there.
#
#   deploy/container-test.sh          (or ./dev.sh container-test)
#
# Needs podman (see ../shared/container.md; ../shared/tools/container-env.sh
# prepares a machine). Without podman it prints "skipped: ..." and exits 0.
# Everything it creates is named mmapd-ctest-<pid>[-vol] and removed on exit;
# the image tag (MMAPD_IMAGE, default mmapd:container-test) is kept so a
# second run reuses the build cache.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v podman >/dev/null; then
    echo "skipped: podman is not installed (run ../shared/tools/container-env.sh)"
    exit 0
fi
# container-env.sh writes this engine config (runc, bounded rlimits); without
# it runs fail on these machines.
if [[ -z ${CONTAINERS_CONF:-} && -f /tmp/mmapd-containers.conf ]]; then
    export CONTAINERS_CONF=/tmp/mmapd-containers.conf
fi

image=${MMAPD_IMAGE:-mmapd:container-test}
name=mmapd-ctest-$$
vol=mmapd-ctest-$$-vol

tmp=$(mktemp -d)
cleanup() {
    podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
    podman volume rm -f "$vol" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    podman logs "$name" 2>&1 | tail -20 | sed 's/^/  container: /' >&2 || true
    exit 1
}

step() { echo "== $*"; }

step "build $image"
podman build -q --format docker -t "$image" -f deploy/Dockerfile . >/dev/null

# start: run a container on the volume with a host port podman picks on
# loopback (no race for a free port), then wait for /healthz (bounded).
start() {
    podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
    # --health-interval=disable: podman schedules health checks with systemd
    # timers, which fail where systemd is not running (podman still logs
    # that to stderr, kept aside); the test runs the image's HEALTHCHECK by
    # hand instead (podman healthcheck run).
    # --read-only: the root file system as Kubernetes' readOnlyRootFilesystem
    # makes it (deploy/k8s); mmapd must write only to /data.
    podman run -d --name "$name" -v "$vol:/data" -p 127.0.0.1::8080 \
        --read-only --health-interval=disable "$image" >/dev/null 2>"$tmp/run.err" \
        || { cat "$tmp/run.err" >&2; fail "podman run"; }
    port=$(podman port "$name" 8080/tcp | sed -n '/^127\.0\.0\.1:[0-9]*$/{s/^127\.0\.0\.1://p;q;}')
    [[ -n $port ]] || fail "no published port"
    base=http://127.0.0.1:$port
    for _ in $(seq 100); do
        curl -fsS -o /dev/null --max-time 1 "$base/healthz" 2>/dev/null && return 0
        [[ $(podman inspect -f '{{.State.Running}}' "$name") == true ]] || fail "container exited"
        sleep 0.2
    done
    fail "/healthz not answering after 20 s"
}

# expect STATUS METHOD PATH [curl args...]: the body goes to $tmp/body.
expect() {
    local want=$1 method=$2 path=$3 got
    shift 3
    got=$(curl -sS --max-time 10 -o "$tmp/body" -w '%{http_code}' -X "$method" "$@" "$base$path")
    [[ $got == "$want" ]] || fail "$method $path: status $got, want $want: $(head -c 300 "$tmp/body")"
}

# stop_graceful: podman stop sends the image's STOPSIGNAL (SIGTERM) to PID 1;
# a graceful shutdown is exit code 0 well within the timeout (no SIGKILL).
stop_graceful() {
    local code t0=$SECONDS
    # stderr kept aside: podman also complains there about the systemd
    # health-check timers it cannot remove where systemd is not running.
    podman stop -t 20 "$name" >/dev/null 2>"$tmp/stop.err" || { cat "$tmp/stop.err" >&2; fail "podman stop"; }
    t0=$((SECONDS - t0))
    code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
    [[ $code == 0 ]] || fail "exit code after podman stop: $code, want 0"
    # Into a file first: grep -q quitting early would SIGPIPE podman logs,
    # and pipefail would turn that into a failure.
    podman logs "$name" >"$tmp/logs" 2>&1
    grep -q 'mmapd info: signal 15 received' "$tmp/logs" || fail "no SIGTERM log line"
    grep -q 'mmapd info: stopped' "$tmp/logs" || fail "no 'stopped' log line"
    echo "   podman stop took ${t0} s; exit code 0; logged SIGTERM and 'stopped'"
}

podman volume create "$vol" >/dev/null

step "run on volume $vol"
start
echo "   listening on $base"
[[ $(podman exec "$name" cat /proc/1/comm) == mmapd ]] || fail "PID 1 is not mmapd"
[[ $(podman exec "$name" id -u) == 10001 ]] || fail "not running as uid 10001"
podman healthcheck run "$name" >/dev/null || fail "HEALTHCHECK reports unhealthy"
echo "   PID 1 is mmapd, uid 10001, HEALTHCHECK healthy"

step "smoke: create, write, ranged read"
expect 201 PUT /v1/maps/smoke -H 'Content-Type: application/json' -d '{"size": 65536}'
expect 204 PUT /v1/maps/smoke/data -H 'Content-Range: bytes 1000-1010/*' --data-binary 'hello world'
expect 206 GET /v1/maps/smoke/data -H 'Range: bytes=1006-1010'
[[ $(cat "$tmp/body") == world ]] || fail "ranged read gave '$(cat "$tmp/body")'"
expect 200 GET /readyz
echo "   201, 204, 206 'world'"

step "podman stop"
stop_graceful

step "new container on the same volume"
start
expect 200 GET /v1/maps/smoke
expect 206 GET /v1/maps/smoke/data -H 'Range: bytes=1000-1004'
[[ $(cat "$tmp/body") == hello ]] || fail "data after restart: '$(cat "$tmp/body")'"
echo "   mapping and bytes survived"
stop_graceful

echo "container-test: passed"
