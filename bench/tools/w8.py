#!/usr/bin/env python3
"""w8.py - W8: the catalog at scale (see bench/README.md, "W8").

Starts mmapd (MMAPD_BIN) on a fresh data directory, creates N file-backed
mappings of SIZE bytes through one keep-alive connection (PUT /v1/maps/w8-N),
timing each create; then stops it (SIGTERM, timed), starts it again and times
restart-to-ready (until GET /readyz is 200) and reads VmRSS. Prints one JSON
line:

  {"n", "size", "first10_ms", "last10_ms", "ratio", "total_s",
   "stop_s", "ready_s", "rss_kib", "listed"}

first10_ms/last10_ms: mean per-create time of the first and last 10 % of the
creates. Everything on loopback; the server is stopped by its PID.

  w8.py N [SIZE] [PORT]      (environment: MMAPD_BIN, W8_DIR, W8_KEEP=1 keeps the data)

With W8_FILL=<path of tests/tools/mc_fill> (W8_COUNTS=1000000 takes hours
of creates on a shared machine otherwise), only the first and the last 10 %
are created through the API: after the first 10 %, the server is stopped,
mc_fill puts the middle 80 % straight into the store, and the server is
started again for the last 10 %. The JSON line then has "filled": the count
mc_fill made, and total_s covers the API creates only.
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def start(bin_, data, port):
    p = subprocess.Popen([bin_, "--listen", f"127.0.0.1:{port}", "--data-dir", data,
                          "--access-log", "off"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p


def wait_ready(port, proc, limit_s=600):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        if proc.poll() is not None:
            sys.exit(f"w8: mmapd exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/readyz")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.005)
    sys.exit("w8: mmapd not ready in time")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stop(proc):
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=600)
    return time.monotonic() - t0


def main():
    n = int(sys.argv[1])
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 65536
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 18098
    bin_ = os.environ.get("MMAPD_BIN", "build/release/server/mmapd")
    base = os.environ.get("W8_DIR") or tempfile.mkdtemp(prefix="mmapd-w8-")
    data = os.path.join(base, "data")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    proc = start(bin_, data, port)
    try:
        wait_ready(port, proc)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = json.dumps({"size": size, "allocation": "sparse"})
        hdr = {"Content-Type": "application/json"}
        times = []
        k = max(1, n // 10)
        fill = os.environ.get("W8_FILL")
        filled = 0
        total = 0.0
        i = 0
        while i < n:
            if fill and i == k and n - 2 * k > 0:
                c.close()
                stop(proc)
                filled = n - 2 * k
                subprocess.run([fill, data, "w8-", str(i), str(filled), str(size)],
                               check=True)
                i += filled
                proc = start(bin_, data, port)
                wait_ready(port, proc)
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            t0 = time.perf_counter()
            c.request("PUT", f"/v1/maps/w8-{i:07d}", body, hdr)
            r = c.getresponse()
            r.read()
            dt = time.perf_counter() - t0
            times.append(dt)
            total += dt
            if r.status != 201:
                sys.exit(f"w8: create {i}: {r.status}")
            i += 1
        c.close()
        first = sum(times[:k]) / k * 1000
        last = sum(times[-k:]) / k * 1000
        stop_s = stop(proc)
        proc = start(bin_, data, port)
        ready_s = wait_ready(port, proc)
        rss = rss_kib(proc.pid)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/v1/maps?limit=1")
        r = c.getresponse()
        listed = r.status
        r.read()
        c.close()
        print(json.dumps({"n": n, "size": size, "first10_ms": round(first, 3),
                          "last10_ms": round(last, 3), "ratio": round(last / first, 2),
                          "total_s": round(total, 1), "stop_s": round(stop_s, 2),
                          "ready_s": round(ready_s, 2), "rss_kib": rss,
                          "listed": listed, "filled": filled}))
    finally:
        if proc.poll() is None:
            stop(proc)
        if os.environ.get("W8_KEEP") != "1":
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
