#!/usr/bin/env python3
"""The tables of docs/serve-performance.md from bench.py's results (JSON lines).

    python benchmarks/serve/table.py [benchmarks/serve/results/results.jsonl]
"""
import json
import math
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def last(rows, **match):
    """The last row matching every field (later runs replace earlier ones)."""
    found = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    return found[-1] if found else None


def gmean(values):
    values = [v for v in values if v and v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else 0.0


def fmt(x, digits=1):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def closed_tables(rows, out):
    closed = [r for r in rows if r.get("step") == "closed"]
    servers = list(dict.fromkeys(r["server"] for r in closed))
    for texts in dict.fromkeys(r["texts"] for r in closed):
        for per in sorted({r["per_request"] for r in closed if r["texts"] == texts}):
            out.append(f"\n**{texts}, {per} text{'s' if per > 1 else ''} per request** (closed loop; "
                       "requests/s, texts/s; latency ms)\n")
            out.append("| server | concurrency | req/s | texts/s | p50 | p95 | p99 | errors |")
            out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for s in servers:
                for c in (1, 4, 16, 64):
                    r = last(closed, server=s, texts=texts, per_request=per, concurrency=c)
                    if r:
                        bad = r["errors"] + sum(v for k, v in r["status"].items() if k != "200")
                        out.append(f"| {s} | {c} | {fmt(r['throughput_rps'])} | {fmt(r['throughput_texts'])} | "
                                   f"{fmt(r['p50_ms'])} | {fmt(r['p95_ms'])} | {fmt(r['p99_ms'])} | {bad} |")


def best_engine(closed, precision):
    """The Infinity engine with the highest geometric-mean throughput over SST-2's points."""
    names = [s for s in dict.fromkeys(r["server"] for r in closed)
             if s.startswith("infinity-") and s.endswith(precision)]
    score = {s: gmean([r["throughput_rps"] for r in closed if r["server"] == s and r["texts"] == "sst2"])
             for s in names}
    return max(score, key=score.get) if score else None, score


def ratio_tables(rows, out):
    closed = [r for r in rows if r.get("step") == "closed" and r["texts"] == "sst2"]
    verdicts = []
    engines = {}
    for precision in ("fp32", "int8"):
        best, score = best_engine(closed, precision)
        engines[precision] = best
        out.append(f"\nInfinity's engines at {precision}, geometric mean of req/s over the SST-2 points: " +
                   ", ".join(f"{k} {fmt(v)}" for k, v in score.items()) + f"; the faster, **{best}**, is the peer.\n")
    out.append("\n| precision | texts per request | concurrency | lat-serve req/s | Infinity req/s | "
               "throughput ratio | lat-serve p99 | Infinity p99 | p99 ratio (Infinity / lat) | ahead |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for precision in ("fp32", "int8"):
        peer = engines[precision]
        for per in (1, 32):
            for c in (1, 4, 16, 64):
                a = last(closed, server=f"lat-{precision}", per_request=per, concurrency=c)
                b = last(closed, server=peer, per_request=per, concurrency=c) if peer else None
                if not (a and b):
                    continue
                t = a["throughput_rps"] / b["throughput_rps"]
                p = b["p99_ms"] / a["p99_ms"]
                ahead = t > 1 and p > 1
                verdicts.append(ahead)
                out.append(f"| {precision} | {per} | {c} | {fmt(a['throughput_rps'])} | {fmt(b['throughput_rps'])} | "
                           f"{t:.2f}x | {fmt(a['p99_ms'])} | {fmt(b['p99_ms'])} | {p:.2f}x | {'yes' if ahead else '**no**'} |")
    out.append(f"\nlat-serve ahead (throughput and p99) at {sum(verdicts)} of {len(verdicts)} points.\n")

    out.append("\n| texts per request | concurrency | lat-serve int8 req/s | Infinity's best req/s (config) | ratio | >= 2x |")
    out.append("| ---: | ---: | ---: | ---: | ---: | --- |")
    for per in (1, 32):
        for c in (1, 4, 16, 64):
            a = last(closed, server="lat-int8", per_request=per, concurrency=c)
            peers = [r for r in closed if r["server"].startswith("infinity-") and r["per_request"] == per
                     and r["concurrency"] == c]
            if not (a and peers):
                continue
            b = max(peers, key=lambda r: r["throughput_rps"])
            t = a["throughput_rps"] / b["throughput_rps"]
            out.append(f"| {per} | {c} | {fmt(a['throughput_rps'])} | {fmt(b['throughput_rps'])} ({b['server']}) | "
                       f"{t:.2f}x | {'yes' if t >= 2 else '**no**'} |")


def inprocess_table(rows, out):
    lib = [r for r in rows if r.get("step") == "inprocess"]
    if not lib:
        return
    out.append("\n| precision | texts per request | lat-serve at concurrency 64, texts/s | mean batch (inputs) | "
               "library, same batches, texts/s | server / library | >= 90% |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for precision in ("fp32", "int8"):
        for per in (1, 32):
            ls = [r for r in lib if r["server"] == f"library-{precision}" and r["per_request"] == per and r["batch"] != 1]
            l = ls[-1] if ls else None
            s = last(rows, step="closed", server=f"lat-{precision}", texts="sst2", per_request=per, concurrency=64)
            if not (l and s):
                continue
            ratio = s["throughput_texts"] / l["throughput_texts"]
            out.append(f"| {precision} | {per} | {fmt(s['throughput_texts'])} | {l['batch']} | "
                       f"{fmt(l['throughput_texts'])} | {ratio:.0%} | {'yes' if ratio >= 0.9 else '**no**'} |")


def overhead_table(rows, out):
    # The last run of each precision and request size (a later run replaces an earlier one).
    ov = list({(r["server"], r["per_request"]): r for r in rows if r.get("step") == "overhead"}.values())
    if not ov:
        return
    out.append("\n| precision | texts per request | mean batch | lat-serve at concurrency 64, texts/s (runs) | "
               "library, same batches, texts/s (runs) | server / library | CPU ms per text: server, library | "
               "library / server CPU |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in ov:
        runs = lambda xs: ", ".join(f"{x:.0f}" for x in xs)
        cpu = ""
        if "server_cpu_ms_per_text" in r:
            cpu = (f"{statistics.median(r['server_cpu_ms_per_text']):.2f}, "
                   f"{statistics.median(r['library_cpu_ms_per_text']):.2f} | {r['cpu_ratio']:.0%}")
        out.append(f"| {r['server'][4:]} | {r['per_request']} | {statistics.median(r['mean_batches']):.0f} | "
                   f"{r['server_median']:.0f} ({runs(r['server_texts'])}) | {r['library_median']:.0f} "
                   f"({runs(r['library_texts'])}) | {r['ratio']:.0%} | {cpu} |")


def single_table(rows, out):
    """One text a call in the library against one text a request at concurrency 1."""
    lib = [r for r in rows if r.get("step") == "inprocess" and r["batch"] == 1]
    if not lib:
        return
    out.append("\n| precision | library, one text a call: ms | lat-serve, concurrency 1: p50 ms | difference ms |")
    out.append("| --- | ---: | ---: | ---: |")
    for precision in ("fp32", "int8"):
        l = last(lib, server=f"library-{precision}")
        s = last(rows, step="closed", server=f"lat-{precision}", texts="sst2", per_request=1, concurrency=1)
        if l and s:
            ms = 1000 / l["throughput_texts"]
            out.append(f"| {precision} | {ms:.2f} | {s['p50_ms']:.2f} | {s['p50_ms'] - ms:.2f} |")


def target_runs(rows):
    """The last target-rate row and the target runs after it (a later run replaces the earlier)."""
    starts = [i for i, r in enumerate(rows) if r.get("step") == "target-rate"]
    if not starts:
        return None, []
    return rows[starts[-1]], [r for r in rows[starts[-1]:] if r.get("step") == "target"]


def target_table(rows, out):
    rate, runs = target_runs(rows)
    if not (rate and runs):
        return
    out.append(f"\nDense saturation (closed loop, best of concurrency 16/64/128): {fmt(rate['saturation_rps'])} req/s; "
               f"offered load 1.5x = {fmt(rate['rate'])} req/s (Poisson arrivals).\n")
    out.append("| server | seconds | answered 200 | 429 | other / errors | p50 ms | p95 ms | p99 ms | speedups (answers) |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in runs:
        ok = r["status"].get("200", 0)
        r429 = r["status"].get("429", 0)
        other = sum(v for k, v in r["status"].items() if k not in ("200", "429")) + r["errors"]
        sp = ", ".join(f"{k}: {v}" for k, v in sorted(r["speedups"].items(), key=lambda kv: float(kv[0])))
        out.append(f"| {r['server']} | {fmt(r['seconds'], 0)} | {ok} | {r429} | {other} | {fmt(r['p50_ms'])} | "
                   f"{fmt(r['p95_ms'])} | {fmt(r['p99_ms'])} | {sp} |")


def accuracy_table(rows, out):
    acc = [r for r in rows if r.get("step") == "accuracy"]
    if not acc:
        return
    out.append("\n| speedup | tuned curve's accuracy (SST-2 train rows) | SST-2 dev accuracy |")
    out.append("| ---: | ---: | ---: |")
    for r in acc:
        out.append(f"| {r['speedup']:g} | {fmt(r['curve_accuracy'], 2)} | {fmt(r['dev_accuracy'], 2)} |")
    # The accuracy the target run served: each speedup's, weighted by the answers it served.
    by_speedup = {float(r["speedup"]): r for r in acc}
    for run in (r for r in target_runs(rows)[1] if "--latency-target" in r["server"]):
        served = {float(k): v for k, v in run["speedups"].items() if float(k) in by_speedup}
        total = sum(served.values())
        if total:
            dense = by_speedup.get(1.0, {}).get("dev_accuracy")
            weighted = {key: sum(by_speedup[s][key] * n for s, n in served.items()) / total
                        for key in ("dev_accuracy", "curve_accuracy")}
            out.append(f"\n{run['server']}: the speedups it chose, weighted by the answers they served, give "
                       f"{fmt(weighted['dev_accuracy'], 1)}% on SST-2 dev ({fmt(weighted['curve_accuracy'], 1)}% by "
                       f"the tuned curve), against {fmt(dense, 1)}% dense.")


def rss_table(rows, out):
    """Each server's last memory curve: RSS against requests served."""
    curves = {}
    for r in rows:
        if r.get("step") != "rss":
            continue
        if r["requests"] == 0:
            curves[r["server"]] = []
        curves.setdefault(r["server"], []).append(r)
    for server, rss in curves.items():
        out.append(f"\n{server}:\n")
        out.append("| requests served | RSS MiB | throughput req/s |")
        out.append("| ---: | ---: | ---: |")
        for r in rss:
            out.append(f"| {r['requests']:,} | {r['rss_kb'] / 1024:.1f} | {fmt(r.get('throughput_rps'))} |")
        base = next((r for r in rss if r["requests"] >= 1000), None)
        end = rss[-1]
        if base and end is not base:
            out.append(f"\nAfter {end['requests']:,} requests: {end['rss_kb'] / base['rss_kb']:.3f}x the RSS after "
                       f"{base['requests']:,}.\n")


def generator_table(rows, out):
    gen = [r for r in rows if r.get("step") == "generator"]
    if not gen:
        return
    out.append("\n| generator against /health | req/s | p50 ms | p99 ms | generator CPU ms per request |")
    out.append("| --- | ---: | ---: | ---: | ---: |")
    for r in gen:
        what = f"closed, {r['concurrency']} connections" if r["mode"] == "closed" else f"open, {fmt(r['rate'], 0)}/s"
        out.append(f"| {what} | {fmt(r['throughput_rps'])} | {fmt(r['p50_ms'], 2)} | {fmt(r['p99_ms'], 2)} | "
                   f"{r['generator_cpu_ms_per_request']:.3f} |")
    closed = [r for r in rows if r.get("step") in ("closed", "target")]
    if closed:
        per = gmean([r["generator_cpu_ms_per_request"] for r in closed])
        out.append(f"\nOver the model runs, the generator used {per:.3f} ms of CPU per request (geometric mean).\n")


def main(path=None):
    rows = load(path or HERE / "results" / "results.jsonl")
    out = []
    generator_table(rows, out)
    closed_tables(rows, out)
    ratio_tables(rows, out)
    if any(r.get("step") == "overhead" for r in rows):
        overhead_table(rows, out)  # measured in alternation with the server: preferred
    else:
        inprocess_table(rows, out)
    single_table(rows, out)
    target_table(rows, out)
    accuracy_table(rows, out)
    rss_table(rows, out)
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
