#!/usr/bin/env python3
"""The tables of docs/performance.md, "Every precision in one run", from a compare.py JSON file:
per case and precision, lat against the fastest peer at that precision, lat int8-static at s = 2
against ONNX Runtime fp32, and lat's share of the machine's peak at each precision.

    python3 benchmarks/peers/precision_table.py docs/results/peers_every_precision.json
"""
import json
import sys

# lat's runtime at each precision, and the peers it is measured against there.
PRECISIONS = {
    "fp32": ("lat:fp32", ["onnxruntime:fp32", "openvino:fp32", "ctranslate2:fp32", "torch:fp32"]),
    "bf16": ("lat:bf16", ["openvino:bf16"]),
    "int8-static": ("lat:int8-static", ["openvino:int8", "onnxruntime:int8-static"]),
    "int8": ("lat:int8", ["onnxruntime:int8", "ctranslate2:int8"]),
}
NAMES = {"onnxruntime:int8-static": "ORT static", "onnxruntime": "ORT", "openvino": "OpenVINO",
         "ctranslate2": "CT2", "torch": "PyTorch"}


def name(runtime):
    return NAMES.get(runtime) or NAMES[runtime.split(":")[0]]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    results = json.loads(open(sys.argv[1], encoding="utf-8").read())
    cases = results["cases"]
    print("| seq | batch | " + " | ".join(f"{p}: lat / fastest peer" for p in PRECISIONS) +
          " | lat int8-static at s = 2 / ORT fp32 |")
    print("|---|---|" + "---|" * (len(PRECISIONS) + 1))
    for c in cases:
        m = c["median_ms"]
        cells = []
        for lat, peers in PRECISIONS.values():
            best = min((r for r in peers if r in m), key=lambda r: m[r])  # CT2 runs MiniLM only
            cells.append(f"{m[lat]:.2f} / {m[best]:.2f} {name(best)} (**{m[lat] / m[best]:.2f}**)")
        fp32 = m["onnxruntime:fp32"]
        cells.append(f"{m['lat:int8-static@2']:.2f} / {fp32:.2f} "
                     f"({fp32 / m['lat:int8-static@2']:.1f}x faster)")
        print(f"| {c['seq']} | {c['batch']} | " + " | ".join(cells) + " |")
    print()
    print("| seq | batch | " + " | ".join(f"lat {p} % of peak" for p in PRECISIONS) +
          " | lat int8 / int8-static |")
    print("|---|---|" + "---|" * (len(PRECISIONS) + 1))
    for c in cases:
        share, m = c["lat_fraction_of_peak"], c["median_ms"]
        print(f"| {c['seq']} | {c['batch']} | " + " | ".join(f"{100 * share[p]:.0f}" for p in PRECISIONS) +
              f" | {m['lat:int8'] / m['lat:int8-static']:.2f} |")
    for threads, peak in results["peak_gflops"].items():
        print(f"\npeaks, {threads} threads: fp32 {peak['gflops']:.0f} GFLOP/s, "
              f"bf16 {peak['bf16_gflops']:.0f}, int8 {peak['int8_gops']:.0f} GOP/s")


if __name__ == "__main__":
    main()
