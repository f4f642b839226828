#!/usr/bin/env python3
"""Writes tests/golden/minilm_sst2_head.json: a real sentiment classifier on all-MiniLM-L6-v2 for
the tests of lower precisions, and what the reference computes with it.

The encoder stays as published; only the 2-label head (BertForSequenceClassification's
`classifier` on its pooler) is trained, by logistic regression on the pooled features of 4,000
SST-2 training sentences. The file holds the head, its config and transformers' fp32 logits and
labels for every sentence of SST-2 dev, so that the tests can compare the labels lat gives at
bf16 and int8 with the reference's without torch. Run by hand:

    python tools/reference/make_sst2_head.py --model models/all-MiniLM-L6-v2 --out tests/golden
"""
import argparse
import json
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertForSequenceClassification

DATA = Path(__file__).resolve().parents[2] / "data" / "sst2"


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()][1:]
    return [(t, int(y)) for t, y in (line.rsplit("\t", 1) for line in lines)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", default="tests/golden")
    ap.add_argument("--seed", type=int, default=20261129)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    tok = AutoTokenizer.from_pretrained(args.model)
    labels = {0: "negative", 1: "positive"}
    model = BertForSequenceClassification.from_pretrained(
        args.model, num_labels=2, id2label=labels, label2id={v: k for k, v in labels.items()}).eval()

    def pooled(texts):
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), 64):
                enc = tok(texts[start:start + 64], padding=True, truncation=True, max_length=128,
                          return_tensors="pt")
                out.append(model.bert(**enc).pooler_output)
        return torch.cat(out)

    train = read_tsv(DATA / "train.tsv")
    picked = torch.randperm(len(train))[:4000].tolist()
    features = pooled([train[i][0] for i in picked])
    targets = torch.tensor([train[i][1] for i in picked])
    head = torch.nn.Linear(features.shape[1], 2)
    optimizer = torch.optim.LBFGS(head.parameters(), max_iter=500, line_search_fn="strong_wolfe")

    def loss_fn():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(features), targets) + 1e-4 * head.weight.square().sum()
        loss.backward()
        return loss
    optimizer.step(loss_fn)
    model.classifier.weight.data.copy_(head.weight.data)
    model.classifier.bias.data.copy_(head.bias.data)

    dev = read_tsv(DATA / "dev.tsv")
    logits = []
    with torch.inference_mode():
        for text, _ in dev:  # one at a time: no padding in the reference
            logits.append(model(**tok(text, truncation=True, max_length=512, return_tensors="pt")).logits[0].tolist())
    predicted = [int(l[1] > l[0]) for l in logits]
    accuracy = sum(p == y for p, (_, y) in zip(predicted, dev)) / len(dev)
    data = {"about": "2-label head trained on frozen all-MiniLM-L6-v2 pooled features of 4,000 SST-2 "
                     "training sentences; reference logits and labels of every SST-2 dev sentence",
            "classifier.weight": model.classifier.weight.detach().tolist(),
            "classifier.bias": model.classifier.bias.detach().tolist(),
            "config": model.config.to_dict(),
            "dev_logits": logits, "dev_labels": predicted, "dev_accuracy": accuracy}
    with open(Path(args.out) / "minilm_sst2_head.json", "w", encoding="utf-8") as f:
        json.dump(data, f)
    print(f"SST-2 dev accuracy of the reference: {accuracy:.4f}")


if __name__ == "__main__":
    main()
