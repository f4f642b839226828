#!/usr/bin/env python3
"""A load generator for embedding servers: closed loop at a fixed concurrency, or open loop at a fixed
arrival rate, over keep-alive HTTP/1.1 connections to 127.0.0.1, with the standard library's asyncio
(no client library between the socket and the clock). It prints one JSON line: requests, statuses,
throughput (requests and texts per second), latency p50/p95/p99/max in ms, the speedups the answers
name (X-Lat-Speedup), and what the generator itself cost (CPU seconds per request).

    loadgen.py --url http://127.0.0.1:3000/v1/embeddings --texts sst2 --per-request 1 \\
        --concurrency 16 --seconds 20 [--warmup 3]
    loadgen.py --url ... --rate 150 --seconds 300            # open loop, Poisson arrivals

Bodies are OpenAI's embeddings request ({"input": [...], "model": ...}), which lat-serve and Infinity
both take; --tei sends TEI's {"inputs": [...]} to /embed instead. Latency is measured from the
moment a request was due (open loop: its scheduled arrival, so a stalled server is not hidden by a
stalled generator) to the last byte of its answer.
"""
import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import texts as splits  # noqa: E402


def bodies(texts, per_request, tei, model, extra, limit=2048):
    """Request bodies through the texts in order, per_request texts each (at most limit bodies)."""
    out = []
    for i in range(0, len(texts), per_request):
        chunk = [texts[(i + k) % len(texts)] for k in range(per_request)]
        body = {"inputs": chunk, "truncate": True} if tei else {"input": chunk, "model": model}
        body.update(extra)
        out.append(json.dumps(body).encode())
        if len(out) == limit:
            break
    return out


class Conn:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host, port):
        r, w = await asyncio.open_connection(host, port)
        return cls(r, w)

    async def request(self, head, body):
        self.writer.write(head + body)
        line = await self.reader.readline()
        if not line:
            raise ConnectionError("closed")
        status = int(line.split(b" ", 2)[1])
        length, chunked, speedup, close = None, False, None, False
        while True:
            h = await self.reader.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"x-lat-speedup":
                speedup = float(value)
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length is not None:
            await self.reader.readexactly(length)
        return status, speedup, close

    def close(self):
        self.writer.close()


class Stats:
    def __init__(self):
        self.lat, self.status, self.speedups, self.errors = [], {}, {}, 0
        self.sent, self.error_kinds = 0, {}

    def error(self, e):
        self.errors += 1
        k = type(e).__name__
        self.error_kinds[k] = self.error_kinds.get(k, 0) + 1

    def add(self, status, seconds, speedup):
        self.lat.append(seconds)
        self.status[status] = self.status.get(status, 0) + 1
        if speedup is not None:
            key = f"{speedup:g}"
            self.speedups[key] = self.speedups.get(key, 0) + 1


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(q / 100 * (len(sorted_values) - 1)))))
    return sorted_values[k]


async def closed_loop(host, port, head, payloads, concurrency, seconds, warmup, stats):
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    counter = iter(range(1 << 62))

    async def worker():
        conn = await Conn.open(host, port)
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                break
            body = payloads[next(counter) % len(payloads)]
            stats.sent += 1
            try:
                status, speedup, close = await conn.request(head % len(body), body)
            except (ConnectionError, asyncio.IncompleteReadError, OSError) as e:
                stats.error(e)
                conn.close()
                conn = await Conn.open(host, port)
                continue
            end = time.perf_counter()
            if measure_from <= end <= stop_at:  # completions in the window
                stats.add(status, end - now, speedup)
            if close:
                conn.close()
                conn = await Conn.open(host, port)
        conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return seconds


async def open_loop(host, port, head, payloads, rate, seconds, warmup, stats, seed, max_conns):
    """Poisson arrivals at `rate` per second; each request on an idle connection, or a new one."""
    rng = random.Random(seed)
    idle, tasks, open_conns = [], set(), [0]
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    due, i = start, 0
    dropped = [0]

    async def one(due_at, body):
        reused = bool(idle)
        if idle:
            conn = idle.pop()
        elif open_conns[0] >= max_conns:
            dropped[0] += 1
            return
        else:
            open_conns[0] += 1
            try:
                conn = await Conn.open(host, port)
            except OSError as e:
                open_conns[0] -= 1
                stats.error(e)
                return
        stats.sent += 1
        try:
            try:
                status, speedup, close = await conn.request(head % len(body), body)
            except ConnectionError:
                # A kept-alive connection the server closed while idle, before any byte of the
                # answer: once more on a new one, as HTTP clients do.
                if not reused:
                    raise
                conn.close()
                conn = await Conn.open(host, port)
                status, speedup, close = await conn.request(head % len(body), body)
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as e:
            stats.error(e)
            conn.close()
            open_conns[0] -= 1
            return
        end = time.perf_counter()
        if measure_from <= due_at and due_at < stop_at:
            stats.add(status, end - due_at, speedup)
        if close:
            conn.close()
            open_conns[0] -= 1
        else:
            idle.append(conn)

    while due < stop_at:
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(due - now)
        t = asyncio.ensure_future(one(due, payloads[i % len(payloads)]))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        i += 1
        due += rng.expovariate(rate)
    if tasks:
        await asyncio.wait(tasks, timeout=120)
    for c in idle:
        c.close()
    if dropped[0]:
        stats.errors += dropped[0]
        stats.error_kinds["over --max-conns"] = dropped[0]
    return seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--texts", default="sst2", choices=["sst2", "imdb", "sst2-train"])
    p.add_argument("--per-request", type=int, default=1)
    p.add_argument("--max-words", type=int, default=0,
                   help="cut each text to its first N words (0: whole), so every server encodes the same tokens")
    p.add_argument("--tei", action="store_true", help="TEI's /embed body instead of OpenAI's")
    p.add_argument("--model", default="all-MiniLM-L6-v2", help="the model field of OpenAI's body")
    p.add_argument("--extra", default="{}", help="JSON merged into every body, e.g. '{\"speedup\": 2}'")
    p.add_argument("--concurrency", type=int, help="closed loop: requests in flight")
    p.add_argument("--rate", type=float, help="open loop: arrivals per second")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--max-conns", type=int, default=4096)
    p.add_argument("--get", action="store_true", help="GET the url (a trivial route: the generator's own cost)")
    p.add_argument("--label", default="")
    args = p.parse_args()
    if (args.concurrency is None) == (args.rate is None):
        p.error("give --concurrency or --rate")
    u = urlparse(args.url)
    host, port = u.hostname, u.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        p.error("loadgen only targets the loopback interface")
    path = u.path or "/"
    if args.get:
        head = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Len: %d\r\n\r\n").encode()
        payloads = [b""]
    else:
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: %d\r\n\r\n").encode()
        texts = splits.texts(args.texts)
        if args.max_words:
            texts = [" ".join(t.split()[:args.max_words]) for t in texts]
        payloads = bodies(texts, args.per_request, args.tei, args.model, json.loads(args.extra))
    stats = Stats()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    loop = asyncio.new_event_loop()
    if args.concurrency:
        seconds = loop.run_until_complete(closed_loop(host, port, head, payloads, args.concurrency,
                                                      args.seconds, args.warmup, stats))
    else:
        seconds = loop.run_until_complete(open_loop(host, port, head, payloads, args.rate, args.seconds,
                                                    args.warmup, stats, 26, args.max_conns))
    loop.close()
    cpu = time.process_time() - cpu0
    total_requests = sum(stats.status.values())
    lat = sorted(stats.lat)
    ok = stats.status.get(200, 0)
    result = {
        "label": args.label, "url": args.url, "texts": args.texts, "per_request": args.per_request,
        "max_words": args.max_words,
        "mode": "closed" if args.concurrency else "open", "concurrency": args.concurrency, "rate": args.rate,
        "seconds": seconds, "requests": total_requests, "status": {str(k): v for k, v in stats.status.items()},
        "errors": stats.errors, "error_kinds": stats.error_kinds, "sent": stats.sent,
        "throughput_rps": ok / seconds, "throughput_texts": ok * args.per_request / seconds,
        "p50_ms": percentile(lat, 50) * 1e3, "p95_ms": percentile(lat, 95) * 1e3,
        "p99_ms": percentile(lat, 99) * 1e3, "max_ms": (lat[-1] if lat else float("nan")) * 1e3,
        "speedups": stats.speedups,
        "generator_cpu_s": cpu, "generator_wall_s": time.perf_counter() - wall0,
        "generator_cpu_ms_per_request": cpu / max(1, stats.sent) * 1e3,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
