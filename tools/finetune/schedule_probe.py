#!/usr/bin/env python3
"""Accuracy of a fine-tuned classifier under DESIGN.md's keep schedule and under alternatives of the
same predicted speedup that spare the first layers (every row kept there, the geometric decay
starting after them), through the reference pruned forward:

    python tools/finetune/schedule_probe.py --model models/minilm-imdb-acc-distill-4ep-8k \\
        --data ../shared/data/imdb/test.tsv --max-length 512 --speedup 3 --spared 0,1

Spared 0 is DESIGN.md's schedule and gives lat's own accuracy; the others are not in lat.
"""
import argparse

import torch
from finetune import keep_counts, pruned_logits, read_tsv, token_types
from lat_reference import shape_of, sparing
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="TSV: text<TAB>label, with a header")
    ap.add_argument("--speedup", type=float, required=True)
    ap.add_argument("--spared", default="0,1", help="comma-separated numbers of leading layers spared")
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
    for spared in (int(x) for x in args.spared.split(",")):
        correct = 0
        with torch.no_grad():
            for start in range(0, len(order), 16):
                batch = order[start:start + 16]
                ids = [enc["input_ids"][i] for i in batch]
                types = [all_types[i] for i in batch]
                keep = keep_counts(cfg, ids, args.speedup, sparing(shape_of(cfg)[0], spared))
                predicted = pruned_logits(model, ids, types, keep).argmax(-1).tolist()
                correct += sum(p == labels[i] for p, i in zip(predicted, batch))
        example = keep_counts(cfg, [range(250)], args.speedup, sparing(shape_of(cfg)[0], spared))[0]
        print(f"speedup {args.speedup:g}, {spared} layer(s) spared: accuracy {100 * correct / len(rows):.2f} "
              f"on {len(rows)} rows (keep counts at 250 tokens: {example})", flush=True)


if __name__ == "__main__":
    main()
