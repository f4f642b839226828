#!/usr/bin/env python3
"""Which threads call an encoder: one Encoder (threads=2 by default), built on the main thread,
called in four phases of `--seconds` each:

  built, called on another  a second thread makes every call; the main thread has made none
  main thread               the main thread calls
  main, a caller alive      the main thread calls while a thread that made one call still lives
  main, the caller gone     the same after that thread has ended

    python benchmarks/python/calling_thread.py [--model models/all-MiniLM-L6-v2]
        [--precision int8] [--threads 2] [--texts 32] [--seconds 3]

Prints, for each phase, the mean time of a call per text and the voluntary context switches of
the process per call (getrusage). A thread that has made a call keeps an OpenMP team while it
lives; once the threads of all teams outnumber the CPUs, libgomp's workers sleep at every barrier
instead of spinning, which the switches count.
"""
import argparse
import resource
import sys
import threading
import time
from pathlib import Path

import lat

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import texts as splits  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "models" / "all-MiniLM-L6-v2"))
    p.add_argument("--precision", default="int8")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--texts", type=int, default=32, help="texts per embed call")
    p.add_argument("--seconds", type=float, default=3.0, help="per phase")
    args = p.parse_args()

    encoder = lat.Encoder(args.model, threads=args.threads, precision=args.precision)
    texts = splits.texts("sst2")

    def phase(name):
        calls, elapsed, i = 0, 0.0, 0
        switches = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
        end = time.perf_counter() + args.seconds
        while time.perf_counter() < end:
            batch = [texts[(i + k) % len(texts)] for k in range(args.texts)]
            i += args.texts
            start = time.perf_counter()
            encoder.embed(batch)
            elapsed += time.perf_counter() - start
            calls += 1
        switches = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw - switches
        print(f"  {name:27s} {elapsed / (calls * args.texts) * 1e3:6.3f} ms a text  "
              f"{switches / calls:6.0f} switches a call", flush=True)

    print(f"embed of {args.texts} SST-2 texts a call, {args.precision}, threads={args.threads}:")
    other = threading.Thread(target=phase, args=("built, called on another",))
    other.start()
    other.join()
    phase("main thread")
    called, release = threading.Event(), threading.Event()

    def caller():
        encoder.embed(texts[:1])
        called.set()
        release.wait()

    alive = threading.Thread(target=caller)
    alive.start()
    called.wait()
    phase("main, a caller alive")
    release.set()
    alive.join()
    time.sleep(0.1)  # the ended thread's OpenMP worker exits a moment after it
    phase("main, the caller gone")


if __name__ == "__main__":
    main()
