#!/usr/bin/env python3
"""Peak resident memory of one encoder turned to several speedups, against one speedup.

    python benchmarks/memory.py [--model models/all-MiniLM-L6-v2] [--precision fp32]
                                [--speedups 1,1.5,2,3,4] [--build build]

Each case runs in a process of its own (peak memory only grows) and reports its peak RSS
(getrusage, or /usr/bin/time for the programs):
- the Python package: one lat.Encoder, IMDB test reviews embedded at each speedup, per call;
- lat_tune: evaluation and --rounds timing of SST-2 dev at the speedups;
- bench_latency: seq 128 and 512, batch 1 and 8, at the speedups.
Prints each case's peak at one speedup and at all of them, and their ratio; then the same with
oneDNN's cache of compiled kernels off (ONEDNN_PRIMITIVE_CACHE_CAPACITY=0), which shows what the
encoder itself holds: every new shape of a product (row count, and rows in and kept in attention)
adds a compiled kernel to that process-wide cache, and more speedups run more shapes.
"""
import os
import argparse
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import texts as splits

ROOT = Path(__file__).resolve().parents[1]


def python_case(model, precision, speedups):
    import lat

    encoder = lat.Encoder(model, threads=2, precision=precision, max_length=512)
    texts = splits.texts("imdb", 64)
    for s in speedups:
        for start in range(0, len(texts), 8):
            encoder.embed(texts[start : start + 8], speedup=s)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_of(command, cache):
    env = dict(os.environ)
    if not cache:
        env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = "0"
    out = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{out.stderr[-2000:]}")
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "models" / "all-MiniLM-L6-v2"))
    p.add_argument("--precision", default="fp32")
    p.add_argument("--speedups", default="1,1.5,2,3,4")
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--case", help=argparse.SUPPRESS)
    args = p.parse_args()
    speedups = [float(s) for s in args.speedups.split(",")]
    if args.case == "python":
        print(python_case(args.model, args.precision, speedups))
        return

    build = Path(args.build)
    dev = str(ROOT / "data" / "sst2" / "dev.tsv")
    cases = {
        "python lat.Encoder": lambda s: [sys.executable, __file__, "--case", "python",
                                         "--model", args.model, "--precision", args.precision,
                                         "--speedups", s],
        "lat_tune": lambda s: [str(build / "lat_tune"), "--model", args.model, "--data", dev,
                               "--speedups", s, "--rounds", "1", "--precision", args.precision,
                               "--out", tmp + "/lat.json", "--plot", tmp + "/curve.svg"],
        "bench_latency": lambda s: [str(build / "benchmarks" / "bench_latency"), "--model",
                                    args.model, "--seq", "128,512", "--batch", "1,8", "--speedup",
                                    s, "--precision", args.precision,
                                    "--benchmark_min_time=0.05", "--benchmark_repetitions=1"],
    }
    print(f"peak resident memory (MiB), {args.model}, {args.precision}, 2 threads")
    print(f"{'program':<20}{'kernel cache':>14}{'speedup 1':>12}{'speedups ' + args.speedups:>24}"
          f"{'ratio':>8}")
    for cache in (True, False):
        for name, command in cases.items():
            one = peak_of(command("1"), cache)
            many = peak_of(command(args.speedups), cache)
            print(f"{name:<20}{'on' if cache else 'off':>14}{one:>12.1f}{many:>24.1f}"
                  f"{many / one:>8.3f}", flush=True)


if __name__ == "__main__":
    tmp = tempfile.mkdtemp()
    main()
