#!/usr/bin/env python3
"""Fine-tunes a checkpoint of any family lat runs (BERT, RoBERTa, XLM-R, DistilBERT, ELECTRA, MPNet)
for sequence classification on a TSV file (text<TAB>label, with a "sentence<TAB>label" header),
optionally with ACC pruning active.

    python tools/finetune/finetune.py --base models/all-MiniLM-L6-v2 \\
        --train data/sst2/train.tsv --out models/minilm-sst2-acc --mode acc --distill 1

--mode plain   ordinary fine-tuning: every step runs the dense model.
--mode acc     every step runs the dense model and the pruned forward of docs/design.md (hard
               selection by ACC, gradients through the kept rows) at a speedup drawn uniformly
               from [--min-speedup, --max-speedup] (default [1, 4]), and adds the two losses, so
               that one model serves every setting of the knob in that range. With --distill W it
               also adds W times the KL divergence of the pruned pass's predictions from the dense
               pass's (the same step's, held fixed), which pulls the pruned model towards the
               dense one rather than only towards the labels.
               With --rank-distill W it also adds W times the KL divergence of each pruning layer's
               ACC, as a distribution over the rows it selects from ([CLS] left out, as it is
               always kept), from the dense pass's last-layer ACC over the same tokens: ranking
               distillation, so that the early layers learn to keep what the last one attends to.
               The pruned pass runs the whole batch at once (pruned_forward_batch), checked on the
               first batch against the per-sequence reference that lat's tests use.
--schedule F   acc mode: prune with the keep exponents and row floor of the lat.json F (as
               lat_tune --search writes it) rather than docs/design.md's geometric schedule; with
               --schedule-speedup S, the exponents F's curve holds for speedup S.

The output folder is what lat loads: config.json (with id2label), model.safetensors and the base
model's tokenizer files; with --subset, also holdout.tsv: up to 2,000 training rows left out of the
subset, on which lat_tune can pick the knob without touching the evaluation split.
"""
import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModelForSequenceClassification, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from lat_reference import (acc_of, encoder_of, head_logits, make_schedule,  # noqa: E402
                           pruned_forward, pruned_forward_batch, shape_of, takes_token_types)

TOKENIZER_FILES = ["vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "tokenizer.json",
                   "tokenizer_config.json", "special_tokens_map.json"]


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    if lines and lines[0] == "sentence\tlabel":
        lines = lines[1:]
    return [(t, int(y)) for t, y in (line.rsplit("\t", 1) for line in lines)]


def token_types(enc):
    """The tokenizer's token type ids, or zeros where its family has none (DistilBERT, MPNet)."""
    return enc.get("token_type_ids") or [[0] * len(i) for i in enc["input_ids"]]


def split(rows, subset, seed, holdout=2000):
    """The training rows (a seeded random subset, or all) and up to `holdout` rows left out of
    them, in file order: the set offline tuning picks the knob on."""
    if not subset or subset >= len(rows):
        return rows, []
    order = random.Random(seed).sample(range(len(rows)), subset)
    picked = set(order)
    train = [rows[i] for i in order]
    rest = [r for i, r in enumerate(rows) if i not in picked]
    return train, rest[:holdout]


def length_grouped_batches(lengths, batch_size, pool=50):
    """One epoch's batches in random order, each of rows of similar length: rows are shuffled,
    sorted by length within pools of `pool` batches and cut, so padding (which the dense pass
    computes and the pruned pass masks) costs little."""
    order = list(range(len(lengths)))
    random.shuffle(order)
    batches = []
    for start in range(0, len(order), batch_size * pool):
        chunk = sorted(order[start:start + batch_size * pool], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    random.shuffle(batches)
    return batches


def keep_counts(cfg, ids, speedup, exponents=None, floor=0.0):
    """Each sequence's keep counts per layer at `speedup` (docs/design.md, "The schedule"), under
    the keep exponents and row floor given (None and 0: the geometric schedule, one row)."""
    return [make_schedule(len(i), *shape_of(cfg), speedup, exponents, floor)[0] for i in ids]


def read_schedule(path, layers, speedup=None):
    """The keep exponents and row floor of a lat.json, read by lat's own reader (lat.read_settings):
    those of its knob, or those its curve holds for `speedup`."""
    import lat  # the package of this repository: pip install .

    try:
        settings = lat.read_settings(path)
    except lat.Error as e:
        sys.exit(str(e))
    exponents = settings.exponents or None
    if speedup is not None:
        points = [p for p in settings.curve if p.speedup == speedup]
        if not points:
            sys.exit(f"{path}: its curve has no speedup {speedup}")
        exponents = points[0].exponents or None
    if exponents is not None and len(exponents) != layers:
        sys.exit(f"{path}: exponents give {len(exponents)} values for a model of {layers} layers")
    return exponents, settings.floor or 0.0


def pruned_logits(model, ids, types, keep, accs=None, score=acc_of):
    """Logits of each sequence (no padding) through the pruned encoder with keep counts `keep`;
    `score` ranks the rows (ACC unless a probe passes another), and each layer's score goes to
    `accs` when it is a list (pruned_forward_batch)."""
    hidden, _, _ = pruned_forward_batch(encoder_of(model), [torch.tensor(i) for i in ids],
                                        [torch.tensor(t) for t in types], keep, accs, score)
    return head_logits(model, hidden)


def rank_loss(teacher, accs, keep):
    """Mean over the layers that drop rows of KL(teacher's ACC || the layer's ACC), both as
    distributions over the layer's live rows other than [CLS]."""
    keep = torch.tensor(keep)
    terms = []
    for l, (acc, live, positions) in enumerate(accs):
        if bool((keep[:, l] >= live.sum(dim=1)).all()):
            continue
        rows = live.clone()
        rows[:, 0] = False
        t, s = (a * rows / (a * rows).sum(dim=1, keepdim=True).clamp_min(1e-12)
                for a in (torch.gather(teacher, 1, positions).detach(), acc))
        terms.append(F.kl_div(s.clamp_min(1e-12).log(), t, reduction="batchmean"))
    return torch.stack(terms).mean() if terms else torch.zeros(())


def check_batched_forward(model, ids, types, speedup, schedule):
    """The batched pruned forward must keep the rows and give the outputs of the per-sequence
    reference; checked once on the first batch, so training never runs through a wrong forward."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        keep = keep_counts(model.config, ids, speedup, *schedule)
        tensors = [torch.tensor(i) for i in ids], [torch.tensor(t) for t in types]
        hidden, live, positions = pruned_forward_batch(encoder_of(model), *tensors, keep)
        for b, (i, t, k) in enumerate(zip(*tensors, keep)):
            h, p, _ = pruned_forward(encoder_of(model), i, t, k)
            if int(live[b].sum()) != len(p) or not torch.equal(positions[b, : len(p)], p) \
                    or (hidden[b, : len(p)] - h).abs().max() > 1e-4:
                sys.exit(f"batched pruned forward disagrees with the reference on sequence {b}")
    model.train(was_training)


def dense_pass(model, ids, types, pad_id, rank=False):
    """The dense model's logits over the padded batch, and with `rank` its last-layer ACC (else
    None)."""
    n = max(len(i) for i in ids)
    input_ids = torch.full((len(ids), n), pad_id)
    token_types = torch.zeros((len(ids), n), dtype=torch.long)
    mask = torch.zeros((len(ids), n), dtype=torch.long)
    for r, (i, t) in enumerate(zip(ids, types)):
        input_ids[r, : len(i)] = torch.tensor(i)
        token_types[r, : len(t)] = torch.tensor(t)
        mask[r, : len(i)] = 1
    types = {"token_type_ids": token_types} if takes_token_types(model.config) else {}
    out = model(input_ids=input_ids, attention_mask=mask, output_attentions=rank, **types)
    return out.logits, acc_of(out.attentions[-1], mask.bool()) if rank else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True,
                    help="Hugging Face model folder to start from (or a folder this script wrote, to continue)")
    ap.add_argument("--train", required=True, help="TSV: text<TAB>label")
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", choices=["plain", "acc"], default="acc")
    ap.add_argument("--min-speedup", type=float, default=1.0,
                    help="acc mode: the pruned pass's speedup is drawn from [--min-speedup, --max-speedup]")
    ap.add_argument("--max-speedup", type=float, default=4.0)
    ap.add_argument("--distill", type=float, default=0.0,
                    help="acc mode: weight of the KL divergence of the pruned logits from the dense ones")
    ap.add_argument("--rank-distill", type=float, default=0.0,
                    help="acc mode: weight of the KL divergence of each pruning layer's ACC from the "
                         "dense pass's last-layer ACC")
    ap.add_argument("--schedule", help="lat.json whose keep exponents and row floor the pruned pass uses")
    ap.add_argument("--schedule-speedup", type=float,
                    help="with --schedule: the exponents its curve holds for this speedup, not its knob's")
    ap.add_argument("--labels", default="negative,positive", help="names of labels 0, 1, ...")
    ap.add_argument("--subset", type=int, default=0, help="train on this many random rows (0: all)")
    ap.add_argument("--min-tokens", type=int, default=0,
                    help="train only on rows of at least this many tokens ([CLS] and [SEP] included)")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not 1.0 <= args.min_speedup <= args.max_speedup:
        ap.error("speedups must satisfy 1 <= --min-speedup <= --max-speedup")

    rank = args.mode == "acc" and args.rank_distill > 0

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.labels.split(",")
    tok = AutoTokenizer.from_pretrained(args.base)
    model = AutoModelForSequenceClassification.from_pretrained(
        args.base, num_labels=len(names), id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)}, dtype=torch.float32,
        # the last layer's attention probabilities, for --rank-distill, come from the eager path
        **({"attn_implementation": "eager"} if rank else {}))
    schedule = read_schedule(args.schedule, shape_of(model.config)[0], args.schedule_speedup) \
        if args.schedule else (None, 0.0)
    rows = read_tsv(args.train)
    enc = tok([t for t, _ in rows], truncation=True, max_length=args.max_length)
    rows = list(zip(rows, enc["input_ids"], token_types(enc)))
    if args.min_tokens:
        rows = [r for r in rows if len(r[1]) >= args.min_tokens]
        print(f"{len(rows)} rows of {args.train} have at least {args.min_tokens} tokens", flush=True)
    rows, held = split(rows, args.subset, args.seed)
    data = [(ids, types, y) for (_, y), ids, types in rows]
    steps_per_epoch = (len(data) + args.batch_size - 1) // args.batch_size
    total_steps = int(steps_per_epoch * args.epochs)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, total_steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / max(1, total_steps - warmup))))
    print(f"{args.mode} fine-tuning of {args.base} on {len(data)} rows of {args.train}: "
          f"{total_steps} steps of {args.batch_size}, max length {args.max_length}"
          + (f", speedups drawn from [{args.min_speedup}, {args.max_speedup}]" if args.mode == "acc" else "")
          + (f", exponents {schedule[0]}, floor {schedule[1]}" if args.schedule else ""), flush=True)

    model.train()
    step, epoch_start, start, loss_avg = 0, time.time(), time.time(), None
    batches = []
    while step < total_steps:
        if not batches:
            batches = length_grouped_batches([len(ids) for ids, _, _ in data], args.batch_size)
            if step:
                print(f"epoch done in {time.time() - epoch_start:.0f} s", flush=True)
            epoch_start = time.time()
        batch = [data[i] for i in batches.pop()]
        ids, types, labels = zip(*batch)
        labels = torch.tensor(labels)
        dense, teacher_acc = dense_pass(model, ids, types, tok.pad_token_id, rank)
        loss = F.cross_entropy(dense, labels)
        if args.mode == "acc":
            s = random.uniform(args.min_speedup, args.max_speedup)
            if step == 0:
                check_batched_forward(model, ids, types, s, schedule)
            keep = keep_counts(model.config, ids, s, *schedule)
            accs = [] if rank else None
            pruned = pruned_logits(model, ids, types, keep, accs)
            loss = loss + F.cross_entropy(pruned, labels)
            if args.distill:
                teacher = F.log_softmax(dense.detach(), dim=-1)
                loss = loss + args.distill * F.kl_div(F.log_softmax(pruned, dim=-1), teacher,
                                                      log_target=True, reduction="batchmean")
            if rank:
                loss = loss + args.rank_distill * rank_loss(teacher_acc, accs, keep)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        if step % 20 == 0 or step == total_steps:
            elapsed = time.time() - start
            print(f"step {step}/{total_steps} loss {loss_avg:.4f} {elapsed:.0f} s "
                  f"(eta {elapsed / step * (total_steps - step):.0f} s)", flush=True)
    print(f"last epoch {time.time() - epoch_start:.0f} s; total {time.time() - start:.0f} s", flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out)
    for name in TOKENIZER_FILES:
        if (Path(args.base) / name).exists():
            shutil.copy(Path(args.base) / name, out / name)
    if held:
        with open(out / "holdout.tsv", "w", encoding="utf-8") as f:
            f.write("sentence\tlabel\n" + "".join(f"{t}\t{y}\n" for (t, y), _, _ in held))
    (out / "training.json").write_text(json.dumps({**vars(args), "steps": total_steps,
                                                   "seconds": round(time.time() - start)}, indent=1))
    print("saved", out)


if __name__ == "__main__":
    main()
