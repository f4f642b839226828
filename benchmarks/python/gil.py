#!/usr/bin/env python3
"""Does lat release the GIL? Two Python threads each call embed on one shared Encoder
(threads=1 per call), against the same two calls one after the other.

    python benchmarks/python/gil.py [--model models/all-MiniLM-L6-v2] [--texts 64] [--rounds 15]

Prints the median wall time of each and their ratio: 0.5 where both calls run at once on two
free cores, 1.0 where the GIL (or anything else) makes them take turns. Needs two idle cores.
"""
import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import lat

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import texts as splits  # noqa: E402


def sst2_texts(count):
    texts = splits.texts("sst2")
    return texts[:count], texts[count : 2 * count]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "models" / "all-MiniLM-L6-v2"))
    p.add_argument("--texts", type=int, default=64, help="texts per embed call")
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args()

    encoder = lat.Encoder(args.model, threads=1)
    first, second = sst2_texts(args.texts)
    for texts in (first, second):  # warm up: first-touch of the arena and the weights
        encoder.embed(texts)

    def sequential():
        encoder.embed(first)
        encoder.embed(second)

    def together():
        other = threading.Thread(target=encoder.embed, args=(second,))
        other.start()
        encoder.embed(first)
        other.join()

    times = {"sequential": [], "two threads": []}
    for _ in range(args.rounds):  # interleaved, so that drift affects both alike
        for name, fn in (("sequential", sequential), ("two threads", together)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    seq = statistics.median(times["sequential"])
    par = statistics.median(times["two threads"])
    print(f"two embed calls of {args.texts} SST-2 texts each, threads=1, one shared Encoder, "
          f"median of {args.rounds}:")
    print(f"  sequential   {seq * 1e3:8.1f} ms")
    print(f"  two threads  {par * 1e3:8.1f} ms")
    print(f"  ratio        {par / seq:8.3f}  (target <= 0.65)")


if __name__ == "__main__":
    main()
