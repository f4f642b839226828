#!/usr/bin/env python3
"""How lat's int8 activations are quantized was chosen with this: PyTorch's all-MiniLM-L6-v2
with int8 weights (symmetric, per output channel, as lat makes them) and the inputs of every
encoder product fake-quantized by one scheme at a time, attention left in fp32. For each scheme
it prints the embeddings' cosine with the fp32 model on the golden inputs, and how many labels of
the thin-margin SST-2 head (tests/golden/minilm_sst2_head.json) equal fp32's on SST-2 dev; then
the same count for ONNX Runtime's quantize_dynamic of that classifier, for comparison. Run by
hand (needs the reference venv, and onnxruntime for the last line):

    python tools/reference/int8_schemes.py --model models/all-MiniLM-L6-v2
"""
import argparse
import json
import tempfile
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer, BertConfig, BertForSequenceClassification

GOLDEN = Path(__file__).resolve().parents[2] / "tests" / "golden"
DEV = Path(__file__).resolve().parents[2] / "data" / "sst2" / "dev.tsv"


def weights_int8(w):
    step = w.abs().amax(1, keepdim=True) / 127
    return torch.round(w / step).clamp(-127, 127) * step


def symmetric(x):
    step = x.abs().amax(-1, keepdim=True).clamp_min(1e-30) / 127
    return torch.round(x / step) * step


def over_range(x):
    lo, hi = x.amin(-1, keepdim=True).clamp_max(0), x.amax(-1, keepdim=True).clamp_min(0)
    step = ((hi - lo) / 255).clamp_min(1e-30)
    zero = torch.round(-lo / step)
    return (torch.clamp(torch.round(x / step) + zero, 0, 255) - zero) * step


def with_outliers(x, times_rms=4.0, most=4):
    """lat's: up to `most` values beyond times_rms RMS kept exactly, the rest over_range."""
    if x.shape[-1] <= 16:
        return over_range(x)
    rms = x.pow(2).mean(-1, keepdim=True).sqrt()
    values, columns = x.abs().topk(most, dim=-1)
    kept = torch.zeros_like(x, dtype=torch.bool).scatter_(-1, columns, values > times_rms * rms)
    return torch.where(kept, x, over_range(x.masked_fill(kept, 0)))


SCHEMES = {"symmetric int8 per row": symmetric, "uint8 per row over its range": over_range,
           "the same, up to 4 outliers a row kept (lat)": with_outliers}


def products(bert):
    for layer in bert.encoder.layer:
        yield from [layer.attention.self.query, layer.attention.self.key, layer.attention.self.value,
                    layer.attention.output.dense, layer.intermediate.dense, layer.output.dense]


def quantized(bert, scheme):
    """Context manager-ish: patches the products, returns a function that undoes it."""
    saved, hooks = [], []
    for linear in products(bert):
        saved.append((linear, linear.weight.data))
        linear.weight.data = weights_int8(linear.weight.data)
        hooks.append(linear.register_forward_pre_hook(lambda m, args: (scheme(args[0]),)))

    def undo():
        for linear, w in saved:
            linear.weight.data = w
        for h in hooks:
            h.remove()
    return undo


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    args = ap.parse_args()
    tok = AutoTokenizer.from_pretrained(args.model)
    encoder = AutoModel.from_pretrained(args.model).eval()
    inputs = [torch.tensor([g["ids"]]) for g in json.load(open(GOLDEN / "minilm.json"))["inputs"]]
    head = json.load(open(GOLDEN / "minilm_sst2_head.json"))
    classifier = BertForSequenceClassification.from_pretrained(
        args.model, config=BertConfig.from_dict(head["config"]), attn_implementation="eager").eval()
    classifier.classifier.weight.data = torch.tensor(head["classifier.weight"])
    classifier.classifier.bias.data = torch.tensor(head["classifier.bias"])
    dev = [line.rstrip("\n").rsplit("\t", 1)[0] for line in open(DEV, encoding="utf-8")][1:]
    dev_inputs = [tok(t, return_tensors="pt") for t in dev]

    def embeddings():
        out = []
        with torch.inference_mode():
            for ids in inputs:
                e = encoder(input_ids=ids).last_hidden_state[0].mean(0)
                out.append(e / e.norm())
        return torch.stack(out)

    def labels():
        with torch.inference_mode():
            return [int(classifier(**e).logits[0].argmax()) for e in dev_inputs]

    reference = embeddings()
    assert labels() == head["dev_labels"], "the fp32 classifier should give the golden labels"
    print("| activations | embedding cosine, min / mean | SST-2 head labels equal to fp32's |")
    for name, scheme in SCHEMES.items():
        undo = [quantized(encoder, scheme), quantized(classifier.bert, scheme)]
        cosine = (embeddings() * reference).sum(-1)
        agreed = sum(a == b for a, b in zip(labels(), head["dev_labels"]))
        for u in undo:
            u()
        print(f"| {name} | {float(cosine.min()):.4f} / {float(cosine.mean()):.4f} | {agreed} of {len(dev)} |")

    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    with tempfile.TemporaryDirectory() as tmp:
        ids = torch.ones((1, 16), dtype=torch.long)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        torch.onnx.export(classifier, (ids, torch.ones_like(ids), torch.zeros_like(ids)), f"{tmp}/m.onnx",
                          input_names=names, output_names=["logits"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "b", 1: "s"} for n in names})
        cfg = classifier.config
        optimizer.optimize_model(f"{tmp}/m.onnx", model_type="bert", num_heads=cfg.num_attention_heads,
                                 hidden_size=cfg.hidden_size).save_model_to_file(f"{tmp}/opt.onnx")
        quantize_dynamic(f"{tmp}/opt.onnx", f"{tmp}/int8.onnx", per_channel=True, weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        session = ort.InferenceSession(f"{tmp}/int8.onnx", providers=["CPUExecutionProvider"])
        agreed = 0
        for e, want in zip(dev_inputs, head["dev_labels"]):
            logits = session.run(None, {n: e[n].numpy().astype(np.int64) for n in names})[0][0]
            agreed += int(logits.argmax()) == want
        print(f"| ONNX Runtime quantize_dynamic (per tensor) | | {agreed} of {len(dev)} |")


if __name__ == "__main__":
    main()
