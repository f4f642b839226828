#!/usr/bin/env python3
"""Writes tests/golden/schedules.json: keep counts, predicted speedup and reached of the reference
schedule (lat_reference.make_schedule) for two model shapes, input lengths from 2 to 512, speedups
from 1.2 to 50, the geometric schedule, spared first layers and free keep exponents, each without
a row floor and with two. lat's make_schedule must give the same counts.

    .venv/bin/python tools/reference/make_schedule_golden.py
"""
import json
from pathlib import Path

from lat_reference import make_schedule, sparing

SHAPES = [(6, 384, 1536), (12, 768, 3072)]
LENGTHS = [2, 3, 7, 25, 64, 250, 512]
SPEEDUPS = [1.2, 2.0, 3.0, 4.5, 50.0]
FLOORS = [0.0, 0.05, 0.2]


def exponent_sets(layers):
    free = [0.0, 0.75, 2.25, 3.75, 4.5, 6.0] if layers == 6 else [0.5 * l * l / layers for l in range(1, layers + 1)]
    return [[], sparing(layers, 1), sparing(layers, 2), free]


def main():
    cases = []
    for layers, hidden, intermediate in SHAPES:
        for exponents in exponent_sets(layers):
            for floor in FLOORS:
                for n in LENGTHS:
                    for s in SPEEDUPS:
                        keep, _, predicted, reached = make_schedule(n, layers, hidden, intermediate, s,
                                                                    exponents, floor)
                        cases.append({"layers": layers, "hidden": hidden, "intermediate": intermediate,
                                      "tokens": n, "speedup": s, "exponents": [float(w) for w in exponents],
                                      "floor": floor, "keep": keep, "predicted": predicted,
                                      "reached": reached})
    out = Path(__file__).resolve().parents[2] / "tests" / "golden" / "schedules.json"
    out.write_text(json.dumps({"generator": "tools/reference/make_schedule_golden.py", "cases": cases}) + "\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
