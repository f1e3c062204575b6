#!/usr/bin/env bash
# test_scaleout.sh - two mmapd instances behind nginx with
# deploy/nginx/mmapd-shard.conf: mappings created through the proxy land on
# both instances, each name on exactly one, and ranged PUT/GET through the
# proxy reach the instance that holds the name.
#
#   MMAPD_BIN=build/dev/server/mmapd tests/integration/test_scaleout.sh deploy/nginx/mmapd-shard.conf
#
# Exit 77 (ctest: skipped) with a "skipped:" line when nginx is not installed
# (./dev.sh deps installs it). Loopback only; everything it starts is stopped
# by PID, and its temporary directory removed, however it ends.
set -euo pipefail

conf_src=${1:?usage: $0 path/to/mmapd-shard.conf}
bin=${MMAPD_BIN:?MMAPD_BIN must name the mmapd executable}
nginx=$(command -v nginx || true)
[[ -z $nginx && -x /usr/sbin/nginx ]] && nginx=/usr/sbin/nginx
if [[ -z $nginx ]]; then
    echo "skipped: nginx is not installed (apt-get install nginx-light)"
    exit 77
fi

N=40 # mappings; with two shards the chance that all hash to one is ~2^-39

tmp=$(mktemp -d /tmp/mmapd-scaleout.XXXXXX)
pids=()
cleanup() {
    local p
    # SIGTERM first: nginx's master then stops its workers, which a SIGKILL
    # of the master would leave running, holding the port. SIGKILL whatever
    # is left after 5 s.
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for _ in $(seq 50); do
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && break; p=; done
        [[ -z ${p:-} ]] && break
        sleep 0.1
    done
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$tmp"/*.err "$tmp"/error.log; do
        [[ -f $f ]] && tail -5 "$f" | sed "s|^|  $(basename "$f"): |" >&2
    done
    exit 1
}

# start_mmapd NAME: start an instance on a free port (port 0) and wait for
# its "listening" line; sets port_NAME and pid_NAME.
start_mmapd() {
    local n=$1 line=
    mkdir "$tmp/data-$n"
    "$bin" --listen 127.0.0.1:0 --data-dir "$tmp/data-$n" --access-log off \
        >"$tmp/$n.out" 2>"$tmp/$n.err" &
    pids+=($!)
    printf -v "pid_$n" %s $!
    for _ in $(seq 100); do
        line=$(head -1 "$tmp/$n.out")
        [[ -n $line ]] && break # printed with one write, so never partial
        sleep 0.1
    done
    [[ $line =~ ^mmapd\ listening\ on\ http://127\.0\.0\.1:([0-9]+)$ ]] \
        || fail "instance $n did not start: '$line'"
    printf -v "port_$n" %s "${BASH_REMATCH[1]}"
}

# stop PID: SIGTERM, wait at most 15 s, return its exit status.
stop() {
    local pid=$1 rc=0
    kill -TERM "$pid"
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "PID $pid still running 15 s after SIGTERM"
    wait "$pid" || rc=$?
    return "$rc"
}

start_mmapd a
start_mmapd b
echo "instances on ports $port_a and $port_b"

# nginx cannot listen on port 0 and report the port, so try random high ports
# until one binds (bounded). The shipped conf is used as is, except for the
# addresses, which sed points at this test's ports.
nginx_started=false
for _ in 1 2 3 4 5; do
    port_p=$((20000 + RANDOM % 40000))
    sed -e "s/127\.0\.0\.1:8081/127.0.0.1:$port_a/" \
        -e "s/127\.0\.0\.1:8082/127.0.0.1:$port_b/" \
        -e "s/listen 127\.0\.0\.1:8080/listen 127.0.0.1:$port_p/" \
        "$conf_src" >"$tmp/shard.conf"
    grep -q "127.0.0.1:$port_a " "$tmp/shard.conf" && grep -q "listen 127.0.0.1:$port_p;" "$tmp/shard.conf" \
        || fail "the shard conf no longer has the addresses this test rewrites"
    cat >"$tmp/nginx.conf" <<CONF
# Foreground (daemon off) so that \$! is the master's PID.
daemon off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $tmp/client_body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    include $tmp/shard.conf;
}
CONF
    chmod 0755 "$tmp" # nginx workers may run as nobody
    "$nginx" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" 2>"$tmp/nginx.err" &
    pid_p=$!
    pids+=("$pid_p")
    for _ in $(seq 50); do
        if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port_p/healthz" 2>/dev/null; then
            nginx_started=true
            break
        fi
        kill -0 "$pid_p" 2>/dev/null || break # bind failed: try another port
        sleep 0.1
    done
    $nginx_started && break
    kill -TERM "$pid_p" 2>/dev/null || true
done
$nginx_started || fail "nginx did not start"
echo "nginx on port $port_p"
proxy=http://127.0.0.1:$port_p

# req WANT METHOD URL [curl args...]: one request, body into $tmp/body,
# headers into $tmp/headers; fail unless the status is WANT.
req() {
    local want=$1 method=$2 url=$3 got
    shift 3
    got=$(curl -sS --max-time 20 -D "$tmp/headers" -o "$tmp/body" -w '%{http_code}' \
        -X "$method" "$@" "$url")
    [[ $got == "$want" ]] || fail "$method $url: status $got, want $want: $(head -c 300 "$tmp/body")"
}

names() { # the shard-* names listed by GET URL/v1/maps, one a line, sorted
    req 200 GET "$1/v1/maps"
    { grep -o '"name": *"shard-[0-9]*"' "$tmp/body" || true; } | sed 's/.*"\(shard-[0-9]*\)"/\1/' | sort
}

for i in $(seq $N); do
    req 201 PUT "$proxy/v1/maps/shard-$i" -H 'Content-Type: application/json' -d '{"size": 65536}'
    grep -qi "^Location: /v1/maps/shard-$i"$'\r'"\$" "$tmp/headers" || fail "Location of shard-$i: $(grep -i ^location "$tmp/headers")"
done
names "http://127.0.0.1:$port_a" >"$tmp/on-a"
names "http://127.0.0.1:$port_b" >"$tmp/on-b"
na=$(wc -l <"$tmp/on-a")
nb=$(wc -l <"$tmp/on-b")
echo "$N mappings created through the proxy: $na on instance a, $nb on instance b"
((na > 0 && nb > 0)) || fail "all mappings landed on one instance"
((na + nb == N)) || fail "$na + $nb mappings listed, want $N"
[[ -z $(comm -12 "$tmp/on-a" "$tmp/on-b") ]] || fail "a name exists on both instances"

# Ranged writes and reads through the proxy; each must hit the owner, which
# we check by reading the bytes back from the owning instance directly.
for i in $(seq $N); do
    payload="payload-$i"
    last=$((1000 + ${#payload} - 1))
    req 204 PUT "$proxy/v1/maps/shard-$i/data" -H "Content-Range: bytes 1000-$last/*" --data-binary "$payload"
    req 206 GET "$proxy/v1/maps/shard-$i/data" -H "Range: bytes=1000-$last"
    [[ $(cat "$tmp/body") == "$payload" ]] || fail "shard-$i through the proxy: '$(cat "$tmp/body")'"
    if grep -qx "shard-$i" "$tmp/on-a"; then owner=$port_a; else owner=$port_b; fi
    req 206 GET "http://127.0.0.1:$owner/v1/maps/shard-$i/data" -H "Range: bytes=1000-$last"
    [[ $(cat "$tmp/body") == "$payload" ]] || fail "shard-$i on its instance: '$(cat "$tmp/body")'"
done
echo "ranged PUT/GET through the proxy: $N mappings ok"

# A body larger than nginx's default client_max_body_size (1 MiB), streamed
# through (proxy_request_buffering off), then a ranged read of its tail.
head -c $((3 << 20)) /dev/urandom >"$tmp/big"
req 201 PUT "$proxy/v1/maps/shard-big" -H 'Content-Type: application/json' -d '{"size": 4194304}'
req 204 PUT "$proxy/v1/maps/shard-big/data" -H "Content-Range: bytes 0-$(((3 << 20) - 1))/*" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$tmp/big"
req 206 GET "$proxy/v1/maps/shard-big/data" -H "Range: bytes=$(((3 << 20) - 4096))-$(((3 << 20) - 1))"
tail -c 4096 "$tmp/big" | cmp -s - "$tmp/body" || fail "3 MiB write: tail differs"
echo "3 MiB PUT through the proxy ok"

# The documented limit: GET /v1/maps through the proxy reaches one shard only.
names "$proxy" >"$tmp/via-proxy"
np=$(wc -l <"$tmp/via-proxy")
echo "GET /v1/maps through the proxy lists $np of $((N + 1)) (one shard)"
((np < N + 1)) || fail "expected the proxy's list to be one shard's"

stop "$pid_p" || true # nginx's exit status on SIGTERM is not what we test
stop "$pid_a" || fail "instance a exited with status $?"
stop "$pid_b" || fail "instance b exited with status $?"
pids=()
echo "scaleout: passed"
