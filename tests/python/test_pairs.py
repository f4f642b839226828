"""Cross-encoders from Python: predict and rank against sentence-transformers' CrossEncoder on the
two reranker shapes of tests/golden/rerankers (tools/reference/make_reranker_golden.py), within
1e-4 (largest absolute difference), the same rank order; the activation follows the folder or
the call."""
import json

import numpy as np
import pytest

import lat
from conftest import GOLDEN

TOLERANCE = 1e-4
SHAPES = ["bert", "xlm-roberta"]


def golden(shape):
    return json.loads((GOLDEN / "rerankers" / f"{shape}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=SHAPES)
def reranker(request):
    return lat.Encoder(GOLDEN / "rerankers" / request.param, threads=2), golden(request.param)


def test_predict_equals_cross_encoder(reranker):
    encoder, g = reranker
    assert encoder.info.activation == "sigmoid"
    pairs = [(p["first"], p["second"]) for p in g["pairs"]]
    scores = encoder.predict(pairs, batch_size=8)
    assert scores.shape == (len(pairs),) and scores.dtype == np.float32
    assert np.abs(scores - [p["score"] for p in g["pairs"]]).max() <= TOLERANCE
    logits = encoder.predict(pairs, activation="identity")
    assert np.abs(logits - [p["logit"] for p in g["pairs"]]).max() <= TOLERANCE
    mine = encoder.predict(pairs, activation=lambda x: 2 * x)
    assert np.allclose(mine, 2 * logits)
    assert scores.min() < 0.9 * scores.max(), "a one-logit head gives scores, not probability 1"


def test_one_pair_gives_one_score(reranker):
    encoder, g = reranker
    p = g["pairs"][0]
    score = encoder.predict((p["first"], p["second"]))
    assert abs(float(score) - p["score"]) <= TOLERANCE


def test_rank_equals_cross_encoder(reranker):
    encoder, g = reranker
    for case in g["rank"]:
        ranked = encoder.rank(case["query"], case["documents"], top_k=case["top_k"], return_documents=True)
        assert [r["corpus_id"] for r in ranked] == case["order"]
        assert max(abs(r["score"] - s) for r, s in zip(ranked, case["scores"])) <= TOLERANCE
        assert all(r["text"] == case["documents"][r["corpus_id"]] for r in ranked)
        native = encoder.rerank(case["query"], case["documents"], top_k=case["top_k"])
        assert [d.index for d in native] == case["order"]


def test_pruned_pairs_keep_row_zero(reranker):
    encoder, g = reranker
    pairs = [(p["first"], p["second"]) for p in g["pairs"]]
    results = encoder.classify_pairs(pairs, speedup=2.0)
    pruned = [r for r in results if r.kept[-1] < r.tokens]
    assert len(pruned) > 10
    for case in g["pruned"]:
        assert list(results[case["pair"]].kept) == case["keep"]
    assert np.allclose(encoder.predict(pairs, speedup=2.0), [r.probs[0] for r in results])


def test_bad_calls_are_clear_errors():
    encoder = lat.Encoder(GOLDEN / "rerankers" / "bert", threads=1)
    with pytest.raises(TypeError, match="pairs"):
        encoder.classify_pairs(["just one text"])
    with pytest.raises(ValueError, match="activation"):
        encoder.predict([("a", "b")], activation="tanh")
    with pytest.raises(ValueError, match="top_k"):
        encoder.rank("q", ["a"], top_k=0)
    three = lat.Encoder(GOLDEN / "families" / "roberta", threads=1)
    with pytest.raises(lat.Error, match="one logit") as e:
        three.rank("q", ["a", "b"])
    assert e.value.code == "unsupported"
    assert three.predict([("a", "b"), ("c", "d")]).shape == (2, 3)
    assert encoder.rank("q", []) == []
