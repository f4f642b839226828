#!/usr/bin/env python3
"""Writes models/modernbert-base-shape: a ModernBertModel with the shape of answerdotai/ModernBERT-base
as published (22 layers, hidden 768, 12 heads, GeGLU of 1152, a 128-token window with every third
layer global, rotary bases 160,000 and 10,000, vocabulary 50,368) and seeded random weights, with
the byte-level BPE tokenizer of tests/golden/tokenizers/modernbert. Speed depends on the shape
alone, so compare.py times it beside the peers where the published weights cannot be fetched.

    python benchmarks/peers/make_modernbert.py
"""
import json
import shutil
from pathlib import Path

import torch
from transformers import ModernBertConfig, ModernBertModel

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "models" / "modernbert-base-shape"
TOKENIZER = ROOT / "tests" / "golden" / "tokenizers" / "modernbert"


def main():
    if (OUT / "model.safetensors").exists():
        return
    OUT.mkdir(parents=True, exist_ok=True)
    vocab = json.loads((TOKENIZER / "tokenizer.json").read_text())["model"]["vocab"]
    config = ModernBertConfig(vocab_size=50368, pad_token_id=vocab["[PAD]"], cls_token_id=vocab["[CLS]"],
                              sep_token_id=vocab["[SEP]"], bos_token_id=vocab["[CLS]"], eos_token_id=vocab["[SEP]"])
    torch.manual_seed(20261206)
    ModernBertModel(config).eval().save_pretrained(OUT)
    shutil.copy(TOKENIZER / "tokenizer.json", OUT / "tokenizer.json")
    tok_config = json.loads((TOKENIZER / "tokenizer_config.json").read_text())
    tok_config.update(tokenizer_class="PreTrainedTokenizerFast", model_max_length=8192)
    tok_config.pop("backend", None)
    (OUT / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
