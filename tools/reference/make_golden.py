#!/usr/bin/env python3
"""Writes the golden files the C++ tests compare lat against.

Everything here is computed by the reference implementation: Hugging Face transformers and
tokenizers on PyTorch. Run by hand after changing what is covered:

    python tools/reference/make_golden.py --model models/all-MiniLM-L6-v2 --out tests/golden

Outputs (small enough to commit):
  token_ids_<set>.txt   one FNV-1a-64 digest of the token ids per line of each data file
  hard_cases.json       full ids of hand-made hard inputs (accents, CJK, emoji, pairs, ...)
  minilm.json/.f32      last hidden states (sampled rows, every column), embeddings and logits
                        of all-MiniLM-L6-v2 and of a BertForSequenceClassification made on it
  tiny-bert/            a hand-made BF16 model of unusual shape, and tiny.json/.f32 its outputs
  *_pruned.json/.f32    the pruned forward (lat_reference.py) at speedups 1.5, 2 and 3: keep
                        counts, kept positions of every layer, hidden rows, embeddings, logits
"""
import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, BertModel

from golden_texts import DATA, HARD_CASES, HARD_PAIRS, PAIR_MAX_LENGTHS, encode_pair, fnv1a64, read_tsv  # noqa: F401
from lat_reference import make_schedule, pruned_forward

DATA_FILES = {
    "sst2_train": "sst2/train.tsv",
    "sst2_dev": "sst2/dev.tsv",
    "imdb_train": "imdb/train.tsv",
    "imdb_test": "imdb/test.tsv",
}
MAX_SAMPLED_ROWS = 16
SPEEDUPS = [1.5, 2.0, 3.0]


def short(t):
    """A float32 tensor as a list of the shortest decimals that read back to the same floats."""
    return [float(str(v)) for v in t.detach().numpy().astype(np.float32).ravel()]


def sampled_rows(n):
    if n <= MAX_SAMPLED_ROWS:
        return list(range(n))
    return sorted({round(i * (n - 1) / (MAX_SAMPLED_ROWS - 1)) for i in range(MAX_SAMPLED_ROWS)})


def hard_cases(tok):
    cases = []
    for text in HARD_CASES:
        for max_length in (512, 8):
            e = tok(text, truncation=True, max_length=max_length)
            cases.append({"text": text, "max_length": max_length, "ids": e["input_ids"],
                          "type_ids": e["token_type_ids"]})
    for a, b in HARD_PAIRS:
        for max_length in PAIR_MAX_LENGTHS:
            e = encode_pair(tok, a, b, truncation="longest_first", max_length=max_length)
            cases.append({"text": a, "pair": b, "max_length": max_length, "ids": e["input_ids"],
                          "type_ids": e["token_type_ids"]})
    return cases


def pick_inputs(tok, count, lengths, seed):
    """Token id sequences of the given lengths cut from real texts, plus some pairs."""
    rng = np.random.default_rng(seed)
    texts = [t for t, _ in read_tsv(DATA / "sst2" / "dev.tsv")]
    long_texts = [t for t, _ in read_tsv(DATA / "imdb" / "test.tsv")]
    inputs = []
    for n in lengths:
        if n == 1:
            inputs.append({"ids": [tok.cls_token_id], "type_ids": [0]})
            continue
        pool = texts if n <= 40 else long_texts
        while True:
            text = pool[int(rng.integers(len(pool)))]
            e = tok(text, truncation=True, max_length=n)
            if len(e["input_ids"]) == n:
                break
        inputs.append({"text": text, "max_length": n, "ids": e["input_ids"],
                       "type_ids": e["token_type_ids"]})
    while len(inputs) < count:
        a = texts[int(rng.integers(len(texts)))]
        b = texts[int(rng.integers(len(texts)))]
        e = encode_pair(tok, a, b, truncation=True, max_length=512)
        inputs.append({"text": a, "pair": b, "max_length": 512, "ids": e["input_ids"],
                       "type_ids": e["token_type_ids"]})
    return inputs


@torch.inference_mode()
def run_reference(model, inputs, out_f32, offset):
    """Runs each input alone (no padding) and appends sampled hidden rows to out_f32."""
    for item in inputs:
        ids = torch.tensor([item["ids"]])
        types = torch.tensor([item["type_ids"]])
        if isinstance(model, BertForSequenceClassification):
            out = model(input_ids=ids, token_type_ids=types, output_hidden_states=True)
            hidden = out.hidden_states[-1][0]
            item["logits"] = out.logits[0].tolist()
        else:
            hidden = model(input_ids=ids, token_type_ids=types).last_hidden_state[0]
        mean = hidden.mean(dim=0)
        item["mean_embedding"] = (mean / mean.norm().clamp_min(1e-12)).tolist()
        item["cls_embedding"] = hidden[0].tolist()
        rows = sampled_rows(hidden.shape[0])
        values = hidden[rows].numpy().astype("<f4")
        item["rows"] = rows
        item["offset"] = offset
        offset += values.size
        out_f32.write(values.tobytes())
    return offset


def write_reference(path, model, inputs, extra):
    with open(path.with_suffix(".f32"), "wb") as f32:
        run_reference(model, inputs, f32, 0)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({**extra, "inputs": inputs}, f, ensure_ascii=False)


@torch.inference_mode()
def write_pruned_reference(path, classifier, inputs, speedups):
    """The pruned forward of every input at every speedup, one input at a time."""
    bert = classifier.bert
    cfg = bert.config
    cases = []
    with open(path.with_suffix(".f32"), "wb") as f32:
        offset = 0
        for index, item in enumerate(inputs):
            ids = torch.tensor(item["ids"])
            types = torch.tensor(item["type_ids"])
            for s in speedups:
                keep, r, predicted, reached = make_schedule(
                    len(item["ids"]), cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size, s)
                hidden, positions, trace = pruned_forward(bert, ids, types, keep)
                logits = classifier.classifier(bert.pooler(hidden[None]))[0]
                mean = hidden.mean(dim=0)
                rows = sampled_rows(hidden.shape[0])
                values = hidden[rows].numpy().astype("<f4")
                f32.write(values.tobytes())
                cases.append({
                    "input": index, "speedup": s, "keep": keep, "ratio": r, "predicted": predicted,
                    "reached": reached, "positions": positions.tolist(),
                    "layers": [{"kept": kept.tolist(), "acc": short(acc)} for acc, kept in trace],
                    "rows": rows, "offset": offset, "logits": short(logits),
                    "mean_embedding": short(mean / mean.norm().clamp_min(1e-12)),
                    "cls_embedding": short(hidden[0]),
                })
                offset += values.size
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"tolerance": 1e-4, "inputs": inputs, "cases": cases}, f, ensure_ascii=False)


def make_tiny_model(minilm_dir, out_dir, seed):
    """A BF16 BertForSequenceClassification of unusual shape on a 5000-token vocabulary."""
    torch.manual_seed(seed)
    vocab = Path(minilm_dir, "vocab.txt").read_text(encoding="utf-8").split("\n")[:5000]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (out_dir / "tokenizer_config.json").write_text(json.dumps(
        {"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizer"}))
    config = BertConfig(vocab_size=5000, hidden_size=48, num_hidden_layers=5,
                        num_attention_heads=3, intermediate_size=100, hidden_act="gelu",
                        max_position_embeddings=512, type_vocab_size=2, initializer_range=0.2,
                        num_labels=3, id2label={0: "red", 1: "green", 2: "blue"},
                        label2id={"red": 0, "green": 1, "blue": 2})
    model = BertForSequenceClassification(config).eval()
    model.to(torch.bfloat16).save_pretrained(out_dir)
    for extra in ("model.safetensors.index.json",):
        if (out_dir / extra).exists():
            os.remove(out_dir / extra)
    # The reference runs the BF16 weights in fp32, as lat does.
    return BertForSequenceClassification.from_pretrained(out_dir, torch_dtype=torch.float32).eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="all-MiniLM-L6-v2 folder (tools/fetch_model.sh)")
    ap.add_argument("--out", default="tests/golden")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--skip-data", action="store_true", help="do not rewrite the data digests")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)
    tok = AutoTokenizer.from_pretrained(args.model)

    if not args.skip_data:
        for name, rel in DATA_FILES.items():
            rows = read_tsv(DATA / rel)
            enc = tok([t for t, _ in rows], truncation=True, max_length=512)["input_ids"]
            with open(out / f"token_ids_{name}.txt", "w") as f:
                f.write(f"# {rel}: FNV-1a-64 of the little-endian int32 ids, max_length 512\n")
                for ids in enc:
                    f.write(f"{fnv1a64(ids):016x}\n")
            print(f"{rel}: {len(rows)} digests")

    with open(out / "hard_cases.json", "w", encoding="utf-8") as f:
        json.dump(hard_cases(tok), f, ensure_ascii=False, indent=0)

    lengths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 19, 23, 27, 32, 37, 41, 48, 57, 64, 77,
               96, 111, 128, 150, 177, 200, 230, 256, 300, 333, 384, 420, 450, 480, 500, 511, 512]
    inputs = pick_inputs(tok, 54, lengths, args.seed)
    encoder = BertModel.from_pretrained(args.model, add_pooling_layer=False).eval()
    torch.manual_seed(args.seed)
    labels = {0: "negative", 1: "neutral", 2: "positive"}
    classifier = BertForSequenceClassification.from_pretrained(
        args.model, num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()}).eval()
    head = {"classifier.weight": classifier.classifier.weight.detach().numpy().tolist(),
            "classifier.bias": classifier.classifier.bias.detach().numpy().tolist(),
            "config": classifier.config.to_dict()}
    write_reference(out / "minilm.json", encoder, inputs, {"tolerance": 1e-4})
    # Same inputs through the classifier: its logits (the encoder part is the same model).
    with torch.inference_mode():
        for item in inputs:
            item["logits"] = classifier(input_ids=torch.tensor([item["ids"]]),
                                        token_type_ids=torch.tensor([item["type_ids"]])).logits[0].tolist()
    with open(out / "minilm.json", "r+", encoding="utf-8") as f:
        data = json.load(f)
        for item, ref in zip(data["inputs"], inputs):
            item["logits"] = ref["logits"]
        data["classifier_head"] = head
        f.seek(0)
        json.dump(data, f, ensure_ascii=False)
        f.truncate()

    tiny = make_tiny_model(args.model, out / "tiny-bert", args.seed)
    tiny_tok = AutoTokenizer.from_pretrained(out / "tiny-bert")
    tiny_inputs = pick_inputs(tiny_tok, 24, [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 512],
                              args.seed + 1)
    write_reference(out / "tiny.json", tiny, tiny_inputs, {"tolerance": 1e-4})

    # Pruned: 32 inputs of 2 to 512 tokens on MiniLM (with the seeded classifier), all on tiny.
    pruned_inputs = [i for i in inputs[:40] if len(i["ids"]) >= 2]
    for item in pruned_inputs + tiny_inputs:
        for key in ("rows", "offset", "mean_embedding", "cls_embedding", "logits"):
            item.pop(key, None)
    write_pruned_reference(out / "minilm_pruned.json", classifier, pruned_inputs, SPEEDUPS)
    write_pruned_reference(out / "tiny_pruned.json", tiny, tiny_inputs, SPEEDUPS)

    # Cross-check: sentence-transformers gives the same embeddings as mean pooling above.
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(args.model, device="cpu")
    short = [i for i in inputs if "text" in i and "pair" not in i and i["max_length"] < 64][:5]
    emb = st.encode([i["text"] for i in short], convert_to_numpy=True)
    for item, e in zip(short, emb):
        ids = tok(item["text"], truncation=True, max_length=256)["input_ids"]
        if ids == item["ids"]:
            assert np.abs(np.array(item["mean_embedding"]) - e).max() < 1e-5
    print("golden files written to", out)


if __name__ == "__main__":
    main()
