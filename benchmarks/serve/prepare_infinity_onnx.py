#!/usr/bin/env python3
"""Model folders for Infinity's ONNX engine (--engine optimum), which reads an .onnx file inside the
model folder: a copy of the folder with model.onnx exported by optimum's exporter (fp32), and one
with model_quantized.onnx, onnxruntime's quantize_dynamic of it (int8 weights per channel,
activations quantized at run time; the file Infinity prefers on a CPU). The files sit at the
folder's top: optimum finds a file by its bare name. Run with Infinity's venv:

    .venv-infinity/bin/python benchmarks/serve/prepare_infinity_onnx.py \\
        [--model models/all-MiniLM-L6-v2] [--out models/minilm-infinity-onnx]

writes OUT (fp32) and OUT-int8.
"""
import argparse
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "models" / "all-MiniLM-L6-v2"))
    p.add_argument("--out", default=str(ROOT / "models" / "minilm-infinity-onnx"))
    args = p.parse_args()
    src, out = Path(args.model), Path(args.out)
    out8 = out.with_name(out.name + "-int8")
    for d in (out, out8):
        if d.exists():
            shutil.rmtree(d)
        shutil.copytree(src, d)

    from optimum.exporters.onnx import main_export

    tmp = out / "onnx-export"
    main_export(str(src), output=str(tmp), task="feature-extraction", device="cpu", library_name="transformers")
    shutil.move(str(tmp / "model.onnx"), out / "model.onnx")
    shutil.rmtree(tmp)

    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(out / "model.onnx"), str(out8 / "model_quantized.onnx"),
                     per_channel=True, weight_type=QuantType.QInt8)
    print(f"wrote {out} (model.onnx) and {out8} (model_quantized.onnx)")


if __name__ == "__main__":
    main()
