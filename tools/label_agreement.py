#!/usr/bin/env python3
"""How far two runs of `classify --json` over the same input agree: the share of equal labels, the
mean absolute difference of the label probabilities, and each run's accuracy where the input
carried gold labels.

    python3 tools/label_agreement.py REFERENCE.jsonl OTHER.jsonl
"""
import json
import sys


def read(path):
    """The per-text objects of a classify --json run, and its summary."""
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if not rows or "summary" not in rows[-1]:
        sys.exit(f"{path}: not the output of classify --json (no summary line)")
    return rows[:-1], rows[-1]["summary"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    (ref, ref_summary), (other, other_summary) = read(sys.argv[1]), read(sys.argv[2])
    if len(ref) != len(other):
        sys.exit(f"the runs label {len(ref)} and {len(other)} texts: not the same input")
    equal = sum(a["label"] == b["label"] for a, b in zip(ref, other))
    drift = sum(abs(pa - pb) for a, b in zip(ref, other) for pa, pb in zip(a["probs"], b["probs"]))
    drift /= len(ref) * len(ref[0]["probs"])
    print(f"labels equal: {equal} of {len(ref)} ({100 * equal / len(ref):.2f}%); "
          f"mean |probability difference| {drift:.4f}")
    for name, summary in (("reference", ref_summary), ("other", other_summary)):
        if "accuracy" in summary:
            print(f"{name}: accuracy {100 * summary['accuracy']:.2f}% "
                  f"({summary['precision']}, speedup {summary['speedup']})")


if __name__ == "__main__":
    main()
