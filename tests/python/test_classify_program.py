"""Python classify gives the C++ classify program's results, text for text."""
import json
import os
import subprocess

import numpy as np
import pytest

import lat
from conftest import CLASSIFY, TINY, unavailable

LABELS = {
    "negative": "The movie was terrible and boring.",
    "positive": "The movie was great and enjoyable.",
}


@pytest.fixture(scope="module")
def classify_program():
    if not os.access(CLASSIFY, os.X_OK):
        unavailable(f"{CLASSIFY} is not built: build lat with cmake, or set LAT_CLASSIFY")
    return CLASSIFY


def program_results(program, model, texts, tmp_path, extra=()):
    path = tmp_path / "texts.txt"
    path.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    out = subprocess.run(
        [str(program), "--model", str(model), "--threads", "1", "--batch", "8", "--json",
         "--input", str(path), *extra],
        check=True, capture_output=True, text=True,
    ).stdout
    lines = [json.loads(line) for line in out.splitlines() if line]
    assert "summary" in lines[-1]
    return lines[:-1]


def expect_equal(python, program):
    assert len(python) == len(program)
    for p, c in zip(python, program):
        assert p.label_name == c["label"]
        assert p.tokens == c["tokens"] and p.truncated == c["truncated"] and p.kept == c["kept"]
        np.testing.assert_array_equal(p.logits, np.float32(c["logits"]))
        np.testing.assert_array_equal(p.probs, np.float32(c["probs"]))


def batches(texts, size=8):
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def test_classifier_head_equals_the_program(classify_program, tmp_path, sst2_dev):
    texts = sst2_dev[:40]
    program = program_results(classify_program, TINY, texts, tmp_path, ["--speedup", "1.5"])
    encoder = lat.Encoder(TINY, threads=1, speedup=1.5)
    python = [r for b in batches(texts) for r in encoder.classify(b)]
    expect_equal(python, program)


def test_zero_shot_equals_the_program(classify_program, model_dir, tmp_path, sst2_dev):
    texts = sst2_dev[100:140]
    flags = [f for name, d in LABELS.items() for f in ("--label", f"{name}={d}")]
    program = program_results(classify_program, model_dir, texts, tmp_path, flags)
    zs = lat.ZeroShotClassifier(lat.Encoder(model_dir, threads=1), LABELS)
    python = [r for b in batches(texts) for r in zs.classify(b)]
    expect_equal(python, program)


def test_pairs_equal_predict(classify_program, tmp_path):
    """classify --pairs scores first<TAB>second lines as predict does; a gold score column gives
    the mean absolute error and the accuracy at 0.5."""
    from conftest import GOLDEN

    folder = GOLDEN / "rerankers" / "xlm-roberta"
    g = json.loads((GOLDEN / "rerankers" / "xlm-roberta.json").read_text(encoding="utf-8"))
    pairs = [(p["first"], p["second"]) for p in g["pairs"] if "\t" not in p["first"] + p["second"]
             and "\n" not in p["first"] + p["second"] and "\r" not in p["first"] + p["second"]]
    gold = [1 if i % 2 else 0 for i in range(len(pairs))]
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{a}\t{b}\t{y}\n" for (a, b), y in zip(pairs, gold)), encoding="utf-8")
    out = subprocess.run([str(classify_program), "--model", str(folder), "--threads", "1", "--json", "--pairs",
                          "--input", str(path)], check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line) for line in out.splitlines() if line]
    scores = lat.Encoder(folder, threads=1).predict(pairs)
    assert np.abs(np.array([line["score"] for line in lines[:-1]]) - scores).max() <= 1e-6
    summary = lines[-1]["summary"]
    assert summary["mean_abs_error"] == pytest.approx(np.abs(scores - gold).mean(), abs=1e-5)
    assert summary["accuracy"] == pytest.approx(np.mean((scores >= 0.5) == np.array(gold, dtype=bool)))
    bad = tmp_path / "bad.tsv"
    bad.write_text("one\ttwo\nonly one field\n", encoding="utf-8")
    failed = subprocess.run([str(classify_program), "--model", str(folder), "--pairs", "--input", str(bad)],
                            capture_output=True, text=True)
    assert failed.returncode == 1 and "line 2: 1 tab-separated fields" in failed.stderr
