#!/usr/bin/env python3
"""check_metrics.py - the Grafana dashboard and the Prometheus alert rules
use only metrics a real mmapd exports.

    deploy/grafana/check_metrics.py path/to/mmapd   (ctest: deploy.grafana, label deploy)

Starts mmapd on a free loopback port with an empty data directory, sends a
little traffic so that every labelled family has samples, scrapes /metrics
and checks that every mmapd_* name in a dashboard target or a rule's expr is
a family or a sample there (histograms are queried by their _bucket, _sum
and _count samples), and that every label a selector matches or a by()
groups on is one those samples carry (or instance/job, which Prometheus
adds): a misspelt name or label would leave a panel empty and an alert
silent without any error. It also checks the shape a reader relies on: every
panel queries something, every rule has a severity and a summary, and the
alerts README.md promises exist. Exit 0 on success, 1 on a mismatch, 77 when
python3-yaml is missing.
"""
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

try:
    import yaml
except ImportError:
    print("skipped: python3-yaml not installed (apt-get install python3-yaml)")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = re.compile(r"\bmmapd_[a-z0-9_]+")
SELECTOR = re.compile(r"\b(mmapd_[a-z0-9_]+)\{([^}]*)\}")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
# Added by Prometheus to every series it scrapes, not by mmapd.
TARGET_LABELS = {"instance", "job"}
# The alerts issue 14 asks for; more may follow.
REQUIRED_ALERTS = {"MmapdDown", "MmapdViewCacheThrash", "MmapdMappingsDamaged",
                   "MmapdHigh5xxRate"}
errors = []


def fail(msg):
    errors.append(msg)


def dashboard_exprs(path):
    dash = json.load(open(path))
    out = []
    for p in dash["panels"]:
        if p["type"] == "row":
            continue
        exprs = [t.get("expr", "") for t in p.get("targets", [])]
        if not exprs or not all(exprs):
            fail(f"{path}: panel {p.get('title')!r} has no query")
        out += [(f"panel {p.get('title')!r}", e) for e in exprs]
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            out.append((f"variable {v['name']!r}", v.get("definition", "")))
    return out


def rule_exprs(path):
    doc = yaml.safe_load(open(path))
    out, alerts = [], set()
    for g in doc["groups"]:
        for r in g["rules"]:
            name = r.get("alert") or r.get("record")
            alerts.add(name)
            if not r.get("expr"):
                fail(f"{path}: rule {name} has no expr")
            if "alert" in r and not (r.get("labels", {}).get("severity")
                                     and r.get("annotations", {}).get("summary")):
                fail(f"{path}: alert {name} needs labels.severity and annotations.summary")
            out.append((f"rule {name}", r.get("expr", "")))
    for a in sorted(REQUIRED_ALERTS - alerts):
        fail(f"{path}: alert {a} missing")
    return out


def scrape(exe):
    """Names in the /metrics of a fresh mmapd after a little traffic."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [exe, "--listen", "127.0.0.1:0", "--data-dir", os.path.join(tmp, "data"),
             "--threads", "1", "--max-memory", "64MiB", "--access-log", "off"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 10)
            line = proc.stdout.readline() if ready else ""
            m = re.match(r"mmapd listening on (http://127\.0\.0\.1:\d+)", line)
            if not m:
                sys.exit(f"mmapd did not start: {line!r}")
            base = m.group(1)

            def req(method, path, body=None, headers=None):
                r = urllib.request.Request(base + path, data=body, method=method,
                                           headers=headers or {})
                try:
                    with urllib.request.urlopen(r, timeout=10) as resp:
                        return resp.read().decode()
                except urllib.error.HTTPError as e:
                    return e.read().decode()

            req("PUT", "/v1/maps/m", b'{"size": 4096}', {"Content-Type": "application/json"})
            req("GET", "/v1/maps/m/data", headers={"Range": "bytes=0-15"})
            req("GET", "/nope")
            req("GET", "/metrics")  # counted in the next scrape
            text = req("GET", "/metrics")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    labels = {}  # name -> the label names its samples carry
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            labels.setdefault(line.split()[2], set())
        elif line and not line.startswith("#"):
            name = re.split(r"[{ ]", line, 1)[0]
            keys = re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", line.split(" ")[0])
            labels.setdefault(name, set()).update(keys)
    return labels


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    uses = (dashboard_exprs(os.path.join(HERE, "mmapd-dashboard.json"))
            + rule_exprs(os.path.join(HERE, "mmapd-alerts.yaml")))
    exported = scrape(sys.argv[1])
    used = set()
    for where, expr in uses:
        have = set(TARGET_LABELS)
        for n in NAME.findall(expr):
            used.add(n)
            if n not in exported:
                fail(f"{where} uses {n}, which /metrics does not export")
            have |= exported.get(n, set())
        # A misspelt label matches nothing and leaves a panel silently empty.
        for n, body in SELECTOR.findall(expr):
            for k in MATCHER.findall(body):
                if k not in TARGET_LABELS | exported.get(n, set()):
                    fail(f"{where} matches label {k!r}, which {n} does not carry")
        for group in BY.findall(expr):
            for k in (x.strip() for x in group.split(",")):
                if k and k not in have:
                    fail(f"{where} groups by {k!r}, which none of its metrics carry")
    # Guard the extraction itself: a regex that matched nothing would pass.
    if "mmapd_mappings_damaged" not in used or len(used) < 10:
        fail(f"only {len(used)} metric names found in the dashboard and rules")
    for e in errors:
        print("FAIL:", e)
    print(f"{len(used)} metric names used, {len(exported)} exported, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
