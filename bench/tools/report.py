#!/usr/bin/env python3
"""report.py RESULTS_DIR — runs.jsonl + rss.jsonl of bench/run.sh -> markdown.

1. The ratio table: each target of the issue, the two sides measured in the same run,
   the ratio of their medians, the per-round ratios (min–max) and a verdict.
2. The detail table: median [min–max] per (workload, peer) of req/s, MB/s, p50/p99,
   server CPU µs/req (the figure least disturbed by other tenants), errors.
3. W7: RSS samples of the mmapd instances against their --cache-bytes budget.

Workloads measured by their own scripts (EXTRA below: W8, W9, W10, digest, extents) get
a row each in the ratio table too: the rows their script wrote to OUT/targets.jsonl, or
"not run" (with the reason) when there are none. A script that run.sh runs writes one
JSON object per target to $OUT/targets.jsonl:
  {"workload": "W9", "target": "...", "mmapd": "text", "reference": "text",
   "ratio": 0.93 or null, "rounds": "0.9-1.0" or "-", "goal": "≥ 0.8×", "pass": true/false/null,
   "cpu": "text" or "-"}
W8, W9, W10, digest and extents need none: their rows are made from the lines their scripts
append anyway, OUT/w8.jsonl (w8.sh), OUT/sharing.jsonl (sharing.sh: W9, W10, W1 with
waiters) and OUT/digest.jsonl (digest.sh: digest, extents).
"""
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

MiB = 1 << 20
WL_DESC = {
    "W1": "GET 4 KiB random, 1 GiB hot, 64 conns",
    "W1L": "W1 with both servers' access logs on (to files)",
    "W2": "GET 1 MiB random, 16 conns",
    "W3": "PUT 4 KiB random (ranged), 64 conns",
    "W4": "GET 4 KiB random, 8 conns (latency)",
    "W1C": "W1 driven by range_client (Redis's client) instead of wrk",
    "W4C": "W4 driven by range_client (Redis's client) instead of wrk",
    "W5": "GET 4 KiB random, 64 GiB sparse, cache 256 MiB, 64 conns",
    "W6": "GET 4 KiB random, random one of {w6_maps} mappings, 64 conns",
}


def w6_maps(d):
    """W6_MAPS of the run, from the settings line run.sh writes to meta.txt."""
    meta = d / "meta.txt"
    if meta.exists():
        for word in meta.read_text().split():
            if word.startswith("W6_MAPS="):
                return f"{int(word[len('W6_MAPS='):]):,}"
    return "W6_MAPS"


# Workloads with their own script, in table order: (id, target, goal, script).
EXTRA = [
    ("W8", "W8 catalog at scale: last 10 % of creates vs first 10 %", "≤ 1.5×", "w8.sh"),
    ("W9", "W9 atomic add req/s vs Redis INCRBY", "≥ 0.8×", "sharing.sh"),
    ("W10", "W10 watch wake-up after a write, p99", "≤ 5 ms; W1 with 1,000 waiters ≥ 0.9× W1", "sharing.sh"),
    ("digest", "W3 with Content-Digest: sha-256 vs W3 without", "cost recorded (ratio)", "digest.sh"),
    ("extents", "extents of a 1 TiB sparse mapping (10,000 extents), one page of 1,000", "time per page recorded", "digest.sh"),
]


def script_rows(d):
    """targets.jsonl-shaped rows from OUT/sharing.jsonl and OUT/digest.jsonl (a row without
    "target" or "goal" takes its workload's from EXTRA)."""
    out = []
    sh = load(d / "sharing.jsonl")
    by = defaultdict(list)
    for x in sh:
        by[(x["workload"], x["server"])].append(x)
    m, r = by[("W9", "mmapd")], by[("W9", "redis")]
    if m and r:
        a, b = m[-1]["rps"], r[-1]["rps"]
        out.append({"workload": "W9",
                    "mmapd": f"{a / 1000:.1f}k (load {m[-1]['loadavg'].split()[0]})",
                    "reference": f"Redis {b / 1000:.1f}k (load {r[-1]['loadavg'].split()[0]})",
                    "ratio": a / b, "rounds": "–", "pass": a / b >= 0.8, "cpu": "–"})
    for x in by[("W10", "mmapd")]:
        p99 = x["wake_p99_us"] / 1000
        one = x["waiters"] == 1
        out.append({"workload": "W10",
                    "target": f"W10 wake-up after a write, {x['waiters']:,} waiter(s): p99 of each one's time to its answer",
                    "mmapd": f"p99 {p99:.2f} ms, p50 {x['wake_p50_us'] / 1000:.2f} ms", "reference": "–",
                    "ratio": None, "rounds": f"{x['rounds']} rounds", "goal": "≤ 5 ms" if one else "recorded",
                    "pass": p99 <= 5 if one else None, "cpu": "–"})
    no, held = by[("W1-no-waiters", "mmapd")], by[("W1-with-waiters", "mmapd")]
    if no and held:
        base = statistics.mean(x["rps"] for x in no)
        ratio = held[-1]["rps"] / base
        out.append({"workload": "W10", "target": "W1 with 1,000 waiters held vs W1 without (64 MiB memory mapping)",
                    "mmapd": f"{held[-1]['rps'] / 1000:.1f}k", "reference": f"without (mean of {len(no)}) {base / 1000:.1f}k",
                    "ratio": ratio, "rounds": "–", "goal": "≥ 0.9×", "pass": ratio >= 0.9, "cpu": "–"})
    for x in load(d / "digest.jsonl"):
        if x["kind"] == "digest":
            p, g = statistics.median(x["plain"]), statistics.median(x["digest"])
            per = [b / a for a, b in zip(x["plain"], x["digest"])]
            out.append({"workload": "digest",
                        "mmapd": f"{g / 1000:.1f}k", "reference": f"W3 without {p / 1000:.1f}k", "ratio": g / p,
                        "rounds": f"{min(per):.2f}–{max(per):.2f}", "pass": None, "cpu": "–"})
        elif x["kind"] == "extents":
            ms = [t * 1000 for t in x["pages_s"]]
            out.append({"workload": "extents", "mmapd": f"{statistics.median(ms):.1f} ms per page", "reference": "–", "ratio": None,
                        "rounds": f"{min(ms):.1f}–{max(ms):.1f} ms", "pass": None, "cpu": "–"})
    return out


def load(p):
    if not p.exists():
        return []
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()]


def med(v):
    return statistics.median(v) if v else None


def us_req(r):
    t = r.get("cpu_ticks", {}).get("server", -1)
    if t is None or t < 0 or not r.get("requests"):
        return None
    return t * 10000.0 / r["requests"]  # USER_HZ = 100


def k(v):
    return "–" if v is None else (f"{v/1000:.1f}k" if v >= 10000 else f"{v:.0f}")


def f1(v):
    return "–" if v is None else (f"{v:.1f}" if v < 100 else f"{v:.0f}")


def ms(v):
    return "–" if v is None else f"{v/1000:.2f}"


def cell(vals, fmt):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    if len(vals) == 1:
        return fmt(vals[0])
    return f"{fmt(med(vals))} [{fmt(min(vals))}–{fmt(max(vals))}]"


def errors(r):
    return r["err_connect"] + r["err_read"] + r["err_write"] + r["err_status"] + r["err_timeout"]


def extra_rows(d, row):
    """The rows of the workloads measured by their own scripts (EXTRA), or "not run"."""
    targets = load(d / "targets.jsonl") + script_rows(d)
    w8 = load(d / "w8.jsonl")
    ran = set((d / "extra_ran.txt").read_text().split()) if (d / "extra_ran.txt").exists() else set()
    bench = Path(__file__).resolve().parent.parent
    for wid, target, goal, script in EXTRA:
        rows = [t for t in targets if t.get("workload") == wid]
        if wid == "W8" and w8:
            for x in w8:
                row(f"W8 at {x['n']:,} mappings: last 10 % vs first 10 % of creates",
                    f"{x['last10_ms']} ms/create", f"first 10 %: {x['first10_ms']} ms", f"{x['ratio']:.2f}×",
                    "–", goal, x["ratio"] <= 1.5, "–")
            continue
        if rows:
            for t in rows:
                ratio = t.get("ratio")
                row(t.get("target", target), t.get("mmapd", "–"), t.get("reference", "–"),
                    "–" if ratio is None else f"{ratio:.2f}×", t.get("rounds", "–"), t.get("goal", goal),
                    t.get("pass"), t.get("cpu", "–"))
            continue
        if not (bench / script).exists():
            why = f"not run: no bench/{script} yet"
        elif wid in ran:
            why = f"not run: bench/{script} ran but wrote no row (see its log)"
        else:
            why = f"not run (add {wid} to WORKLOADS)"
        row(target, why, "–", "–", "–", goal, None, "–")


def main():
    d = Path(sys.argv[1] if len(sys.argv) > 1 else "results/latest")
    runs = load(d / "runs.jsonl")
    rss = load(d / "rss.jsonl")
    g = defaultdict(list)
    for r in runs:
        g[(r["workload"], r["peer"])].append(r)

    def m(wl, peer, key):
        if key == "us":
            return med([v for v in map(us_req, g.get((wl, peer), [])) if v is not None])
        return med([r[key] for r in g.get((wl, peer), [])])

    def per_round(wl_a, peer_a, wl_b, peer_b, key, fn=lambda a, b: a / b):
        a = {r["run"]: r[key] for r in g.get((wl_a, peer_a), [])}
        b = {r["run"]: r[key] for r in g.get((wl_b, peer_b), [])}
        v = [fn(a[i], b[i]) for i in sorted(a) if i in b and b[i]]
        if not v:
            return "–"
        return f"{min(v):.2f}–{max(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"

    out = []
    nrounds = max([r["run"] for r in runs] + [0])
    out.append(f"## mmapd against its targets (medians of {nrounds} round(s), measured side by side)")
    out.append("")
    out.append("| target | mmapd | reference | ratio (of medians) | per-round ratios | goal | verdict | server CPU µs/req mmapd vs reference |")
    out.append("|---|---|---|---|---|---|---|---|")

    def row(name, a, b, ratio, rounds, goal, ok, cpu):
        verdict = "–" if ok is None else ("**PASS**" if ok else "**FAIL**")
        out.append(f"| {name} | {a} | {b} | {ratio} | {rounds} | {goal} | {verdict} | {cpu} |")

    def ratio_row(name, wl, ref_peer, ref_label, goal_val, key="rps", fmt=k, ref_wl=None, mm_peer="mmapd"):
        ref_wl = ref_wl or wl
        a, b = m(wl, mm_peer, key), m(ref_wl, ref_peer, key)
        if a is None or b is None:
            row(name, "not run" if a is None else fmt(a), f"{ref_label} {'not run' if b is None else fmt(b)}",
                "–", "–", f"≥ {goal_val}×", None, "–")
            return
        ratio = a / b
        ca, cb = m(wl, mm_peer, "us"), m(ref_wl, ref_peer, "us")
        row(name, fmt(a), f"{ref_label} {fmt(b)}", f"{ratio:.2f}×", per_round(wl, mm_peer, ref_wl, ref_peer, key),
            f"≥ {goal_val}×", ratio >= goal_val, f"{f1(ca)} vs {f1(cb)}")

    ratio_row("W1 req/s vs nginx", "W1", "nginx", "nginx", 1.2)
    ratio_row("W1L req/s vs nginx, both access logs on", "W1L", "nginx", "nginx", 1.2)
    ratio_row("access log cost: mmapd W1L vs W1 req/s", "W1L", "mmapd", "mmapd W1", 0.9, ref_wl="W1")
    ratio_row("W1 req/s vs Redis GETRANGE", "W1", "redis", "Redis", 0.9)
    # W1C/W4C: mmapd and nginx driven by the client Redis is driven by (range_client)
    ratio_row("W1C req/s vs nginx, both driven by range_client", "W1C", "nginx", "nginx", 1.2)
    ratio_row("W1C req/s vs Redis GETRANGE, the same client", "W1C", "redis", "Redis", 0.9, ref_wl="W1")
    # W2: against the better of nginx and Apache (MB/s)
    b2 = {p: m("W2", p, "mbps_payload") for p in ("nginx", "apache")}
    b2 = {p: v for p, v in b2.items() if v is not None}
    if b2:
        best = max(b2, key=b2.get)
        ratio_row(f"W2 MB/s vs max(nginx, Apache) = {best}", "W2", best, best, 1.0, key="mbps_payload", fmt=f1)
    ratio_row("W3 req/s vs Apache mod_dav", "W3", "apache", "Apache", 3.0)
    ratio_row("W3 req/s vs Redis SETRANGE", "W3", "redis", "Redis", 0.8)
    def p99_row(name, wl, ref_wl, ref_peer, ref_label, limit):
        a, b = m(wl, "mmapd", "lat_p99_us"), m(ref_wl, ref_peer, "lat_p99_us")
        if a is None or b is None:
            return
        row(name, f"p99 {ms(a)} ms, p50 {ms(m(wl, 'mmapd', 'lat_p50_us'))} ms",
            f"{ref_label} p99 {ms(b)} ms, p50 {ms(m(ref_wl, ref_peer, 'lat_p50_us'))} ms", f"{a / b:.2f}×",
            per_round(wl, "mmapd", ref_wl, ref_peer, "lat_p99_us"), f"≤ {limit}×", a <= limit * b,
            f"{f1(m(wl, 'mmapd', 'us'))} vs {f1(m(ref_wl, ref_peer, 'us'))}")

    p99_row("W4 p99 latency vs nginx (8 conns)", "W4", "W4", "nginx", "nginx", 1.0)
    p99_row("W4 p99 latency vs Redis (8 conns)", "W4", "W4", "redis", "Redis", 3.0)
    p99_row("W4C p99 latency vs nginx, both driven by range_client", "W4C", "W4C", "nginx", "nginx", 1.0)
    p99_row("W4C p99 latency vs Redis, the same client", "W4C", "W4", "redis", "Redis", 3.0)
    ratio_row("W5 req/s vs mmapd W1", "W5", "mmapd", "mmapd W1", 0.5, ref_wl="W1", mm_peer="mmapd-small")
    ratio_row("W6 req/s vs mmapd W1", "W6", "mmapd", "mmapd W1", 0.5, ref_wl="W1", mm_peer="mmapd-small")
    small = [x for x in rss if x["label"].startswith("mmapd-small")]
    if small:
        worst = max(small, key=lambda x: x.get("VmRSS_kB", 0))
        budget = worst["budget_bytes"]
        rss_b = worst.get("VmRSS_kB", 0) * 1024
        lim = budget + 64 * MiB
        row("W7 RSS of mmapd-small after W5/W6 vs budget", f"VmRSS {rss_b / MiB:.0f} MiB (anon {worst.get('RssAnon_kB', 0) / 1024:.0f}, file {worst.get('RssFile_kB', 0) / 1024:.0f}) max, {worst['label']}",
            f"budget {budget / MiB:.0f} MiB + 64 MiB", f"{rss_b / lim:.2f}× of limit", "–", "≤ 1.0× of limit",
            rss_b <= lim, "–")
    extra_rows(d, row)
    out.append("")
    out.append("Ratios > 1 are better for req/s and MB/s; for W4 the ratio is mmapd p99 / nginx p99 (lower is better). "
               "\"per-round ratios\" pair the runs of the same round (same machine state).")

    out.append("")
    out.append("## Detail: median [min–max] per workload and server")
    out.append("")
    out.append("| workload | server | runs | req/s | MB/s payload | p50 ms | p99 ms | server CPU µs/req | errors | avg response bytes | foreign CPU % (max) |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    order = {"mmapd": 0, "mmapd-small": 1, "nginx": 2, "apache": 3, "redis": 4}
    maps = w6_maps(d)
    problems = []
    for (wl, peer) in sorted(g, key=lambda x: (x[0], order.get(x[1], 9))):
        rs = g[(wl, peer)]
        errs = sum(errors(r) for r in rs)
        avg = med([r.get("avg_resp_bytes", 0) for r in rs])
        if errs:
            problems.append(f"{wl}/{peer}: {errs} errors or non-2xx responses")
        ln = rs[0].get("len", 4096)
        if peer != "redis" and rs[0].get("method") == "GET" and avg is not None and not (ln <= avg <= ln + 1024):
            problems.append(f"{wl}/{peer}: average response {avg:.0f} B for a {ln} B range")
        fo = [r["cpu_foreign_pct"] for r in rs if r.get("cpu_foreign_pct") is not None]
        out.append(
            f"| {wl} {WL_DESC.get(wl, '').format(w6_maps=maps)} | {peer} | {len(rs)} | {cell([r['rps'] for r in rs], k)} | "
            f"{cell([r['mbps_payload'] for r in rs], f1)} | {cell([r['lat_p50_us'] for r in rs], ms)} | "
            f"{cell([r['lat_p99_us'] for r in rs], ms)} | {cell([us_req(r) for r in rs], f1)} | {errs} | "
            f"{avg:.0f} | {f1(med(fo))} ({f1(max(fo) if fo else None)}) |")
    if rss:
        out.append("")
        out.append("## W7: resident memory of the mmapd instances")
        out.append("")
        out.append("| sample | round | VmRSS MiB | RssAnon MiB | RssFile MiB | VmHWM MiB | budget (--cache-bytes) MiB | views cached / bytes mapped MiB |")
        out.append("|---|---|---|---|---|---|---|---|")
        for x in rss:
            info = x.get("info") or {}
            c = info.get("cache") or info.get("view_cache") or {}
            views = c.get("views", "?")
            mapped = c.get("bytes_mapped")
            mapped = f"{mapped / MiB:.0f}" if isinstance(mapped, (int, float)) else "?"
            out.append(f"| {x['label']} | {x['run']} | {x.get('VmRSS_kB', 0) / 1024:.0f} | {x.get('RssAnon_kB', 0) / 1024:.0f} | "
                       f"{x.get('RssFile_kB', 0) / 1024:.0f} | {x.get('VmHWM_kB', 0) / 1024:.0f} | {x['budget_bytes'] / MiB:.0f} | {views} / {mapped} |")
    out.append("")
    out.append("Checks: " + ("; ".join(problems) if problems else
                             "no wrk/range_client errors or non-2xx responses; average GET response sizes match the ranges."))
    print("\n".join(out))


if __name__ == "__main__":
    main()
