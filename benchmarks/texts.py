"""The data splits the benchmarks read: data/<set>/<split>.tsv, a header, then one text and its
label a line, tab-separated (data/README.md)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPLITS = {"sst2": "sst2/dev.tsv", "sst2-train": "sst2/train.tsv", "imdb": "imdb/test.tsv"}


def rows(name):
    """(text, label) of every row of a split, in order: sst2 (dev), sst2-train or imdb (test)."""
    lines = (ROOT / "data" / SPLITS[name]).read_text(encoding="utf-8").split("\n")[1:]
    return [(text, int(label)) for text, label in (line.rsplit("\t", 1) for line in lines if line)]


def texts(name, limit=None):
    """The texts of a split, in order; the first `limit` of them when given."""
    out = [text for text, _ in rows(name)]
    return out[:limit] if limit else out
