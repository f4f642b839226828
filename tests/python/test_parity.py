"""all-MiniLM-L6-v2 through the Python API against transformers (golden files written by
tools/reference/make_golden.py): max abs difference 1e-4 on every compared value."""
import json

import numpy as np
import pytest

import lat
from conftest import GOLDEN

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def golden():
    with open(GOLDEN / "minilm.json", encoding="utf-8") as f:
        data = json.load(f)
    values = np.fromfile(GOLDEN / "minilm.f32", dtype="<f4")
    return data, values


def encodings(golden_inputs):
    return [lat.Encoding(i["ids"], i["type_ids"]) for i in golden_inputs]


def test_hidden_states_and_embeddings_match_transformers(minilm, golden):
    data, values = golden
    inputs = data["inputs"]
    assert len(inputs) >= 50
    assert minilm.info.mean_pooling and minilm.info.normalize
    all_encodings = encodings(inputs)
    worst_hidden = worst_embedding = 0.0
    for start in range(0, len(inputs), 8):
        outputs = minilm.run(all_encodings[start : start + 8])
        for item, out in zip(inputs[start : start + 8], outputs):
            n = len(item["ids"])
            assert out.hidden.shape == (n, 384)
            assert list(out.positions) == list(range(n)), "dense runs keep every row"
            expected = values[item["offset"] : item["offset"] + len(item["rows"]) * 384]
            got = out.hidden[item["rows"]].ravel()
            worst_hidden = max(worst_hidden, float(np.abs(got - expected).max()))
            worst_embedding = max(
                worst_embedding, float(np.abs(out.embedding - item["mean_embedding"]).max())
            )
    print(f"max abs diff: hidden {worst_hidden:.3g}, embedding {worst_embedding:.3g}")
    assert worst_hidden <= TOLERANCE
    assert worst_embedding <= TOLERANCE


def test_embed_of_texts_matches_transformers(model_dir, golden):
    data, _ = golden
    cases = [i for i in data["inputs"] if "text" in i and "pair" not in i]
    assert cases
    worst = 0.0
    for max_length in sorted({i["max_length"] for i in cases}):
        encoder = lat.Encoder(model_dir, threads=2, max_length=max_length)
        same = [i for i in cases if i["max_length"] == max_length]
        vectors = encoder.embed([i["text"] for i in same])
        assert vectors.dtype == np.float32 and vectors.shape == (len(same), 384)
        for item, v in zip(same, vectors):
            assert encoder.tokenize(item["text"]).ids == item["ids"]
            worst = max(worst, float(np.abs(v - item["mean_embedding"]).max()))
    print(f"embed: max abs diff {worst:.3g} over {len(cases)} texts")
    assert worst <= TOLERANCE


def test_tokenize_pair_matches_transformers(minilm, golden):
    data, _ = golden
    pairs = [i for i in data["inputs"] if "pair" in i and i["max_length"] == 512]
    assert pairs
    for item in pairs:
        e = minilm.tokenize_pair(item["text"], item["pair"])
        assert e.ids == item["ids"]
        assert e.type_ids == item["type_ids"]


def test_pruned_keep_counts_follow_the_schedule(model_dir):
    encoder = lat.Encoder(model_dir, threads=2, speedup=2.0)
    text = "a gorgeous , witty , seductive movie that stays with you long after the credits"
    out = encoder.run([encoder.tokenize(text)])[0]
    assert out.kept == encoder.schedule(out.tokens).keep
    assert out.kept[-1] < out.tokens
    assert out.hidden.shape == (out.kept[-1], 384)
    assert encoder.schedule(out.tokens).predicted >= 2.0
