#!/usr/bin/env python3
"""Writes the golden files of the encoder families beyond BERT: for RoBERTa, XLM-RoBERTa,
DistilBERT, ELECTRA, MPNet and ModernBERT, a small *ForSequenceClassification with seeded random
weights made by transformers (stored in BF16; the reference runs those weights in fp32, as lat
does), with a tokenizer of the family's own type (tests/golden/tokenizers/, written by
make_tokenizer_golden.py: byte-level BPE for RoBERTa and ModernBERT, Unigram with a Precompiled
normalizer for XLM-RoBERTa, WordPiece for DistilBERT and ELECTRA, WordPiece with
RobertaProcessing for MPNet), and what transformers computes with it, dense and pruned
(lat_reference.py's pruned forward).

ModernBERT comes twice: `modernbert` as published (no biases, the first row to the head) and
`modernbert-mean` with every bias switched on, the mean to the head, gelu_new, one rotary base
for all layers; both with a window of a few tokens, so that local layers mask short inputs too,
inputs up to 1,024 tokens, and biases and norm scales moved off their initial zeros and ones.

    python tools/reference/make_family_golden.py --out tests/golden [--only modernbert ...]

The ModernBERT files were written with transformers 4.57.6 and torch 2.8.

Outputs, per family F:
  families/F/              config.json, model.safetensors (BF16), the family's tokenizer.json
                           and tokenizer_config.json
  families/F.json/.f32     inputs: texts (the hard cases, SST-2 dev and IMDB test sentences; each
                           with the ids AutoTokenizer gives, truncated to 512) and given ids (one
                           with a padding id inside where the family counts positions after
                           padding), their last hidden states (sampled
                           rows), mean and first-row embeddings and logits; the pruned forward at
                           speedups 1.5, 2 and 3 (and at 2 with two other keep exponents:
                           the first layer spared, and [0.5, 1, 2.5]): keep counts, kept positions and ACC of every
                           layer, hidden rows and logits
"""
import argparse
import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DistilBertConfig, ElectraConfig, MPNetConfig,
                          ModernBertConfig, PreTrainedTokenizerFast, RobertaConfig, XLMRobertaConfig)

from lat_reference import (encoder_of, ffn_of, head_logits, make_schedule, pruned_forward, shape_of, sparing,
                           takes_token_types)
from make_golden import read_tsv, sampled_rows, short
from make_tokenizer_golden import HARD_CASES

DATA = Path(__file__).resolve().parents[2] / "data"
TOKENIZERS = Path(__file__).resolve().parents[2] / "tests" / "golden" / "tokenizers"
TOKENIZER_KIND = {"roberta": "roberta", "xlm-roberta": "xlmr", "distilbert": "distilbert",
                  "electra": "electra", "mpnet": "mpnet", "modernbert": "modernbert", "modernbert-mean": "modernbert"}

SPEEDUPS = [1.5, 2.0, 3.0]
LENGTHS = [1, 2, 3, 5, 8, 13, 31, 64, 100, 200, 300]
LONG_LENGTHS = [700, 1024]  # families whose positions reach that far


def max_length_of(kind):
    return 1024 if kind.startswith("modernbert") else 512
LABELS = {0: "red", 1: "green", 2: "blue"}


def configs(tokenizers):
    """Each family's configuration, sized to its tokenizer: vocabulary and special ids."""
    out = {}
    for kind, tok in tokenizers.items():
        common = dict(vocab_size=len(tok), num_labels=3, id2label=LABELS,
                      label2id={v: k for k, v in LABELS.items()}, pad_token_id=tok.pad_token_id)
        small = dict(hidden_size=48, num_hidden_layers=3, num_attention_heads=3, intermediate_size=100,
                     initializer_range=0.2, **common)
        if kind == "roberta":
            out[kind] = RobertaConfig(max_position_embeddings=514, type_vocab_size=1, **small)
        elif kind == "xlm-roberta":
            out[kind] = XLMRobertaConfig(max_position_embeddings=514, type_vocab_size=1, hidden_act="gelu_new",
                                         **small)
        elif kind == "distilbert":
            out[kind] = DistilBertConfig(dim=48, n_layers=3, n_heads=3, hidden_dim=100, max_position_embeddings=512,
                                         initializer_range=0.2, activation="gelu", **common)
        elif kind == "electra":
            out[kind] = ElectraConfig(embedding_size=32, max_position_embeddings=512, type_vocab_size=2, **small)
        elif kind == "mpnet":
            out[kind] = MPNetConfig(max_position_embeddings=514, relative_attention_num_buckets=32, **small)
        else:
            modern = dict(small, intermediate_size=64, num_hidden_layers=4, max_position_embeddings=1024,
                          global_attn_every_n_layers=3, cls_token_id=tok.cls_token_id, sep_token_id=tok.sep_token_id,
                          bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id)
            if kind == "modernbert":
                out[kind] = ModernBertConfig(local_attention=16, **modern)
            else:
                out[kind] = ModernBertConfig(local_attention=8, attention_bias=True, mlp_bias=True, norm_bias=True,
                                             classifier_bias=True, classifier_pooling="mean",
                                             hidden_activation="gelu_new", global_rope_theta=10000.0,
                                             local_rope_theta=None, **modern)
    return out


def make_model(kind, config, folder, seed):
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_config(config).eval()
    if kind.startswith("modernbert"):  # biases and norm scales start at 0 and 1: move them
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() == 1:
                    p.add_(0.1 * torch.randn_like(p))
    folder.mkdir(parents=True, exist_ok=True)
    model.to(torch.bfloat16).save_pretrained(folder)
    if (folder / "model.safetensors.index.json").exists():
        os.remove(folder / "model.safetensors.index.json")
    for stale in ["vocab.txt", "special_tokens_map.json"]:
        (folder / stale).unlink(missing_ok=True)
    for name in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(TOKENIZERS / TOKENIZER_KIND[kind] / name, folder / name)
    if kind.startswith("modernbert"):  # a class transformers 4 knows too, and the longer inputs
        tok_config = json.loads((folder / "tokenizer_config.json").read_text())
        tok_config.update(tokenizer_class="PreTrainedTokenizerFast", model_max_length=max_length_of(kind))
        tok_config.pop("backend", None)
        (folder / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n")
    return AutoModelForSequenceClassification.from_pretrained(folder, torch_dtype=torch.float32).eval()


def load_tokenizer(kind):
    folder = TOKENIZERS / TOKENIZER_KIND[kind]
    if kind.startswith("modernbert"):
        return PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"), unk_token="[UNK]",
                                       cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", mask_token="[MASK]")
    return AutoTokenizer.from_pretrained(folder)


def evaluation_texts():
    """The hard cases, then sentences of SST-2 dev and reviews of IMDB test (the long ones run
    past 512 tokens and are truncated)."""
    sst2 = read_tsv(DATA / "sst2" / "dev.tsv")
    imdb = read_tsv(DATA / "imdb" / "test.tsv")
    return HARD_CASES + [t for t, _ in sst2[:12]] + [t for t, _ in imdb[:4]]


def make_inputs(kind, config, tok, seed):
    rng = np.random.default_rng(seed)
    with_types = getattr(config, "type_vocab_size", 0) > 1
    inputs = []
    for text in evaluation_texts():
        e = tok(text, truncation=True, max_length=max_length_of(kind))
        inputs.append({"text": text, "ids": e["input_ids"], "type_ids": [0] * len(e["input_ids"])})
    plain = np.array(sorted(set(range(len(tok))) - set(tok.all_special_ids)))
    for n in LENGTHS + (LONG_LENGTHS if max_length_of(kind) > 512 else []):
        ids = [tok.cls_token_id] + rng.choice(plain, n - 1).tolist()
        types = [0] * n
        if with_types and n >= 8:  # a second segment
            types = [0] * (n // 2) + [1] * (n - n // 2)
        inputs.append({"ids": ids, "type_ids": types})
    if kind in ("roberta", "xlm-roberta", "mpnet"):
        ids = [tok.cls_token_id] + rng.choice(plain, 20).tolist()
        ids[7] = ids[12] = tok.pad_token_id  # their position is padding_idx, the rest count on
        inputs.append({"ids": ids, "type_ids": [0] * len(ids)})
    return inputs


@torch.inference_mode()
def write_golden(kind, model, inputs, path):
    encoder = encoder_of(model)
    cfg = encoder.config
    layers, hidden_size, intermediate = shape_of(cfg)
    cases = []
    with open(path.with_suffix(".f32"), "wb") as f32:
        offset = 0

        def sampled(hidden):
            nonlocal offset
            rows = sampled_rows(hidden.shape[0])
            values = hidden[rows].numpy().astype("<f4")
            f32.write(values.tobytes())
            at = offset
            offset += values.size
            return rows, at

        for item in inputs:
            ids, types = torch.tensor([item["ids"]]), torch.tensor([item["type_ids"]])
            args = {"input_ids": ids}
            if takes_token_types(model.config):
                args["token_type_ids"] = types
            out = model(**args)
            # The encoder's last rows (after its final norm, where the family has one).
            hidden = encoder(**args).last_hidden_state[0]
            item["logits"] = out.logits[0].tolist()
            mean = hidden.mean(dim=0)
            item["mean_embedding"] = (mean / mean.norm().clamp_min(1e-12)).tolist()
            item["cls_embedding"] = hidden[0].tolist()
            item["rows"], item["offset"] = sampled(hidden)
        # docs/design.md's geometric schedule at every speedup; at s = 2, on every third input, two
        # others: the first layer spared, and free exponents.
        free = [0.5] + [float(w) for w in range(1, layers - 1)] + [layers - 0.5]  # [0.5, 1, 2.5] at 3 layers
        schedules = [(s, None) for s in SPEEDUPS] + [(2.0, sparing(layers, 1)), (2.0, free)]
        for index, item in enumerate(inputs):
            n = len(item["ids"])
            if n < 2:
                continue
            for s, exponents in schedules:
                if exponents is not None and index % 3:
                    continue
                keep, r, predicted, reached = make_schedule(n, layers, hidden_size, intermediate, s, exponents,
                                                            ffn=ffn_of(cfg))
                hidden, positions, trace = pruned_forward(
                    encoder, torch.tensor(item["ids"]), torch.tensor(item["type_ids"]), keep)
                rows, at = sampled(hidden)
                case = {"input": index, "speedup": s, "keep": keep, "ratio": r, "positions": positions.tolist(),
                        "layers": [{"kept": kept.tolist(), "acc": short(acc)} for acc, kept in trace],
                        "rows": rows, "offset": at, "logits": short(head_logits(model, hidden[None])[0])}
                if exponents is not None:
                    case["exponents"] = exponents
                cases.append(case)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"family": kind, "model_type": cfg.model_type, "max_length": max_length_of(kind), "tolerance": 1e-4,
                   "inputs": inputs, "cases": cases}, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/golden")
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--only", nargs="*", help="families to write (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    out = Path(args.out) / "families"
    kinds = args.only or list(TOKENIZER_KIND)
    tokenizers = {kind: load_tokenizer(kind) for kind in kinds}
    for kind, config in configs(tokenizers).items():
        i = list(TOKENIZER_KIND).index(kind)  # each family's seeds, whichever are written
        model = make_model(kind, config, out / kind, args.seed + i)
        inputs = make_inputs(kind, config, tokenizers[kind], args.seed + 100 + i)
        write_golden(kind, model, inputs, out / f"{kind}.json")
        print(f"{kind}: {len(inputs)} inputs")


if __name__ == "__main__":
    main()
