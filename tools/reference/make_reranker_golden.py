#!/usr/bin/env python3
"""Writes the golden files of the cross-encoder rerankers: two small *ForSequenceClassification
with one label and seeded random weights made by transformers (stored in BF16; the reference runs
those weights in fp32, as lat does), in the shapes of the rerankers users deploy:

  bert         BertForSequenceClassification, WordPiece with token types (ms-marco-MiniLM-L6-v2)
  xlm-roberta  XLMRobertaForSequenceClassification, Unigram (bge-reranker-base)

and what sentence-transformers' CrossEncoder gives on them: `predict` (the default activation,
sigmoid for one logit, and the raw logit), `rank` (all documents and the top 3), and, pruned at
s = 2 by lat_reference.py's pruned forward, the kept positions and logits of every pair.

    python tools/reference/make_reranker_golden.py --out tests/golden

The files were written with sentence-transformers 3.4.1, transformers 4.57.6 and torch 2.8.

Outputs, per shape K:
  rerankers/K/        config.json, model.safetensors (BF16), tokenizer.json, tokenizer_config.json
  rerankers/K.json    pairs (first, second, the ids CrossEncoder's tokenizer gives, truncated
                      longest-first to 512), scores, logits, rank cases and pruned cases
"""
import argparse
import json
import os
import shutil
from pathlib import Path

import torch
from sentence_transformers import CrossEncoder
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig, XLMRobertaConfig

from lat_reference import encoder_of, head_logits, make_schedule, pruned_forward, shape_of, takes_token_types
from make_golden import encode_pair, read_tsv, short
from make_tokenizer_golden import HARD_CASES

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
TOKENIZERS = ROOT / "tests" / "golden" / "tokenizers"
# The WordPiece tokenizer of the golden set, as a BERT tokenizer (its pairs carry token type 1).
TOKENIZER = {"bert": ("distilbert", "BertTokenizer"), "xlm-roberta": ("xlmr", "XLMRobertaTokenizer")}
MAX_LENGTH = 512
PRUNED_SPEEDUP = 2.0


def config_of(kind, tok):
    small = dict(vocab_size=len(tok), num_labels=1, hidden_size=48, num_hidden_layers=3, num_attention_heads=3,
                 intermediate_size=100, initializer_range=0.2, pad_token_id=tok.pad_token_id)
    if kind == "bert":
        return BertConfig(max_position_embeddings=512, type_vocab_size=2, **small)
    return XLMRobertaConfig(max_position_embeddings=514, type_vocab_size=1, **small)


def make_folder(kind, folder, seed):
    source, tokenizer_class = TOKENIZER[kind]
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(TOKENIZERS / source / "tokenizer.json", folder / "tokenizer.json")
    tok_config = json.loads((TOKENIZERS / source / "tokenizer_config.json").read_text())
    tok_config["tokenizer_class"] = tokenizer_class
    tok_config.pop("extra_special_tokens", None)  # a newer transformers' list; <s> and </s> are named anyway
    (folder / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n")
    tok = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_config(config_of(kind, tok)).eval()
    model.to(torch.bfloat16).save_pretrained(folder)
    for stale in ["model.safetensors.index.json", "vocab.txt", "special_tokens_map.json"]:
        (folder / stale).unlink(missing_ok=True)


def pairs_of():
    """Short queries against short sentences, long reviews (cut longest-first), an empty document
    and hard cases; one pair of two long reviews, both cut."""
    sst2 = [t for t, _ in read_tsv(DATA / "sst2" / "dev.tsv")]
    imdb = [t for t, _ in read_tsv(DATA / "imdb" / "test.tsv")]
    queries = sst2[:3] + ["what is the capital of France?"]
    documents = sst2[3:9] + imdb[:3] + ["", HARD_CASES[3], HARD_CASES[5]]
    pairs = [[q, d] for q in queries for d in documents]
    pairs.append([imdb[3], imdb[4]])
    pairs.append([HARD_CASES[4], ""])
    return pairs, sst2, imdb


@torch.inference_mode()
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/golden")
    ap.add_argument("--seed", type=int, default=20261206)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    out = Path(args.out) / "rerankers"
    pairs, sst2, imdb = pairs_of()
    for i, kind in enumerate(TOKENIZER):
        folder = out / kind
        make_folder(kind, folder, args.seed + i)
        ce = CrossEncoder(str(folder), max_length=MAX_LENGTH, device="cpu")
        assert ce.model.dtype == torch.float32 and ce.config.num_labels == 1
        tok = ce.tokenizer
        scores = ce.predict(pairs, batch_size=8)
        logits = ce.predict(pairs, batch_size=8, activation_fct=torch.nn.Identity())
        items = []
        for (first, second), score, logit in zip(pairs, scores, logits):
            e = encode_pair(tok, first, second, truncation="longest_first", max_length=MAX_LENGTH)
            items.append({"first": first, "second": second, "ids": e["input_ids"],
                          "type_ids": e.get("token_type_ids", [0] * len(e["input_ids"])),
                          "score": float(score), "logit": float(logit)})
        query = sst2[10]
        documents = sst2[11:21] + imdb[5:7]
        ranks = []
        for top_k in (None, 3):
            ranked = ce.rank(query, documents, top_k=top_k, return_documents=True, batch_size=8)
            ranks.append({"query": query, "documents": documents, "top_k": top_k,
                          "order": [r["corpus_id"] for r in ranked], "scores": [float(r["score"]) for r in ranked]})
        model, encoder = ce.model, encoder_of(ce.model)
        layers, d, dff = shape_of(model.config)
        pruned = []
        for index, item in enumerate(items):
            n = len(item["ids"])
            keep, _, _, _ = make_schedule(n, layers, d, dff, PRUNED_SPEEDUP)
            types = item["type_ids"] if takes_token_types(model.config) else [0] * n
            hidden, positions, trace = pruned_forward(encoder, torch.tensor(item["ids"]), torch.tensor(types), keep)
            pruned.append({"pair": index, "speedup": PRUNED_SPEEDUP, "keep": keep,
                           "layers": [kept.tolist() for _, kept in trace],
                           "logits": short(head_logits(model, hidden[None])[0])})
        with open(out / f"{kind}.json", "w", encoding="utf-8") as f:
            json.dump({"shape": kind, "tolerance": 1e-4, "max_length": MAX_LENGTH, "pairs": items, "rank": ranks,
                       "pruned": pruned}, f)
        print(f"{kind}: {len(items)} pairs, {sum(len(x['ids']) == MAX_LENGTH for x in items)} cut to {MAX_LENGTH}")


if __name__ == "__main__":
    main()
