#!/usr/bin/env python3
"""lat-serve's load benchmark against Infinity, on one machine, everything on 127.0.0.1. Each step
starts the servers it needs, one at a time, runs loadgen.py against them (a process of its own), stops
them, and appends one JSON line per run to --out (default benchmarks/serve/results/results.jsonl);
`table` turns that file into the tables of docs/serve-performance.md.

    python benchmarks/serve/bench.py generator             # what the generator itself costs
    python benchmarks/serve/bench.py closed [--servers "lat-fp32,lat-int8 --max-batch-tokens 4096,infinity-torch-fp32,..."]
                                            [--texts sst2,imdb] [--per-request 1,32] [--concurrency 1,4,16,64]
    python benchmarks/serve/bench.py inprocess             # the library in one process, the batches the server ran
    python benchmarks/serve/bench.py overhead [--rounds 3] # the same, alternating with the server at concurrency 64
    python benchmarks/serve/bench.py target [--seconds 300] # --latency-target 100 at 1.5x saturation, and without
    python benchmarks/serve/bench.py accuracy              # the tuned curve's accuracy, and SST-2 dev's, per speedup
    python benchmarks/serve/bench.py rss [--requests 100000]
    python benchmarks/serve/bench.py table

Needs: build/lat-serve; .venv-infinity/ (benchmarks/serve/infinity_peer.sh install) and, for its ONNX
engine, models/minilm-infinity-onnx{,-int8} (prepare_infinity_onnx.py); for `target`, a tuned copy of
the SST-2 classifier (benchmarks/minilm_classifier.py, then build/lat_tune on SST-2 train rows, see
docs/serve-performance.md). Run with the Python that has lat installed (for `inprocess`).
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import texts as splits  # noqa: E402

MODEL = ROOT / "models" / "all-MiniLM-L6-v2"
LAT_SERVE = Path(os.environ.get("LAT_SERVE", ROOT / "build" / "lat-serve"))
THREADS = int(os.environ.get("THREADS", "2"))
PEER = HERE / "infinity_peer.sh"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(name, port, model=None, extra=()):
    """(argv, path of OpenAI's embeddings route) of a server configuration: a name, and for lat the
    flags that follow it ("lat-int8 --max-batch-tokens 4096")."""
    name, *flags = name.split()
    extra = [*extra, *flags]
    if name.startswith("lat-"):
        precision = name.split("-", 1)[1]
        argv = [str(LAT_SERVE), "--model", str(model or MODEL), "--threads", str(THREADS),
                "--precision", precision, "--host", "127.0.0.1", "--port", str(port), *extra]
        return argv, "/v1/embeddings"
    _, engine, dtype = name.split("-")  # infinity-torch-fp32, infinity-onnx-int8
    dtype = {"fp32": "float32", "int8": "int8"}[dtype]
    if engine == "onnx":
        folder = ROOT / "models" / ("minilm-infinity-onnx" + ("-int8" if dtype == "int8" else ""))
        return [str(PEER), str(folder), str(port), "optimum", "float32"], "/embeddings"
    return [str(PEER), str(model or MODEL), str(port), "torch", dtype], "/embeddings"


class Running:
    def __init__(self, name, model=None, extra=(), log=None):
        self.name = name
        self.port = free_port()
        argv, self.route = server_command(name, self.port, model, extra)
        self.log = open(log or f"/tmp/bench-{'_'.join(name.split())}.log", "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 600
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: see {self.log.name}")
            time.sleep(0.5)
        self.url = f"http://127.0.0.1:{self.port}"

    def metrics(self):
        with urllib.request.urlopen(self.url + "/metrics", timeout=30) as r:
            return r.read().decode()

    def cpu_seconds(self):
        """CPU time of the server process so far, every thread (user and system)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kb(self):
        """Resident memory of the server (its whole process group: the peer runs under a shell)."""
        total = 0
        for pid in subprocess.run(["pgrep", "-g", str(self.proc.pid)], capture_output=True, text=True).stdout.split():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def loadgen(url, **kw):
    argv = [sys.executable, str(HERE / "loadgen.py"), "--url", url]
    for k, v in kw.items():
        if v is True:
            argv.append("--" + k.replace("_", "-"))
        elif v is not None and v is not False:
            argv += ["--" + k.replace("_", "-"), str(v)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def record(path, row):
    row = dict(row, when=time.strftime("%Y-%m-%d %H:%M:%S"), load_before=os.getloadavg()[0])
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
    keys = ["step", "server", "texts", "per_request", "concurrency", "rate", "throughput_rps", "p50_ms", "p95_ms",
            "p99_ms", "status", "errors"]
    print(json.dumps({k: row.get(k) for k in keys if k in row}), flush=True)


def seconds_for(texts, per_request, base):
    """Long enough for the slowest points to finish many requests."""
    if texts == "imdb":
        return base * (2 if per_request == 32 else 1)
    return base


def batch_stats(metrics):
    """Mean inputs and tokens per batch from lat-serve's /metrics."""
    values = {}
    for line in metrics.splitlines():
        for name in ("lat_batch_inputs_sum", "lat_batch_inputs_count", "lat_batch_tokens_sum"):
            if line.startswith(name + " "):
                values[name] = float(line.split()[1])
    n = values.get("lat_batch_inputs_count", 0)
    return {"batches": n, "mean_inputs": values.get("lat_batch_inputs_sum", 0) / n if n else None,
            "mean_tokens": values.get("lat_batch_tokens_sum", 0) / n if n else None}


def inputs_between(before, after):
    """(batches, inputs) the server ran between two batch_stats readings."""
    return (after["batches"] - before["batches"],
            (after["mean_inputs"] or 0) * after["batches"] - (before["mean_inputs"] or 0) * before["batches"])


def embed_for(enc, texts, batch, seconds, warmup=1):
    """The library embedding `texts` in calls of `batch`, round after round, for `seconds` after
    `warmup` calls: (texts done, wall seconds, CPU seconds of this process)."""
    chunks = [texts[i:i + batch] for i in range(0, len(texts), batch)]
    for c in chunks[:warmup]:
        enc.embed(c)
    done, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        for c in chunks:
            enc.embed(c)
            done += len(c)
            if time.perf_counter() - t0 > seconds:
                break
    return done, time.perf_counter() - t0, time.process_time() - c0


def step_generator(args):
    """The generator's own cost: against lat-serve's /health (no model work), and its CPU per request."""
    with Running("lat-fp32") as s:
        for c in (1, 16, 64):
            r = loadgen(s.url + "/health", get=True, concurrency=c, seconds=10, warmup=2)
            record(args.out, dict(r, step="generator", server="lat-fp32 /health"))
        r = loadgen(s.url + "/health", get=True, rate=1000, seconds=10, warmup=2)
        record(args.out, dict(r, step="generator", server="lat-fp32 /health"))


def step_closed(args):
    """Every server at once (idle ones cost nothing), each point run against each server in turn, the
    order rotated from point to point: a machine whose load drifts weighs on all servers alike."""
    names = args.servers.split(",")
    servers = []
    try:
        for name in names:
            servers.append(Running(name, extra=args.lat_args.split() if name.startswith("lat-") else ()))
        for s in servers:
            loadgen(s.url + s.route, concurrency=4, seconds=3, warmup=1)  # warm every path
        k = 0
        for texts in args.texts.split(","):
            for per_request in map(int, args.per_request.split(",")):
                for c in map(int, args.concurrency.split(",")):
                    secs = seconds_for(texts, per_request, args.seconds)
                    for s in servers[k % len(servers):] + servers[:k % len(servers)]:
                        r = loadgen(s.url + s.route, texts=texts, per_request=per_request, concurrency=c,
                                    seconds=secs, warmup=args.warmup, max_words=args.max_words or None)
                        row = dict(r, step="closed", server=s.name)
                        if s.name.startswith("lat-"):
                            row["batches"] = batch_stats(s.metrics())
                        record(args.out, row)
                    k += 1
    finally:
        for s in servers:
            rc = s.stop()
            record(args.out, {"step": "stopped", "server": s.name, "exit_status": rc})


def step_inprocess(args):
    """The library in one process: lat.Encoder.embed over the same texts in batches of the mean size
    lat-serve ran at concurrency 64 (read from the closed runs' /metrics, cumulative over each run's
    server, so taken as the difference between consecutive rows)."""
    import lat

    rows = [json.loads(l) for l in open(args.out) if l.strip()]
    for precision in ("fp32", "int8"):
        enc = lat.Encoder(str(MODEL), threads=THREADS, precision=precision)
        for texts_name in ("sst2",):
            texts = splits.texts(texts_name)
            for per_request in (1, 32):
                runs = [r for r in rows if r.get("step") == "closed" and r["server"] == f"lat-{precision}"
                        and r["texts"] == texts_name]
                mean = None
                prev = None
                for r in runs:  # per-run batches: the difference of the cumulative counters
                    b = r.get("batches") or {}
                    if r["per_request"] == per_request and r["concurrency"] == 64 and prev is not None:
                        n, inputs = inputs_between(prev, b)
                        mean = inputs / n if n else None
                    prev = b
                batch = max(1, round(mean)) if mean else 64 * per_request
                batches = [batch] + ([1] if per_request == 1 else [])  # and one text a call, as at concurrency 1
                for b in batches:
                    done, wall, _ = embed_for(enc, texts, b, args.seconds, warmup=3)
                    record(args.out, {"step": "inprocess", "server": f"library-{precision}", "texts": texts_name,
                                      "per_request": per_request, "batch": b, "server_mean_batch": mean,
                                      "throughput_texts": done / wall, "throughput_rps": done / wall / per_request})


def step_overhead(args):
    """lat-serve at concurrency 64 against the library in this process on the same texts and batch
    sizes, in alternation (--rounds each, medians), so that a drift in the machine's load falls on
    both: the server's mean batch is read from its /metrics after each server run. Beside the
    throughputs, the CPU time each spends per text (all its threads), which a machine shared with
    other work does not skew as it skews wall time."""
    import statistics

    import lat

    texts = splits.texts("sst2")
    for precision in ("fp32", "int8"):
        enc = lat.Encoder(str(MODEL), threads=THREADS, precision=precision)
        with Running(f"lat-{precision}") as s:
            loadgen(s.url + s.route, concurrency=16, seconds=3, warmup=1)
            for per_request in (1, 32):
                server, library, batches, server_cpu, library_cpu = [], [], [], [], []
                for _ in range(args.rounds):
                    before, cpu0 = batch_stats(s.metrics()), s.cpu_seconds()
                    r = loadgen(s.url + s.route, texts="sst2", per_request=per_request, concurrency=64,
                                seconds=args.seconds, warmup=args.warmup)
                    after, cpu1 = batch_stats(s.metrics()), s.cpu_seconds()
                    n, inputs = inputs_between(before, after)
                    mean = inputs / n
                    batch = max(1, round(mean))
                    server.append(r["throughput_texts"])
                    server_cpu.append((cpu1 - cpu0) / inputs * 1e3)  # CPU ms per text, every thread
                    batches.append(mean)
                    done, wall, cpu = embed_for(enc, texts, batch, args.seconds)
                    library.append(done / wall)
                    library_cpu.append(cpu / done * 1e3)
                record(args.out, {"step": "overhead", "server": f"lat-{precision}", "texts": "sst2",
                                  "per_request": per_request, "concurrency": 64, "server_texts": server,
                                  "library_texts": library, "mean_batches": batches,
                                  "server_cpu_ms_per_text": server_cpu, "library_cpu_ms_per_text": library_cpu,
                                  "cpu_ratio": statistics.median(library_cpu) / statistics.median(server_cpu),
                                  "server_median": statistics.median(server),
                                  "library_median": statistics.median(library),
                                  "ratio": statistics.median(server) / statistics.median(library)})


def step_target(args):
    """--latency-target 100 on the tuned SST-2 classifier at 1.5x the dense server's saturation, and the
    same load on the dense server without a target. One text per request, on /predict."""
    dense_folder = ROOT / "models" / "minilm-sst2-head"
    tuned = Path(args.tuned)
    # Saturation of the dense server: the best closed-loop throughput at high concurrency.
    with Running("lat-fp32", model=dense_folder) as s:
        loadgen(s.url + "/predict", tei=True, concurrency=16, seconds=3, warmup=1)
        best = 0.0
        for c in (16, 64, 128):
            r = loadgen(s.url + "/predict", tei=True, texts="sst2", concurrency=c, seconds=20, warmup=3)
            record(args.out, dict(r, step="saturation", server="lat-fp32 classifier"))
            best = max(best, r["throughput_rps"])
    rate = 1.5 * best
    record(args.out, {"step": "target-rate", "saturation_rps": best, "rate": rate})
    extra = ["--latency-target", "100", "--max-speedup", str(args.max_speedup)]
    with Running("lat-fp32", model=tuned, extra=extra) as s:
        r = loadgen(s.url + "/predict", tei=True, texts="sst2", rate=rate, seconds=args.seconds, warmup=5)
        metrics = s.metrics()
        rc = s.stop()
        record(args.out, dict(r, step="target", server="lat-fp32 --latency-target 100", exit_status=rc,
                              max_speedup=args.max_speedup, metrics_speedups=[l for l in metrics.splitlines()
                                                                                if l.startswith("lat_batches_total")]))
    with Running("lat-fp32", model=dense_folder) as s:
        r = loadgen(s.url + "/predict", tei=True, texts="sst2", rate=rate, seconds=args.seconds, warmup=5)
        rc = s.stop()
        record(args.out, dict(r, step="target", server="lat-fp32 no target", exit_status=rc))


def step_accuracy(args):
    """SST-2 dev accuracy of the tuned classifier at each speedup of its curve (lat in one process),
    beside the curve's own accuracy on the SST-2 train rows it was tuned on."""
    import lat

    settings = lat.read_settings(str(Path(args.tuned) / "lat.json"))
    enc = lat.Encoder(args.tuned, threads=THREADS)
    texts, gold = map(list, zip(*splits.rows("sst2")))
    for point in settings.curve:
        got = []
        for i in range(0, len(texts), 32):
            got += [c.label for c in enc.classify(texts[i:i + 32], speedup=point.speedup)]
        acc = 100.0 * sum(g == p for g, p in zip(gold, got)) / len(gold)
        record(args.out, {"step": "accuracy", "speedup": point.speedup, "curve_accuracy": point.accuracy,
                          "dev_accuracy": acc})


def step_rss(args):
    """Resident memory of lat-serve against requests served (SST-2 dev, one text a request, closed loop
    at 64, so that batches of every size and length meet): sampled after 1,000 requests and then
    every --every. --lat-args: more flags for lat-serve, e.g. --kernel-cache 256."""
    server = " ".join(["lat-fp32"] + args.lat_args.split())
    with Running(server) as s:
        done, marks = 0, [1000] + list(range(args.every, args.requests + 1, args.every))
        record(args.out, {"step": "rss", "server": server, "requests": 0, "rss_kb": s.rss_kb()})
        rates = []
        for mark in marks:
            while done < mark:
                r = loadgen(s.url + "/v1/embeddings", texts="sst2", per_request=1, concurrency=64,
                            seconds=3 if mark <= 1000 else 10, warmup=0)
                done += r["sent"]
                rates.append(r["throughput_rps"])
            record(args.out, {"step": "rss", "server": server, "requests": done, "rss_kb": s.rss_kb(),
                              "throughput_rps": statistics.median(rates)})


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("step", choices=["generator", "closed", "inprocess", "overhead", "target", "accuracy", "rss",
                                    "table"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", default=str(HERE / "results" / "results.jsonl"))
    p.add_argument("--servers", default="lat-fp32,lat-int8,infinity-torch-fp32,infinity-torch-int8,"
                                        "infinity-onnx-fp32,infinity-onnx-int8")
    p.add_argument("--texts", default="sst2")
    p.add_argument("--per-request", default="1,32")
    p.add_argument("--concurrency", default="1,4,16,64")
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--max-words", type=int, default=0, help="closed: cut each text to its first N words")
    p.add_argument("--lat-args", default="", help="closed, rss: more flags for lat-serve, e.g. --auto-truncate")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--tuned", default=str(ROOT / "models" / "minilm-sst2-tuned"))
    p.add_argument("--max-speedup", type=float, default=3.0)
    p.add_argument("--requests", type=int, default=100000)
    p.add_argument("--every", type=int, default=10000)
    args = p.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    if args.step == "table":
        import table

        table.main(args.out)
        return
    globals()["step_" + args.step](args)


if __name__ == "__main__":
    main()
