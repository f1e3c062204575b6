#!/usr/bin/env python3
"""w8_pair.py - W8's create-rate goal measured in pairs (see bench/RESULTS.md, W8).

On a shared machine the load moves 2-4x within minutes, so the first and
last 10 % of a long W8 run compare two different machines. This measures K
creates through the API on an empty data directory and K creates on one
that already holds N mappings (made by tests/tools/mc_fill, then the server
started on it and given WALK_S seconds for its start-up walk), alternating
ROUNDS times, and prints one JSON line: mean ms/create of each side per
round and the ratio of their medians.

  w8_pair.py MC_FILL N [K] [ROUNDS] [PORT]   (environment: MMAPD_BIN, W8_DIR, WALK_S [90])
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from w8 import start, stop, wait_ready  # noqa: E402
import http.client  # noqa: E402


def creates(port, first, k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"size": 65536, "allocation": "sparse"})
    t = 0.0
    for i in range(first, first + k):
        t0 = time.perf_counter()
        c.request("PUT", f"/v1/maps/w8-{i:07d}", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        t += time.perf_counter() - t0
        if r.status != 201:
            sys.exit(f"w8_pair: create {i}: {r.status}")
    c.close()
    return t / k * 1000


def main():
    fill, n = sys.argv[1], int(sys.argv[2])
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    port = int(sys.argv[5]) if len(sys.argv) > 5 else 18097
    bin_ = os.environ.get("MMAPD_BIN", "build/release/server/mmapd")
    base = os.environ.get("W8_DIR", "/var/tmp/mmapd-w8-pair")
    big, small = os.path.join(base, "big"), os.path.join(base, "small")
    for d in (big, small):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    subprocess.run([fill, big, "w8-", "0", str(n), "65536"], check=True)
    pb = start(bin_, big, port)
    wait_ready(port, pb)
    time.sleep(float(os.environ.get("WALK_S", "90")))
    ps = start(bin_, small, port + 1)
    wait_ready(port + 1, ps)
    empty_ms, full_ms = [], []
    try:
        for r in range(rounds):
            empty_ms.append(round(creates(port + 1, r * k, k), 3))
            full_ms.append(round(creates(port, n + r * k, k), 3))
    finally:
        stop(pb)
        stop(ps)
        if os.environ.get("W8_KEEP") != "1":
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps({"n": n, "k": k, "empty_ms": empty_ms, "full_ms": full_ms,
                      "ratio": round(statistics.median(full_ms) / statistics.median(empty_ms), 2),
                      "load": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
