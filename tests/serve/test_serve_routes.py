"""Every route's answer: TEI's (and OpenAI's) documented JSON shape, and the values lat gives for the
same inputs in one process."""
import base64

import numpy as np
import pytest

import shapes
from serve_harness import Server

TEXTS = ["a gorgeous film", "it is dull and far too long", "Ünïcödé 🎬 電影"]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def test_health(server):
    r = server.get("/health")
    assert r.status == 200
    assert "x-lat-speedup" in r.headers


def test_embed(server, encoder):
    r = server.post("/embed", {"inputs": TEXTS})
    assert r.status == 200, r
    shapes.check(r.json(), shapes.EMBED)
    assert r.headers["content-type"].startswith("application/json")
    assert r.speedup == 1.0
    got = np.array(r.json(), dtype=np.float32)
    assert np.abs(got - encoder.embed(TEXTS)).max() <= 1e-6
    one = server.post("/embed", {"inputs": TEXTS[0]})  # a string gives a list of one
    assert np.array(one.json(), dtype=np.float32).shape == (1, 384)


def test_embed_token_ids(server, encoder):
    ids = encoder.tokenize(TEXTS[1]).ids
    r = server.post("/embed", {"inputs": [ids]})
    assert r.status == 200, r
    assert np.abs(np.array(r.json(), dtype=np.float32)[0] - encoder.embed(TEXTS[1:2])[0]).max() <= 1e-6


def test_embed_dimensions(server, encoder):
    r = server.post("/embed", {"inputs": TEXTS, "dimensions": 128})
    assert r.status == 200, r
    got = np.array(r.json(), dtype=np.float32)
    want = encoder.embed(TEXTS)[:, :128]
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert np.abs(got - want).max() <= 1e-6


def test_embed_normalize_false(server, encoder):
    """normalize false: the folder's pooling without the division, so the vector is not unit length
    and, normalized, is the embedding."""
    r = server.post("/embed", {"inputs": TEXTS, "normalize": False})
    assert r.status == 200, r
    raw = np.array(r.json(), dtype=np.float32)
    norms = np.linalg.norm(raw, axis=1)
    assert np.all(np.abs(norms - 1) > 1e-3), norms
    assert np.abs(raw / norms[:, None] - encoder.embed(TEXTS)).max() <= 1e-6


def test_embed_return_kept(server, encoder):
    """return_kept: the rows each layer kept, as lat reports them for the same call."""
    r = server.post("/embed", {"inputs": TEXTS, "return_kept": True, "speedup": 2.0})
    assert r.status == 200, r
    body = r.json()
    assert isinstance(body, dict), body
    want = encoder.run([encoder.tokenize(t) for t in TEXTS], speedup=2.0)
    assert [list(k) for k in body["kept"]] == [list(o.kept) for o in want]
    emb = np.array(body["embeddings"], dtype=np.float32)
    assert np.array_equal(emb, encoder.embed(TEXTS, speedup=2.0))


def test_similarity(server, encoder):
    body = {"inputs": {"source_sentence": TEXTS[0], "sentences": TEXTS}}
    r = server.post("/similarity", body)
    assert r.status == 200, r
    shapes.check(r.json(), shapes.SIMILARITY)
    e = encoder.embed(TEXTS)
    want = e @ e[0] / (np.linalg.norm(e, axis=1) * np.linalg.norm(e[0]))
    assert np.abs(np.array(r.json()) - want).max() <= 1e-5
    assert r.json()[0] == pytest.approx(1.0, abs=1e-5)


def test_tokenize(server, encoder):
    r = server.post("/tokenize", {"inputs": TEXTS})
    assert r.status == 200, r
    shapes.check(r.json(), shapes.TOKENIZE)
    assert len(r.json()) == len(TEXTS)
    for text, tokens in zip(TEXTS, r.json()):
        assert [t["id"] for t in tokens] == list(encoder.tokenize(text).ids)
        first, last = tokens[0], tokens[-1]  # [CLS] ... [SEP]: special, no offsets
        assert first["special"] and last["special"]
        assert (first["text"], last["text"]) == ("[CLS]", "[SEP]")
        assert first["start"] is None and last["stop"] is None
        raw = text.encode()
        for t in tokens[1:-1]:  # byte offsets into the text, and the text those bytes
            assert not t["special"]
            assert 0 <= t["start"] < t["stop"] <= len(raw)
            assert t["text"].encode() == raw[t["start"]:t["stop"]], (t, text)
    gorgeous = r.json()[0][2]
    assert (gorgeous["id"], gorgeous["start"], gorgeous["stop"]) == (9882, 2, 10)
    plain = server.post("/tokenize", {"inputs": TEXTS[0], "add_special_tokens": False}).json()
    assert [t["id"] for t in plain[0]] == list(encoder.tokenize(TEXTS[0]).ids)[1:-1]


def test_decode(server, encoder):
    ids = list(encoder.tokenize(TEXTS[1]).ids)
    r = server.post("/decode", {"ids": ids})
    assert r.status == 200, r
    shapes.check(r.json(), shapes.DECODE)
    assert r.json() == [TEXTS[1]]  # uncased, plain words: decoding gives the text back
    kept = server.post("/decode", {"ids": [ids, ids[:3]], "skip_special_tokens": False}).json()
    assert kept[0].startswith("[CLS]") and kept[0].endswith("[SEP]")
    assert len(kept) == 2


def test_info(server, model_dir):
    r = server.get("/info")
    assert r.status == 200, r
    info = r.json()
    shapes.check(info, shapes.INFO)
    assert info["model_type"] == {"embedding": {"pooling": "mean"}}
    assert info["max_concurrent_requests"] == 512
    assert info["max_batch_tokens"] == 16384
    assert info["max_client_batch_size"] == 32
    assert info["auto_truncate"] is False
    assert info["max_input_length"] == 256  # the folder's max_seq_length
    assert info["model_dtype"] == "float32"
    assert info["family"] == "bert"
    assert info["lat"]["precision"] == "fp32"


def test_openai_shape(server, encoder):
    r = server.post("/v1/embeddings", {"input": TEXTS, "model": "m"})
    assert r.status == 200, r
    shapes.check(r.json(), shapes.OPENAI_EMBEDDINGS)
    r = server.post("/v1/embeddings", {"input": TEXTS, "model": "m", "encoding_format": "base64"})
    shapes.check(r.json(), shapes.OPENAI_EMBEDDINGS)
    got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in r.json()["data"]])
    assert np.array_equal(got, encoder.embed(TEXTS))


def test_metrics_parse_as_prometheus_text(server):
    from prometheus_client.parser import text_string_to_metric_families

    assert server.post("/embed", {"inputs": TEXTS}).status == 200
    r = server.get("/metrics")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.body.decode())}
    kinds = {name: f.type for name, f in families.items()}
    histograms = [n for n, k in kinds.items() if k == "histogram"]
    assert len(histograms) >= 2, kinds  # queue time and inference time
    for name in histograms:
        buckets = [s for s in families[name].samples if s.name.endswith("_bucket")]
        les = [float(s.labels["le"]) for s in buckets]
        assert les[-1] == float("inf")
        counts = [s.value for s in buckets]
        assert counts == sorted(counts), name  # cumulative
    requests = [s for f in families.values() for s in f.samples
                if "route" in s.labels and "status" in s.labels and s.labels.get("route") == "/embed"]
    assert any(s.labels["status"] == "200" and s.value >= 1 for s in requests), requests
    # The inputs just embedded arrived within the rate's window of about a second.
    assert kinds["lat_arrival_rate"] == "gauge"
    assert 0 < families["lat_arrival_rate"].samples[0].value < 1e6


# The classifier: all-MiniLM-L6-v2 with the SST-2 head.
@pytest.fixture(scope="module")
def classifier(classifier_dir):
    import lat

    return lat.Encoder(classifier_dir, threads=2)


@pytest.fixture(scope="module")
def classifier_server(lat_serve, classifier_dir):
    with Server(lat_serve, ["--model", classifier_dir, "--threads", "2"]) as s:
        yield s


def test_predict(classifier_server, classifier):
    r = classifier_server.post("/predict", {"inputs": TEXTS[0]})
    assert r.status == 200, r
    shapes.check(r.json(), shapes.PREDICT)
    want = classifier.classify(TEXTS[:1])[0]
    preds = r.json()
    assert [p["label"] for p in preds] == ["positive", "negative"]  # sorted by score, "gorgeous"
    assert preds[0]["score"] == pytest.approx(float(want.probs[1]), abs=1e-6)
    batch = classifier_server.post("/predict", {"inputs": [[t] for t in TEXTS], "raw_scores": True}).json()
    shapes.check(batch, shapes.PREDICT)
    for text, preds, c in zip(TEXTS, batch, classifier.classify(TEXTS)):
        by_label = {p["label"]: p["score"] for p in preds}
        assert by_label["negative"] == pytest.approx(float(c.logits[0]), abs=1e-5)
        assert by_label["positive"] == pytest.approx(float(c.logits[1]), abs=1e-5)


def test_predict_return_kept(classifier_server, classifier):
    r = classifier_server.post("/predict", {"inputs": TEXTS[1], "return_kept": True, "speedup": 2.0})
    assert r.status == 200, r
    assert r.speedup == 2.0
    body = r.json()
    want = classifier.classify(TEXTS[1:2], speedup=2.0)[0]
    assert list(body["kept"][0]) == list(want.kept)


def test_classifier_has_no_rerank(classifier_server):
    r = classifier_server.post("/rerank", {"query": "q", "texts": ["a", "b"]})
    assert r.status == 424, r
    shapes.check(r.json(), shapes.ERROR)


def test_embed_on_classifier_is_424(classifier_server):
    """The SST-2 folder has no sentence-transformers pooling: /embed is a route it cannot serve."""
    r = classifier_server.post("/embed", {"inputs": "x"})
    assert r.status == 424, r
    shapes.check(r.json(), shapes.ERROR)


def test_info_classifier(classifier_server):
    info = classifier_server.get("/info").json()
    shapes.check(info, shapes.INFO)
    assert info["model_type"]["classifier"]["id2label"] == {"0": "negative", "1": "positive"}


# The cross-encoder: one logit for a (query, text) pair.
@pytest.fixture(scope="module")
def cross(cross_encoder_dir):
    import lat

    return lat.Encoder(cross_encoder_dir, threads=2)


@pytest.fixture(scope="module")
def cross_server(lat_serve, cross_encoder_dir):
    with Server(lat_serve, ["--model", cross_encoder_dir, "--threads", "2"]) as s:
        yield s


def pair_logits(cross, query, texts, speedup=None):
    kwargs = {} if speedup is None else {"speedup": speedup}
    return np.array([o.logits[0] for o in cross.run([cross.tokenize_pair(query, t) for t in texts], **kwargs)])


def test_rerank(cross_server, cross):
    query = "which film is good?"
    texts = ["a gorgeous film", "it is dull and far too long", "the weather today", "a great movie, warm and funny"]
    r = cross_server.post("/rerank", {"query": query, "texts": texts, "return_text": True})
    assert r.status == 200, r
    ranks = r.json()
    shapes.check(ranks, shapes.RERANK)
    logits = pair_logits(cross, query, texts)
    want = np.argsort(-logits, kind="stable")
    assert [x["index"] for x in ranks] == list(want)
    for x in ranks:
        assert x["score"] == pytest.approx(float(sigmoid(logits[x["index"]])), abs=1e-6)
        assert x["text"] == texts[x["index"]]
    raw = cross_server.post("/rerank", {"query": query, "texts": texts, "raw_scores": True}).json()
    for x in raw:
        assert x["score"] == pytest.approx(float(logits[x["index"]]), abs=1e-5)
        assert x.get("text") is None
    fast = cross_server.post("/rerank", {"query": query, "texts": texts, "raw_scores": True, "speedup": 2.0})
    assert fast.speedup == 2.0
    want = pair_logits(cross, query, texts, speedup=2.0)
    for x in fast.json():
        assert x["score"] == pytest.approx(float(want[x["index"]]), abs=1e-5)


def test_predict_pair(cross_server, cross):
    r = cross_server.post("/predict", {"inputs": ["which film is good?", "a gorgeous film"], "raw_scores": True})
    assert r.status == 200, r
    shapes.check(r.json(), shapes.PREDICT)
    assert r.json()[0]["score"] == pytest.approx(float(pair_logits(cross, "which film is good?", ["a gorgeous film"])[0]), abs=1e-5)


def test_info_reranker(cross_server):
    info = cross_server.get("/info").json()
    shapes.check(info, shapes.INFO)
    assert "reranker" in info["model_type"], info


def test_rerank_on_embedder_is_424(server):
    r = server.post("/rerank", {"query": "q", "texts": ["a", "b"]})
    assert r.status == 424, r
    shapes.check(r.json(), shapes.ERROR)
    assert server.post("/embed", {"inputs": "still serving"}).status == 200
