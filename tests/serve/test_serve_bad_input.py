"""Bad input gets its status and TEI's error JSON, and the server goes on serving the others."""
import select
import socket
import threading
import time

import numpy as np
import pytest

import shapes
from serve_harness import Server, raw_request, read_response

GOOD = {"inputs": ["a gorgeous film", "it is dull"]}
LONG = "the film goes on and on " * 80  # 481 tokens: over all-MiniLM-L6-v2's 256


def still_serving(server, encoder):
    r = server.post("/embed", GOOD)
    assert r.status == 200, r
    assert np.array_equal(np.array(r.json(), dtype=np.float32), encoder.embed(GOOD["inputs"]))


def expect_error(r, status, *words):
    assert r.status == status, r
    body = r.json()
    shapes.check(body, shapes.ERROR)
    for w in words:
        assert w.lower() in body["error"].lower(), body
    return body


@pytest.mark.parametrize("body", [
    b'{"inputs": ["a gorgeous film"',  # cut short
    b'{"inputs": "x",}',
    b"inputs=x",
    b"",
])
def test_malformed_json(server, encoder, body):
    r = server.post("/embed", body, headers={"Content-Type": "application/json"})
    assert expect_error(r, 422)["error_type"] == "validation"
    still_serving(server, encoder)


@pytest.mark.parametrize("path,body", [
    ("/embed", {"inputs": 3}),
    ("/embed", {"inputs": [1.5, 2]}),
    ("/embed", {"inputs": {"text": "x"}}),
    ("/embed", {"text": "no inputs field"}),
    ("/embed", {"inputs": "x", "truncate": "yes"}),
    ("/embed", {"inputs": "x", "normalize": 1}),
    ("/embed", {"inputs": "x", "dimensions": "64"}),
    ("/embed", ["a", "list", "body"]),
    ("/v1/embeddings", {"input": 3, "model": "m"}),
    ("/v1/embeddings", {"input": "x", "encoding_format": "hex"}),
    ("/similarity", {"inputs": {"source_sentence": 1, "sentences": ["a"]}}),
    ("/tokenize", {"inputs": [["nested"]]}),
    ("/decode", {"ids": "1 2 3"}),
    ("/decode", {"ids": [-1]}),
])
def test_wrong_types(server, encoder, path, body):
    expect_error(server.post(path, body), 422)
    still_serving(server, encoder)


@pytest.mark.parametrize("path,body", [
    ("/embed", {"inputs": []}),
    ("/embed", {"inputs": ""}),
    ("/embed", {"inputs": ["fine", ""]}),
    ("/v1/embeddings", {"input": [], "model": "m"}),
    ("/similarity", {"inputs": {"source_sentence": "x", "sentences": []}}),
])
def test_empty_input(server, encoder, path, body):
    assert expect_error(server.post(path, body), 422)["error_type"] == "empty"
    still_serving(server, encoder)


def test_too_many_inputs(server, encoder):
    ok = server.post("/embed", {"inputs": ["x"] * 32})  # --max-client-batch-size, default 32
    assert ok.status == 200
    body = expect_error(server.post("/embed", {"inputs": ["x"] * 33}), 422, "32")
    assert body["error_type"] == "validation"
    expect_error(server.post("/v1/embeddings", {"input": ["x"] * 33, "model": "m"}), 422, "32")
    still_serving(server, encoder)


def test_over_long_text(server, encoder):
    body = expect_error(server.post("/embed", {"inputs": LONG}), 422, "256")
    assert body["error_type"] == "validation"
    expect_error(server.post("/embed", {"inputs": LONG, "truncate": False}), 422, "256")
    r = server.post("/embed", {"inputs": [LONG, "short"], "truncate": True})
    assert r.status == 200, r
    want = encoder.embed([LONG, "short"])  # lat cuts at the folder's 256 tokens
    assert np.array_equal(np.array(r.json(), dtype=np.float32), want)
    still_serving(server, encoder)


@pytest.fixture(scope="module")
def auto_truncate_server(lat_serve, model_dir):
    with Server(lat_serve, ["--model", model_dir, "--threads", "2", "--auto-truncate"]) as s:
        yield s


def test_auto_truncate(auto_truncate_server, encoder):
    s = auto_truncate_server
    assert s.get("/info").json()["auto_truncate"] is True
    r = s.post("/embed", {"inputs": LONG})
    assert r.status == 200, r
    assert np.array_equal(np.array(r.json(), dtype=np.float32), encoder.embed([LONG]))
    r = s.post("/v1/embeddings", {"input": LONG, "model": "m", "encoding_format": "float"})
    assert r.status == 200, r


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"caf\xc3", b"\xed\xa0\x80", b"\xc0\xaf"])
def test_invalid_utf8(server, encoder, raw):
    body = b'{"inputs": "bad ' + raw + b' text"}'
    expect_error(server.post("/embed", body, headers={"Content-Type": "application/json"}), 422)
    still_serving(server, encoder)


def test_ten_megabyte_body(server, encoder):
    text = "word " * (10_000_000 // 5)
    r = server.post("/embed", {"inputs": text})  # over --payload-limit 2000000
    assert expect_error(r, 413)["error_type"] == "payload_too_large"
    still_serving(server, encoder)


def test_unknown_route_and_method(server, encoder):
    assert expect_error(server.post("/embeddings/all", GOOD), 404)["error_type"] == "not_found"
    expect_error(server.get("/nothing-here"), 404)
    r = server.get("/embed")
    assert expect_error(r, 405)["error_type"] == "method_not_allowed"
    assert "POST" in r.headers["allow"]
    expect_error(server.call("PUT", "/embed", GOOD), 405)
    expect_error(server.call("DELETE", "/v1/embeddings"), 405)
    expect_error(server.post("/health", {}), 405)
    still_serving(server, encoder)


@pytest.fixture(scope="module")
def timeout_server(lat_serve, model_dir):
    with Server(lat_serve, ["--model", model_dir, "--threads", "2", "--read-timeout", "3"]) as s:
        yield s


def test_slow_client_is_cut(timeout_server, encoder):
    """Clients that trickle their headers a byte every 0.25 s are cut by --read-timeout (3 s here):
    each connection is ended by the server (an error answer, or closed) within the timeout and 2 s,
    and the others are served meanwhile."""
    server = timeout_server
    cut = {}

    def trickle(k):
        s = server.connect()
        t0 = time.monotonic()
        answer = b""
        try:
            for b in b"POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 400:
                try:
                    s.sendall(bytes([b]))
                except OSError:
                    break
                if select.select([s], [], [], 0.25)[0]:
                    while True:  # the answer, then the end of the connection
                        try:
                            chunk = s.recv(4096)
                        except ConnectionResetError:
                            chunk = b""
                        if not chunk:
                            break
                        answer += chunk
                    break
        finally:
            cut[k] = (time.monotonic() - t0, answer)
            s.close()

    threads = [threading.Thread(target=trickle, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    for _ in range(3):
        still_serving(server, encoder)
    for t in threads:
        t.join(120)
    print(f"trickling clients cut after {sorted(round(c[0], 1) for c in cut.values())} s")
    for seconds, answer in cut.values():  # an error answer, or the connection closed or reset
        assert seconds < 3 + 2, (seconds, answer)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer
    still_serving(server, encoder)


def metric_total(server, name_part, **labels):
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for f in text_string_to_metric_families(server.get("/metrics").body.decode()):
        for s in f.samples:
            if name_part in s.name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def test_client_disconnects_before_its_answer(server, encoder, imdb_test):
    """A client sends a heavy request and closes at once: the server neither crashes nor stalls, and
    /metrics counts the request whose client left."""
    before = metric_total(server, "disconnect")
    body = __import__("json").dumps({"inputs": imdb_test[:32], "truncate": True}).encode()
    for _ in range(5):
        s = server.connect()
        s.sendall(raw_request("POST", "/embed", body, {"Content-Type": "application/json"}))
        s.close()
    time.sleep(0.2)
    still_serving(server, encoder)
    deadline = time.monotonic() + 30
    while metric_total(server, "disconnect") < before + 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert metric_total(server, "disconnect") >= before + 5


def test_keeps_answering_on_one_connection(server, encoder):
    """An error does not poison a kept-alive connection: the next request on it is answered."""
    s = server.connect()
    try:
        s.sendall(raw_request("POST", "/embed", b"{bad", {"Content-Type": "application/json"}))
        status, _ = read_response(s)
        assert status == 422
        s.sendall(raw_request("POST", "/embed", b'{"inputs": "ok"}', {"Content-Type": "application/json"}))
        status, body = read_response(s)
        assert status == 200
    finally:
        s.close()


@pytest.fixture(scope="module")
def key_server(lat_serve, model_dir):
    with Server(lat_serve, ["--model", model_dir, "--threads", "2", "--api-key", "k3y"]) as s:
        yield s


def test_api_key(key_server):
    s = key_server
    assert expect_error(s.post("/embed", GOOD), 401)["error_type"] == "unauthorized"
    expect_error(s.post("/embed", GOOD, headers={"Authorization": "Bearer wrong"}), 401)
    expect_error(s.post("/embed", GOOD, headers={"Authorization": "k3y"}), 401)
    expect_error(s.post("/v1/embeddings", {"input": "x", "model": "m"}), 401)
    expect_error(s.get("/metrics"), 401)
    assert s.post("/embed", GOOD, headers={"Authorization": "Bearer k3y"}).status == 200
    assert s.get("/health").status == 200  # the one route without the key


def test_routes_an_embedder_cannot_serve(server, encoder):
    body = expect_error(server.post("/rerank", {"query": "q", "texts": ["a", "b"]}), 424)
    assert body["error_type"] == "backend"
    expect_error(server.post("/predict", {"inputs": "a gorgeous film"}), 424)
    still_serving(server, encoder)


@pytest.fixture(scope="module")
def small_server(lat_serve, model_dir):
    with Server(lat_serve, ["--model", model_dir, "--threads", "2", "--max-concurrent-requests", "2"]) as s:
        yield s


def test_overloaded_is_429_at_once(small_server, encoder, imdb_test):
    """Over --max-concurrent-requests the 429 comes at once: measured from the client, request sent
    to answer read, on a connection already open."""
    s = small_server
    heavy = {"inputs": imdb_test[:32], "truncate": True}
    results = []
    busy = [threading.Thread(target=lambda: results.append(s.post("/embed", heavy))) for _ in range(2)]
    for t in busy:
        t.start()
    time.sleep(0.3)  # both heavy requests held; each takes about a second on two cores
    times = []
    for _ in range(5):
        probe = s.connect()
        try:
            t0 = time.perf_counter()
            probe.sendall(raw_request("POST", "/embed", b'{"inputs": "x"}', {"Content-Type": "application/json"}))
            status, body = read_response(probe)
            times.append(time.perf_counter() - t0)
        finally:
            probe.close()
        assert status == 429, body
        assert b"error_type" in body
    for t in busy:
        t.join(120)
    assert [r.status for r in results] == [200, 200]
    print(f"429 answered in {[round(t * 1000, 2) for t in times]} ms")
    assert max(times) < 0.050, times
    assert s.post("/embed", GOOD).status == 200
