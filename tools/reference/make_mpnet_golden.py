#!/usr/bin/env python3
"""Writes the golden files for all-mpnet-base-v2 (MPNet, 12 layers), from sentence-transformers.

    tools/fetch_model.sh all-mpnet-base-v2
    python tools/reference/make_mpnet_golden.py --model models/all-mpnet-base-v2 --out tests/golden

Outputs (small enough to commit):
  mpnet_token_ids_<set>.txt  one FNV-1a-64 digest of the token ids per line of SST-2 dev and IMDB
                             test, as sentence-transformers cuts them (max_seq_length 384)
  mpnet.json / mpnet.f32     the hard cases, SST-2 dev and IMDB test texts: their token ids and
                             their normalised mean-pooled embeddings from SentenceTransformer.encode
"""
import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from make_golden import DATA, HARD_CASES, fnv1a64, read_tsv

SETS = {"sst2_dev": "sst2/dev.tsv", "imdb_test": "imdb/test.tsv"}
# Literal special tokens of this tokenizer, and <mask>, whose added token strips spaces on its left.
MPNET_CASES = ["the <mask> was <s> here </s> and <pad> <unk> [UNK]", "a  <mask>b <mask>", "<mask>"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="all-mpnet-base-v2 folder (tools/fetch_model.sh)")
    ap.add_argument("--out", default="tests/golden")
    ap.add_argument("--seed", type=int, default=20261130)
    args = ap.parse_args()
    out = Path(args.out)
    torch.set_num_threads(os.cpu_count() or 1)
    st = SentenceTransformer(args.model, device="cpu")
    tok, max_length = st.tokenizer, st.max_seq_length

    for name, rel in SETS.items():
        texts = [t for t, _ in read_tsv(DATA / rel)]
        ids = tok(texts, truncation=True, max_length=max_length)["input_ids"]
        with open(out / f"mpnet_token_ids_{name}.txt", "w") as f:
            f.write(f"# {rel}: FNV-1a-64 of the little-endian int32 ids, max_length {max_length}\n")
            f.writelines(f"{fnv1a64(i):016x}\n" for i in ids)
        print(f"{rel}: {len(ids)} digests")

    rng = np.random.default_rng(args.seed)
    sst2 = [t for t, _ in read_tsv(DATA / SETS["sst2_dev"])]
    imdb = [t for t, _ in read_tsv(DATA / SETS["imdb_test"])]
    texts = (HARD_CASES + MPNET_CASES + [sst2[i] for i in rng.choice(len(sst2), 32, replace=False)]
             + [imdb[i] for i in rng.choice(len(imdb), 8, replace=False)])
    embeddings = st.encode(texts, batch_size=8, convert_to_numpy=True)
    ids = tok(texts, truncation=True, max_length=max_length)["input_ids"]
    embeddings.astype("<f4").tofile(out / "mpnet.f32")
    with open(out / "mpnet.json", "w", encoding="utf-8") as f:
        json.dump({"tolerance": 1e-4, "max_seq_length": max_length, "dimension": embeddings.shape[1],
                   "inputs": [{"text": t, "ids": i} for t, i in zip(texts, ids)]},
                  f, ensure_ascii=False)
    print(f"mpnet.json: {len(texts)} texts, longest {max(len(i) for i in ids)} tokens")


if __name__ == "__main__":
    main()
