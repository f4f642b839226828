#!/usr/bin/env python3
"""Writes a real sentiment classifier for benchmarks: all-MiniLM-L6-v2 with the frozen-encoder
sentiment head of tests/golden/minilm_sst2_head.json (tools/reference/make_sst2_head.py trained
it on SST-2 train), as a BertForSequenceClassification folder that lat and transformers read.

    python benchmarks/minilm_classifier.py [--model models/all-MiniLM-L6-v2] [--out models/minilm-sst2-head]
"""
import argparse
import json
import shutil
import struct
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def read_safetensors(path):
    data = path.read_bytes()
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + size])
    body = data[8 + size :]
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(t["shape"])
    return tensors


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "models" / "all-MiniLM-L6-v2"))
    p.add_argument("--out", default=str(ROOT / "models" / "minilm-sst2-head"))
    args = p.parse_args()
    src, out = Path(args.model), Path(args.out)
    head = json.loads((ROOT / "tests" / "golden" / "minilm_sst2_head.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(src / f, out / f)
    (out / "config.json").write_text(json.dumps(head["config"], indent=1))
    tensors = {"bert." + k: v for k, v in read_safetensors(src / "model.safetensors").items()}
    tensors["classifier.weight"] = np.array(head["classifier.weight"], dtype=np.float32)
    tensors["classifier.bias"] = np.array(head["classifier.bias"], dtype=np.float32)
    write_safetensors(out / "model.safetensors", tensors)
    print(f"wrote {out} (SST-2 dev accuracy of the reference: {head['dev_accuracy']:.4f})")


if __name__ == "__main__":
    main()
