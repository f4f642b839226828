#!/usr/bin/env python3
"""lat's Python package against sentence-transformers on texts no test uses.

    python tools/reference/python_parity.py [--model models/all-MiniLM-L6-v2]

Run with the reference environment (torch, sentence-transformers) and lat importable (pip install
. into it, or PYTHONPATH to an unpacked wheel). Texts: SST-2 train lines 30,000 to 30,499 (short)
and IMDB train reviews 5,000 to 5,099 (long: cut at the model's 256 tokens by both). Prints the
largest absolute difference of any embedding value; the package is held to 1e-4.
"""
import argparse
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer

import lat

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"


def texts(path, start, count):
    lines = (DATA / path).read_text(encoding="utf-8").split("\n")[1:]
    return [line.rsplit("\t", 1)[0] for line in lines if line][start : start + count]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "models" / "all-MiniLM-L6-v2"))
    args = p.parse_args()
    reference = SentenceTransformer(args.model, device="cpu")
    encoder = lat.Encoder(args.model)
    worst_all = 0.0
    for name, batch in (("SST-2 train 30000..30499", texts("sst2/train.tsv", 30000, 500)),
                        ("IMDB train 5000..5099", texts("imdb/train.tsv", 5000, 100))):
        expected = reference.encode(batch, batch_size=32, convert_to_numpy=True)
        got = encoder.encode(batch, batch_size=32)
        worst = float(np.abs(got - expected).max())
        worst_all = max(worst_all, worst)
        print(f"{name}: {len(batch)} texts, max abs diff {worst:.3g}")
    print(f"max abs diff {worst_all:.3g} (bound 1e-4): {'ok' if worst_all <= 1e-4 else 'FAILED'}")
    return 0 if worst_all <= 1e-4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
