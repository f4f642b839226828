"""Concurrency: every accepted request is answered with lat's own numbers; a request's speedup is the
one that serves it; the latency target's speedups stay within --max-speedup; SIGTERM answers what
is in flight and exits 0."""
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import shapes
from serve_harness import Server, call


def mixed_requests(sst2, imdb, n, seed=0):
    """n (texts, speedup) bodies of mixed sizes: 1, 4 or 32 texts, short (SST-2) or long (IMDB, up
    to 4 a request)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        size = int(rng.choice([1, 1, 4, 32]))
        pool = imdb if size <= 4 and rng.random() < 0.3 else sst2
        start = int(rng.integers(0, len(pool) - size))
        speedup = [None, None, 1.5, 2.0][i % 4]
        out.append((pool[start:start + size], speedup))
    return out


@pytest.fixture(scope="module")
def small_server(lat_serve, model_dir):
    with Server(lat_serve, ["--model", model_dir, "--threads", "2", "--max-concurrent-requests", "8"]) as s:
        yield s


def test_every_accepted_request_is_answered(small_server, encoder, sst2_dev, imdb_test):
    """300 requests of mixed sizes from 64 threads at a server that holds 8: each is answered 200 or
    refused 429 (then sent again after 50 to 100 ms, as a client backs off), none hangs or is reset, and
    every 200 is what lat gives in one process for the same texts and speedup."""
    reqs = mixed_requests(sst2_dev, imdb_test, 300)
    refused = []

    def one(req):
        texts, speedup = req
        body = {"inputs": texts, "truncate": True}
        if speedup is not None:
            body["speedup"] = speedup
        deadline = time.monotonic() + 240
        while True:
            r = call(small_server.address, "POST", "/embed", body, timeout=300)
            if r.status != 429 or time.monotonic() > deadline:
                return r
            assert r.json()["error_type"] == "overloaded"
            refused.append(1)
            time.sleep(0.05 + 0.05 * random.random())

    t0 = time.monotonic()
    with ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(one, reqs))  # an exception (reset, timeout) fails the test
    wall = time.monotonic() - t0
    print(f"300 answered in {wall:.1f} s after {len(refused)} refusals (429)")
    assert [r.status for r in answers] == [200] * len(reqs)
    assert len(refused) > 0
    for (texts, speedup), r in zip(reqs, answers):
        s = 1.0 if speedup is None else speedup
        assert r.speedup == s
        want = encoder.embed(texts, speedup=s)
        assert np.array_equal(np.array(r.json(), dtype=np.float32), want)
    assert small_server.post("/embed", {"inputs": "still here"}).status == 200


@pytest.mark.parametrize("s", [1.0, 1.25, 2.0, 3.0])
def test_request_speedup(server, encoder, sst2_dev, s):
    texts = sst2_dev[:16]
    r = server.post("/embed", {"inputs": texts, "speedup": s})
    assert r.status == 200, r
    assert r.speedup == s
    assert np.array_equal(np.array(r.json(), dtype=np.float32), encoder.embed(texts, speedup=s))
    r = server.post("/v1/embeddings", {"input": texts, "model": "m", "speedup": s, "encoding_format": "float"})
    assert r.status == 200, r
    assert r.speedup == s
    got = np.array([d["embedding"] for d in r.json()["data"]], dtype=np.float32)
    assert np.array_equal(got, encoder.embed(texts, speedup=s))


def test_request_speedup_through_openai_client(server, encoder, sst2_dev):
    import openai

    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    raw = client.embeddings.with_raw_response.create(model="m", input=sst2_dev[:4], extra_body={"speedup": 2.0})
    assert float(raw.headers["x-lat-speedup"]) == 2.0
    got = np.array([d.embedding for d in raw.parse().data], dtype=np.float32)
    assert np.abs(got - encoder.embed(sst2_dev[:4], speedup=2.0)).max() <= 1e-6


@pytest.mark.parametrize("s", [0.5, 0.999, 0, -2, 1e9, "2", None, [2]])
def test_speedup_out_of_range(server, encoder, s):
    body = {"inputs": "x", "speedup": s}
    r = server.post("/embed", body)
    assert r.status == 422, r
    shapes.check(r.json(), shapes.ERROR)
    assert "speedup" in r.json()["error"]
    assert server.post("/embed", {"inputs": "x"}).status == 200


def test_speedup_above_max_speedup(lat_serve, model_dir):
    with Server(lat_serve, ["--model", model_dir, "--threads", "2", "--max-speedup", "2"]) as s:
        assert s.post("/embed", {"inputs": "x", "speedup": 2.0}).status == 200
        r = s.post("/embed", {"inputs": "x", "speedup": 2.5})
        assert r.status == 422, r
        assert "speedup" in r.json()["error"]


@pytest.fixture(scope="module")
def target_server(lat_serve, model_dir):
    args = ["--model", model_dir, "--threads", "2", "--latency-target", "30", "--max-speedup", "2.5"]
    with Server(lat_serve, args) as s:
        yield s


def test_latency_target_turns_the_knob(target_server, encoder, sst2_dev, imdb_test):
    """Under a load that the dense model cannot answer within 30 ms, the batcher picks speedups above
    1, never above --max-speedup; each answer is what embed gives at the speedup its header names,
    a request's own speedup wins, and /metrics shows the speedups chosen."""
    texts = [imdb_test[i:i + 4] for i in range(0, 80, 4)]

    def one(i):
        body = {"inputs": texts[i % len(texts)], "truncate": True}
        if i % 10 == 0:
            body["speedup"] = 1.0
        return i, call(target_server.address, "POST", "/embed", body, timeout=300)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(40)))
    speedups = []
    for i, r in answers:
        assert r.status == 200, r
        s = r.speedup
        if i % 10 == 0:
            assert s == 1.0
        else:
            speedups.append(s)
        assert 1.0 <= s <= 2.5
        want = encoder.embed(texts[i % len(texts)], speedup=s)
        assert np.array_equal(np.array(r.json(), dtype=np.float32), want)
    print(f"speedups chosen: {sorted(set(speedups))}")
    assert max(speedups) > 1.0
    metrics = target_server.get("/metrics").body.decode()
    assert "speedup" in metrics


def test_sigterm_answers_what_is_in_flight(lat_serve, model_dir, encoder, sst2_dev):
    srv = Server(lat_serve, ["--model", model_dir, "--threads", "2", "--grace", "60"])
    batches = [sst2_dev[i:i + 32] for i in range(0, 16 * 32, 32)]
    answers = {}

    def one(i):
        answers[i] = call(srv.address, "POST", "/embed", {"inputs": batches[i]}, timeout=120)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(batches))]
    try:
        for t in threads:
            t.start()
        time.sleep(0.5)  # all sent; two cores answer them in about two seconds
        srv.signal()
        time.sleep(0.2)
        try:  # no longer accepting: refused, or answered 503
            late = srv.post("/embed", {"inputs": "late"}, timeout=10)
            assert late.status == 503, late
        except (ConnectionRefusedError, ConnectionResetError):
            pass
        for t in threads:
            t.join(120)
        rc = srv.proc.wait(60)
    finally:
        srv.stop()
    assert rc == 0, srv.output[-3000:]
    assert sorted(answers) == list(range(len(batches)))
    for i, r in answers.items():
        assert r.status == 200, r
        assert np.array_equal(np.array(r.json(), dtype=np.float32), encoder.embed(batches[i]))
