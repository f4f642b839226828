#!/usr/bin/env python3
"""Accuracy of a fine-tuned classifier under docs/design.md's keep schedule and keep rule, and
under alternatives of the same predicted speedup, through the reference pruned forward:
- schedules that spare the first layers (every row kept there, the geometric decay starting after
  them): --spared;
- rules that rank the rows by another score than ACC: --scores, from
    acc     docs/design.md's ACC: the attention every live query, the row itself included, pays
            the row;
    others  ACC without the row's attention to itself: only what the rest of the sequence pays it;
    cls     the attention the [CLS] query alone pays the row.

    python tools/finetune/schedule_probe.py --model models/minilm-imdb-acc-distill-4ep-8k \\
        --data data/imdb/test.tsv --max-length 512 --speedup 3 --spared 0,1

Spared 0 with score acc is docs/design.md's pruning and gives lat's own accuracy; the others are
not in lat. Each line after the first also counts the rows it labels rightly and the first line
wrongly, and the reverse: the paired difference, which is what tells a real gain from chance.
"""
import argparse

import torch
from finetune import keep_counts, pruned_logits, read_tsv, token_types
from lat_reference import acc_of, shape_of, sparing
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def acc_of_others(probs, live):
    """ACC less each row's attention to itself (averaged over heads, as ACC is)."""
    return acc_of(probs, live) - torch.diagonal(probs, dim1=-2, dim2=-1).mean(dim=1) * live


def cls_attention_of(probs, live):
    """The attention [CLS] (query 0) pays each row, averaged over heads."""
    return probs[:, :, 0, :].mean(dim=1) * live


SCORES = {"acc": acc_of, "others": acc_of_others, "cls": cls_attention_of}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="TSV: text<TAB>label, with a header")
    ap.add_argument("--speedup", type=float, required=True)
    ap.add_argument("--spared", default="0,1", help="comma-separated numbers of leading layers spared")
    ap.add_argument("--scores", default="acc", help="comma-separated keep scores: " + ", ".join(SCORES))
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, dtype=torch.float32).eval()
    cfg = model.config
    rows = read_tsv(args.data)
    enc = tok([t for t, _ in rows], truncation=True, max_length=args.max_length)
    all_types = token_types(enc)
    labels = [y for _, y in rows]
    order = sorted(range(len(rows)), key=lambda i: len(enc["input_ids"][i]))
    scores = args.scores.split(",")
    for name in scores:
        if name not in SCORES:
            ap.error(f"--scores: unknown score {name!r} (known: {', '.join(SCORES)})")
    first = None
    for spared in (int(x) for x in args.spared.split(",")):
        exponents = sparing(shape_of(cfg)[0], spared)
        example = keep_counts(cfg, [range(250)], args.speedup, exponents)[0]
        batches = []  # (rows, ids, type ids, keep counts): the same for every score
        for start in range(0, len(order), 16):
            batch = order[start:start + 16]
            ids = [enc["input_ids"][i] for i in batch]
            batches.append((batch, ids, [all_types[i] for i in batch],
                            keep_counts(cfg, ids, args.speedup, exponents)))
        for name in scores:
            right = {}
            with torch.no_grad():
                for batch, ids, types, keep in batches:
                    logits = pruned_logits(model, ids, types, keep, score=SCORES[name])
                    right.update((i, p == labels[i]) for p, i in zip(logits.argmax(-1).tolist(), batch))
            paired = ""
            if first is None:
                first = right
            else:
                gained = sum(right[i] and not first[i] for i in right)
                lost = sum(first[i] and not right[i] for i in right)
                paired = f"; against the first line +{gained} -{lost} rows"
            print(f"speedup {args.speedup:g}, {spared} layer(s) spared, score {name}: accuracy "
                  f"{100 * sum(right.values()) / len(rows):.2f} on {len(rows)} rows{paired} "
                  f"(keep counts at 250 tokens: {example})", flush=True)


if __name__ == "__main__":
    main()
