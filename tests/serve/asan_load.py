#!/usr/bin/env python3
"""A short mixed load against a lat-serve built with AddressSanitizer + UndefinedBehaviorSanitizer
(tools/sanitize.sh): good requests on every route, bad inputs, clients that leave before their
answer, and 429s, from several threads for a bounded time on 127.0.0.1; then SIGTERM. Fails on a
sanitizer report, a crash, an accepted request left unanswered, or an exit status other than 0.

    python3 tests/serve/asan_load.py --server build-asan/lat-serve --model models/all-MiniLM-L6-v2 [--seconds 20]

Standard library only.
"""
import argparse
import json
import random
import re
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_harness import Server, call, raw_request  # noqa: E402

REPORT = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")

WORDS = "a gorgeous film that stays with you the plot makes no sense and jokes fall flat".split()


def text(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def requests(rng):
    """(method, path, body, statuses accepted) of one step of the load."""
    k = rng.randrange(14)
    batch = [text(rng, rng.randrange(1, 60)) for _ in range(rng.choice([1, 4, 32]))]
    if k == 0:
        return "POST", "/embed", {"inputs": batch, "speedup": rng.choice([1.0, 1.5, 2.0, 3.0])}, {200}
    if k == 1:
        return "POST", "/v1/embeddings", {"input": batch, "model": "m", "encoding_format": rng.choice(["float", "base64"])}, {200}
    if k == 2:
        return "POST", "/tokenize", {"inputs": batch[0]}, {200}
    if k == 3:
        return "POST", "/decode", {"ids": [101, 1037, 9882, 2143, 102]}, {200}
    if k == 4:
        return "POST", "/similarity", {"inputs": {"source_sentence": batch[0], "sentences": batch}}, {200}
    if k == 5:
        return "POST", "/embed", b'{"inputs": ["cut', {422}
    if k == 6:
        return "POST", "/embed", b'{"inputs": "\xff\xfe\xc0"}', {422}
    if k == 7:
        return "POST", "/embed", {"inputs": text(rng, 400)}, {422}
    if k == 8:
        return "POST", "/embed", {"inputs": [text(rng, 400)] * 4, "truncate": True, "return_kept": True}, {200}
    if k == 9:
        return "POST", "/embed", {"inputs": ["x"] * 40}, {422}
    if k == 10:
        return "GET", "/no-such-route", None, {404}
    if k == 11:
        return "POST", "/rerank", {"query": "q", "texts": ["a"]}, {424}
    if k == 12:
        return "GET", "/metrics", None, {200}
    return "POST", "/embed", {"inputs": batch, "speedup": 0.3}, {422}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--clients", type=int, default=8)
    args = p.parse_args()

    env = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"}
    srv = Server(args.server, ["--model", args.model, "--threads", "2", "--max-concurrent-requests", "4",
                               "--grace", "60"], env=env, ready_timeout=300, check_exit=False)
    failures, counts, lock = [], {}, threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def client(seed):
        rng = random.Random(seed)
        while time.monotonic() < stop_at:
            method, path, body, ok = requests(rng)
            if rng.random() < 0.08:  # a client that leaves before its answer
                s = srv.connect()
                data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
                s.sendall(raw_request(method, path, data, {"Content-Type": "application/json"}))
                s.close()
                key = "disconnect"
            else:
                try:
                    r = call(srv.address, method, path, body, timeout=300)
                except OSError as e:
                    with lock:
                        failures.append(f"{method} {path}: {e!r}")
                    continue
                key = r.status
                if r.status == 429:
                    time.sleep(0.01)
                if r.status not in ok | {429}:
                    with lock:
                        failures.append(f"{method} {path}: {r.status} {r.body[:200]!r}")
            with lock:
                counts[key] = counts.get(key, 0) + 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.seconds + 600)
    rc = srv.stop(timeout=120)
    out = srv.output
    reports = [line for line in out.splitlines() if REPORT.search(line)]
    print(f"asan_load: {sum(counts.values())} requests in {args.seconds:.0f} s, by status: "
          f"{dict(sorted(counts.items(), key=str))}; exit status {rc}")
    bad = False
    if failures:
        print("asan_load: unexpected answers:\n  " + "\n  ".join(failures[:20]), file=sys.stderr)
        bad = True
    if reports or rc != 0:
        print(f"asan_load: sanitizer report or exit status {rc}:\n{out[-20000:]}", file=sys.stderr)
        bad = True
    if counts.get(200, 0) < 20:
        print("asan_load: fewer than 20 requests answered 200", file=sys.stderr)
        bad = True
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
