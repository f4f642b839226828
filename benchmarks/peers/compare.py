#!/usr/bin/env python3
"""lat beside ONNX Runtime, CTranslate2, OpenVINO and PyTorch on the same model, token ids and
threads, at each precision each runtime offers.

    python benchmarks/peers/compare.py [--models minilm,mpnet] [--seq 32,128,512]
        [--batch 1,8] [--threads 1,2] [--rounds 15] [--runtimes lat:fp32,onnxruntime:int8,...]
        [--json results.json]

A runtime is RUNTIME:PRECISION, with @S for lat at speedup S (lat:int8@2). Each lives in its own
process (worker.py), so thread pools do not meet; calls are interleaved, one call per runtime per
round in a shuffled order, after warm-up. Medians and ratios are printed as a table; raw timings
go to the JSON file. Then, per model, the peak resident memory of each runtime on the largest
case, each in a fresh process.

Models, real weights as published (tools/fetch_model.sh NAME): minilm is all-MiniLM-L6-v2 (BERT,
6 layers, hidden 384), mpnet is all-mpnet-base-v2 (MPNet, 12 layers, hidden 768, 12 heads, 3072).
modernbert is ModernBERT-base's shape with random weights (benchmarks/peers/make_modernbert.py
writes it): 22 layers, hidden 768, GeGLU of 1152, local windows of 128. CTranslate2 has no MPNet
or ModernBERT converter, so it runs MiniLM only.
How each runtime gets each precision, as its own documentation does it:
- ONNX Runtime: the model exported by torch.onnx, passed through onnxruntime's transformer
  optimizer (fused attention, skip layer norm, bias GELU); int8 is quantize_dynamic of that graph
  (int8 weights per channel, activations quantized per tensor at run time); int8-static is
  quantize_static of the exported graph (QDQ, int8 weights per channel, uint8 activations whose
  scales are calibrated on the same 300 SST-2 training sentences as OpenVINO's). ModernBERT is
  exported by optimum (feature-extraction), which the BERT optimizer does not fuse: its graph runs
  with onnxruntime's own graph optimizations.
- CTranslate2: its own conversion in fp32; int8 is compute_type="int8" (weights quantized at load).
- OpenVINO: the exported ONNX model converted to OpenVINO IR in fp32; fp32 and bf16 by its
  inference precision hint; int8 is NNCF's post-training quantization of that IR, calibrated on
  300 SST-2 training sentences (OpenVINO's documented int8 path).
- PyTorch: fp32, inference mode, SDPA attention where transformers has it for the family (not MPNet).
- lat: int8 quantizes activations per row at run time; int8-static runs on ranges that lat_tune
  calibrates on the same 300 SST-2 training sentences, written into the model folder's lat.json.
"""
import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
WORKER = Path(__file__).with_name("worker.py")
MODEL_FOLDERS = {"minilm": "all-MiniLM-L6-v2", "mpnet": "all-mpnet-base-v2", "modernbert": "modernbert-base-shape"}
# peak_flops's fields
PEAK_KEYS = {"fp32": "gflops", "bf16": "bf16_gflops", "int8": "int8_gops", "int8-static": "int8_gops"}
RUNTIMES = ["lat:fp32", "lat:bf16", "lat:int8", "lat:int8@2", "lat:int8-static", "lat:int8-static@2",
            "onnxruntime:fp32", "onnxruntime:int8",
            "onnxruntime:int8-static",
            "ctranslate2:fp32", "ctranslate2:int8", "openvino:fp32", "openvino:bf16", "openvino:int8",
            "torch:fp32"]


def input_names(model_dir):
    """The inputs the model's forward takes: token_type_ids only where the family has them."""
    from transformers import AutoTokenizer
    return [n for n in ["input_ids", "attention_mask", "token_type_ids"]
            if n in AutoTokenizer.from_pretrained(model_dir).model_input_names]


def encoder_model(model_dir, **kwargs):
    """The bare encoder of the folder (no pooler), in fp32 and eval mode."""
    from transformers import AutoConfig, AutoModel
    if AutoConfig.from_pretrained(model_dir).model_type == "bert":
        kwargs["add_pooling_layer"] = False
    return AutoModel.from_pretrained(model_dir, **kwargs).eval()


def prepare_onnx(model_dir):
    """Export to ONNX and run onnxruntime's transformer optimizer on it."""
    onnx_dir = model_dir / "onnx"
    optimized = onnx_dir / "model_optimized.onnx"
    if optimized.exists():
        return
    import torch
    from onnxruntime.transformers import optimizer
    onnx_dir.mkdir(exist_ok=True)
    if json.loads((model_dir / "config.json").read_text())["model_type"] == "modernbert":
        from optimum.exporters.onnx import main_export
        main_export(str(model_dir), str(onnx_dir), task="feature-extraction", opset=17)
        (onnx_dir / "model.onnx").rename(optimized)
        return
    model = encoder_model(model_dir, attn_implementation="eager")
    names = input_names(model_dir)

    class ByName(torch.nn.Module):  # positional inputs in the order ONNX gets them
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, *inputs):
            return self.encoder(**dict(zip(names, inputs))).last_hidden_state

    ids = torch.ones((2, 16), dtype=torch.long)
    example = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    torch.onnx.export(ByName(model), tuple(example[n] for n in names), onnx_dir / "model.onnx",
                      input_names=names, output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                      dynamic_axes={n: {0: "batch", 1: "seq"} for n in names + ["last_hidden_state"]})
    cfg = model.config
    opt = optimizer.optimize_model(str(onnx_dir / "model.onnx"), model_type="bert",
                                   num_heads=cfg.num_attention_heads, hidden_size=cfg.hidden_size)
    print(f"{model_dir.name}: onnxruntime fusions {opt.get_fused_operator_statistics()}", file=sys.stderr)
    opt.save_model_to_file(str(optimized))


def prepare_onnx_int8(model_dir):
    """quantize_dynamic of the optimized graph: int8 weights per channel, dynamic activations."""
    out = model_dir / "onnx" / "model_optimized_int8.onnx"
    if out.exists():
        return
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    # The fused operators defeat shape inference; the quantizer's own error asks for this option.
    quantize_dynamic(str(model_dir / "onnx" / "model_optimized.onnx"), str(out), per_channel=True,
                     weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def calibration_inputs(model_dir, count=300):
    """The model's inputs for the first `count` SST-2 training sentences: the texts static int8
    calibrates its activation scales on (OpenVINO's and ONNX Runtime's alike)."""
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model_dir)
    with open(ROOT / "data" / "sst2" / "train.tsv", encoding="utf-8") as f:
        texts = [line.split("\t")[0] for line in f.read().split("\n")[1:count + 1] if line]
    names = input_names(model_dir)
    return texts, lambda text: {k: v.astype(np.int64) for k, v in tok(text, return_tensors="np").items()
                                if k in names}


def prepare_onnx_int8_static(model_dir):
    """quantize_static of the exported graph, calibrated on calibration_inputs."""
    out = model_dir / "onnx" / "model_int8_static.onnx"
    if out.exists():
        return
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    texts, item = calibration_inputs(model_dir)
    exported = model_dir / "onnx" / "model.onnx"
    if not exported.exists():  # ModernBERT's export is used as it is
        exported = model_dir / "onnx" / "model_optimized.onnx"

    class Texts(CalibrationDataReader):
        def __init__(self):
            self.rest = iter(texts)

        def get_next(self):
            text = next(self.rest, None)
            return None if text is None else item(text)

    quantize_static(str(exported), str(out), Texts(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_exclude=index_nodes(exported))


def index_nodes(onnx_path):
    """The nodes that compute a Gather's indices (MPNet's relative position buckets go through
    Log and Div in float): quantized, their rounding makes the indices wrong."""
    import onnx
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    producer = {out: node for node in graph.node for out in node.output}
    found, pending = set(), [node.input[1] for node in graph.node if node.op_type == "Gather"]
    while pending:
        node = producer.get(pending.pop())
        if node is not None and node.name not in found:
            found.add(node.name)
            pending.extend(node.input)
    return sorted(found)


def prepare_lat_int8_static(model_dir):
    """lat's int8-static ranges, calibrated by lat_tune on calibration_inputs' texts, into the
    model folder's lat.json (the tuning it runs on them goes to a scratch file)."""
    texts, _ = calibration_inputs(model_dir)
    scratch = model_dir / "lat-calibration"
    scratch.mkdir(exist_ok=True)
    (scratch / "texts.txt").write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    subprocess.run([str(ROOT / "build" / "lat_tune"), "--model", str(model_dir), "--data",
                    str(scratch / "texts.txt"), "--precision", "int8-static", "--speedups", "1",
                    "--rounds", "0", "--out", str(scratch / "lat.json"), "--plot",
                    str(scratch / "curve.svg")], check=True, stdout=subprocess.DEVNULL)


def prepare_openvino(model_dir):
    """OpenVINO IR of the exported model (fp32), and NNCF's int8 quantization of it."""
    out = model_dir / "openvino"
    if (out / "model_int8.xml").exists():
        return
    import nncf
    import openvino as ov
    out.mkdir(exist_ok=True)
    model = ov.convert_model(str(model_dir / "onnx" / "model.onnx"))
    ov.save_model(model, str(out / "model.xml"), compress_to_fp16=False)
    texts, item = calibration_inputs(model_dir)
    quantized = nncf.quantize(model, nncf.Dataset(texts, item), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=len(texts))
    ov.save_model(quantized, str(out / "model_int8.xml"), compress_to_fp16=False)


def prepare_ct2(model_dir):
    out = model_dir / "ct2"
    if out.exists():
        return True
    try:
        import ctranslate2.converters
        ctranslate2.converters.TransformersConverter(str(model_dir)).convert(str(out), quantization="float32")
        return True
    except Exception as e:  # CTranslate2 supports only some architectures
        print(f"{model_dir.name}: CTranslate2 conversion failed: {e}", file=sys.stderr)
        return False


def make_inputs(model_dir, seqs, batch, path):
    """Token ids of real text (IMDB test reviews), cut or joined to exactly each length."""
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model_dir)
    with open(ROOT / "data" / "imdb" / "test.tsv", encoding="utf-8") as f:
        texts = [line.split("\t")[0] for line in f.read().split("\n")[1:] if line]
    pieces = tok(texts[:400], add_special_tokens=False)["input_ids"]
    flat = [i for p in pieces for i in p]
    arrays, at = {}, 0
    for seq in seqs:
        rows = []
        for _ in range(batch):
            body = flat[at: at + seq - 2]
            at += seq - 2
            rows.append([tok.cls_token_id] + body + [tok.sep_token_id])
        arrays[f"seq{seq}"] = np.array(rows, dtype=np.int32)
    np.savez(path, **arrays)


class Worker:
    def __init__(self, spec, model_dir, threads, inputs):
        self.runtime = spec
        name, rest = spec.split(":")
        precision, _, speedup = rest.partition("@")
        self.proc = subprocess.Popen([sys.executable, str(WORKER), name, precision, str(model_dir), str(threads),
                                      str(inputs), speedup or "1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"{spec} worker did not start")

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="minilm,mpnet")
    ap.add_argument("--seq", default="32,128,512")
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    ap.add_argument("--json", default="peers.json")
    args = ap.parse_args()
    seqs = [int(s) for s in args.seq.split(",")]
    batches = [int(b) for b in args.batch.split(",")]
    threads_list = [int(t) for t in args.threads.split(",")]
    random.seed(0)

    peak = {}
    for t in threads_list:
        out = subprocess.run([str(ROOT / "build" / "benchmarks" / "peak_flops"), str(t)], capture_output=True, text=True)
        peak[t] = json.loads(out.stdout)  # gflops (fp32), bf16_gflops, int8_gops; null: no kernel
    results = {"peak_gflops": peak, "cases": [], "memory": []}
    rows = []
    for name in args.models.split(","):
        model_dir = MODELS / MODEL_FOLDERS[name]
        if not (model_dir / "model.safetensors").exists():
            maker = "benchmarks/peers/make_modernbert.py" if name == "modernbert" else \
                f"tools/fetch_model.sh {MODEL_FOLDERS[name]}"
            sys.exit(f"{model_dir} missing: run {maker}")
        prepare_onnx(model_dir)
        specs = args.runtimes.split(",")
        if "onnxruntime:int8" in specs:
            prepare_onnx_int8(model_dir)
        if "onnxruntime:int8-static" in specs:
            prepare_onnx_int8_static(model_dir)
        if any(r.startswith("lat:int8-static") for r in specs):
            prepare_lat_int8_static(model_dir)
        if any(r.startswith("openvino:") for r in specs):
            prepare_openvino(model_dir)
        runtimes = [r for r in specs if not r.startswith("ctranslate2") or prepare_ct2(model_dir)]
        inputs = MODELS / f"peer-inputs-{name}.npz"
        make_inputs(model_dir, seqs, max(batches), inputs)
        cfg = json.loads((model_dir / "config.json").read_text())
        d, dff, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
        ffn = 3 if cfg["model_type"] == "modernbert" else 2  # GeGLU: three matrices of d x dff
        for t in threads_list:
            workers = {r: Worker(r, model_dir, t, inputs) for r in runtimes}
            for seq in seqs:
                for batch in batches:
                    command = f"run {seq} {batch}"
                    for w in workers.values():  # warm-up
                        for _ in range(3):
                            w.ask(command)
                    times = {r: [] for r in runtimes}
                    for _ in range(args.rounds):
                        order = list(runtimes)
                        random.shuffle(order)
                        for r in order:
                            times[r].append(workers[r].ask(command))
                            time.sleep(0.03)  # let the last runtime's idle threads stop spinning
                    med = {r: statistics.median(v) for r, v in times.items()}
                    flops = batch * layers * (6 * seq * d * d + 4 * seq * seq * d + 2 * seq * d * d +
                                              2 * ffn * seq * d * dff)
                    case = {"model": name, "threads": t, "seq": seq, "batch": batch, "times_ms": times,
                            "median_ms": med}
                    # lat's dense end-to-end rate at each precision, and its fraction of that
                    # precision's peak product rate.
                    for precision, key in PEAK_KEYS.items():
                        runtime = f"lat:{precision}"
                        if runtime in med:
                            case.setdefault("lat_gflops", {})[precision] = flops / med[runtime] / 1e6
                            if peak[t].get(key):
                                case.setdefault("lat_fraction_of_peak", {})[precision] = \
                                    flops / med[runtime] / 1e6 / peak[t][key]
                    results["cases"].append(case)
                    rows.append(case)
                    print(f"{name:9} t={t} seq={seq:3} batch={batch}: " +
                          "  ".join(f"{r} {med[r]:8.2f}" for r in runtimes), flush=True)
            for w in workers.values():
                w.close()
        # Peak memory: a fresh process per runtime on the largest case.
        seq, batch = max(seqs), max(batches)
        for r in runtimes:
            w = Worker(r, model_dir, max(threads_list), inputs)
            for _ in range(3):
                w.ask(f"run {seq} {batch}")
            rss = w.ask("rss")
            w.close()
            results["memory"].append({"model": name, "runtime": r, "seq": seq, "batch": batch, "peak_rss_mib": rss / 1024})
            print(f"{name:9} peak RSS, seq {seq} batch {batch}: {r} {rss / 1024:.0f} MiB", flush=True)

    Path(args.json).write_text(json.dumps(results, indent=1))
    for t, p in peak.items():
        print(f"\npeak products, {t} thread(s): " +
              ", ".join(f"{precision} {p[key]:.0f} GFLOP/s" if p.get(key) else f"{precision} none"
                        for precision, key in PEAK_KEYS.items()))
    shown = [r for r in args.runtimes.split(",")]
    ratios = [("lat:fp32", "onnxruntime:fp32"), ("lat:int8", "onnxruntime:int8"), ("lat:bf16", "lat:fp32"),
              ("lat:int8-static", "openvino:int8"), ("lat:int8-static", "onnxruntime:int8-static"),
              ("lat:int8@2", "onnxruntime:fp32"), ("lat:int8-static@2", "onnxruntime:fp32")]
    ratios = [(a, b) for a, b in ratios if a in shown and b in shown]
    print("\n| model | threads | seq | batch | " + " | ".join(shown + [f"{a} / {b}" for a, b in ratios]) + " |")
    print("|" + "---|" * (4 + len(shown) + len(ratios)))
    for c in rows:
        m = c["median_ms"]
        cells = [f"{m[r]:.2f}" if r in m else "-" for r in shown]
        cells += [f"{m[a] / m[b]:.2f}" if a in m and b in m else "-" for a, b in ratios]
        print(f"| {c['model']} | {c['threads']} | {c['seq']} | {c['batch']} | " + " | ".join(cells) + " |")
    fractions = [c for c in rows if c.get("lat_fraction_of_peak")]
    if fractions:
        print("\n| model | threads | seq | batch | " + " | ".join(f"lat {p} % of peak" for p in PEAK_KEYS) + " |")
        print("|" + "---|" * (4 + len(PEAK_KEYS)))
        for c in fractions:
            f = c["lat_fraction_of_peak"]
            print(f"| {c['model']} | {c['threads']} | {c['seq']} | {c['batch']} | " +
                  " | ".join(f"{100 * f[p]:.0f}" if p in f else "-" for p in PEAK_KEYS) + " |")
    if results["memory"]:
        print("\n| model | " + " | ".join(shown) + " |  (peak RSS, MiB)")
        print("|" + "---|" * (1 + len(shown)))
        for name in args.models.split(","):
            mem = {e["runtime"]: e["peak_rss_mib"] for e in results["memory"] if e["model"] == name}
            print(f"| {name} | " + " | ".join(f"{mem[r]:.0f}" if r in mem else "-" for r in shown) + " |")


if __name__ == "__main__":
    main()
