#!/usr/bin/env python3
"""Fits the rational approximation of erf that lat's int8 GELU uses (src/kernels/cpu/loops.cpp):
erf(t) ~ t P(t^2) / Q(t^2) on [0, 3.9], P and Q of degree 5, Q(0) = 1, by linearised least squares
with Sanathanan-Koerner reweighting on Chebyshev nodes. Prints the float32 coefficients and the
largest error of the float32 evaluation (Horner), against math.erf.

    python3 tools/reference/fit_erf.py
"""
import math

import numpy as np

LIMIT, DEGREE, NODES = 3.9, 5, 3000


def main():
    x = np.cos(np.pi * (np.arange(NODES) + 0.5) / NODES) * LIMIT / 2 + LIMIT / 2
    y = np.array([math.erf(v) for v in x])
    u = x * x
    q_values = np.ones_like(x)
    for _ in range(40):
        columns = [x * u**k / q_values for k in range(DEGREE + 1)]
        columns += [-y * u**k / q_values for k in range(1, DEGREE + 1)]
        c, *_ = np.linalg.lstsq(np.stack(columns, 1), y / q_values, rcond=None)
        p, q = c[:DEGREE + 1], np.concatenate([[1.0], c[DEGREE + 1:]])
        q_values = np.polyval(q[::-1], u)
    p32, q32 = p.astype(np.float32), q.astype(np.float32)
    t = np.linspace(0, LIMIT, 200001).astype(np.float32)
    t2 = t * t
    num, den = np.float32(p32[-1]), np.float32(q32[-1])
    for k in range(DEGREE - 1, -1, -1):
        num, den = num * t2 + p32[k], den * t2 + q32[k]
    error = np.abs(t * num / den - np.array([math.erf(v) for v in t.astype(np.float64)])).max()
    print("P:", ", ".join(f"{v:.9g}f" for v in p32))
    print("Q:", ", ".join(f"{v:.9g}f" for v in q32))
    print(f"largest error on [0, {LIMIT}]: {error:.2g}; 1 - erf({LIMIT}) = {1 - math.erf(LIMIT):.2g}")


if __name__ == "__main__":
    main()
