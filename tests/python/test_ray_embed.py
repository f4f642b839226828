"""examples/ray_embed.py on a local Ray cluster: every input row once, embeddings equal to embed."""
import collections
import subprocess
import sys

import numpy as np
import pytest

import lat
from conftest import DATA, ROOT, TINY, unavailable

try:
    import pyarrow.parquet as pq
    import ray.data  # noqa: F401
except ImportError:
    pq = None


@pytest.fixture(autouse=True)
def ray_installed():
    if pq is None:
        unavailable("ray[data] and pyarrow are not installed: pip install 'lat[ray]'")


def run_example(*args):
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "ray_embed.py"), *map(str, args)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def read_output(folder):
    return pq.read_table(folder).to_pydict()


@pytest.fixture(scope="module")
def tsv(tmp_path_factory, sst2_dev):
    # A header, TSV lines, a repeated text and a line with no label: each row must come out once.
    lines = (DATA / "sst2" / "dev.tsv").read_text(encoding="utf-8").split("\n")[:121]
    lines += [lines[5], "a line with no label", "  spaces  around\t1"]
    path = tmp_path_factory.mktemp("input") / "texts.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    texts = [line.rsplit("\t", 1)[0] if "\t" in line else line for line in lines[1:]]
    return path, texts


def test_embed_writes_every_row_once(model_dir, tsv, tmp_path):
    path, texts = tsv
    out = tmp_path / "out"
    report = run_example("--model", model_dir, "--input", path, "--output", out, "--batch", 16)
    assert f"{len(texts)} rows in" in report and "rows/s" in report
    table = read_output(out)
    assert set(table) == {"text", "embedding"}
    assert collections.Counter(table["text"]) == collections.Counter(texts)
    direct = lat.Encoder(model_dir, threads=1)
    expected = {t: v for t, v in zip(texts, direct.embed(texts))}
    got = np.array(table["embedding"], dtype=np.float32)
    assert got.shape == (len(texts), 384)
    worst = max(float(np.abs(g - expected[t]).max()) for t, g in zip(table["text"], got))
    print(f"ray_embed: {len(texts)} rows, max abs diff to embed {worst:.3g}")
    assert worst <= 1e-5


def test_classify_writes_labels_and_probs(tsv, tmp_path):
    path, texts = tsv
    out = tmp_path / "out"
    run_example("--model", TINY, "--input", path, "--output", out, "--task", "classify")
    table = read_output(out)
    assert set(table) == {"text", "label", "probs"}
    assert collections.Counter(table["text"]) == collections.Counter(texts)
    direct = {t: r for t, r in zip(texts, lat.Encoder(TINY, threads=1).classify(texts))}
    for text, label, probs in zip(table["text"], table["label"], table["probs"]):
        assert label == direct[text].label_name
        np.testing.assert_allclose(probs, direct[text].probs, atol=1e-5)
