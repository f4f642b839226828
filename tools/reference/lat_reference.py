"""The pruned encoder of DESIGN.md in PyTorch: the reference lat is tested against, and the
forward pass that ACC-aware fine-tuning trains through.

Only plain torch operations on a transformers BertModel's modules, so gradients flow through the
kept rows (selection itself is hard and has no gradient).
"""
import math

import torch


def layer_flops(m, k, d, dff):
    return 6 * m * d * d + 2 * m * m * d + 2 * k * m * d + 2 * k * d * d + 4 * k * d * dff


def schedule_for_ratio(n, layers, d, dff, r):
    keep, prev, dense, pruned = [], n, 0.0, 0.0
    for l in range(1, layers + 1):
        k = min(prev, int(max(1.0, math.ceil(n * r**l))))
        dense += layer_flops(n, n, d, dff)
        pruned += layer_flops(prev, k, d, dff)
        keep.append(k)
        prev = k
    return keep, dense / pruned


def make_schedule(n, layers, d, dff, speedup):
    """(keep counts, r, predicted speedup, reached) exactly as lat's make_schedule."""
    keep, pred = schedule_for_ratio(n, layers, d, dff, 1.0)
    if pred >= speedup:
        return keep, 1.0, pred, True
    keep, pred = schedule_for_ratio(n, layers, d, dff, 0.0)
    if pred < speedup:
        return keep, 0.0, pred, False
    lo, hi = 0.0, 1.0
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        if schedule_for_ratio(n, layers, d, dff, mid)[1] >= speedup:
            lo = mid
        else:
            hi = mid
    keep, pred = schedule_for_ratio(n, layers, d, dff, lo)
    return keep, lo, pred, True


def select_rows(acc, k):
    """Row 0, then the k-1 other rows of largest ACC (ties to the smaller index), in order."""
    n = acc.shape[0]
    if k >= n:
        return torch.arange(n)
    order = torch.sort(acc[1:], descending=True, stable=True).indices + 1
    return torch.sort(torch.cat([torch.zeros(1, dtype=torch.long), order[: k - 1]])).values


def pruned_layer(layer, x, k, num_heads):
    """One BertLayer on x (n x d) keeping k rows: (z, kept indices, acc)."""
    n, d = x.shape
    dh = d // num_heads
    att = layer.attention.self
    q = att.query(x).view(n, num_heads, dh).transpose(0, 1)
    kk = att.key(x).view(n, num_heads, dh).transpose(0, 1)
    v = att.value(x).view(n, num_heads, dh).transpose(0, 1)
    probs = torch.softmax(q @ kk.transpose(1, 2) / math.sqrt(dh), dim=-1)  # H x n x n
    acc = probs.sum(dim=1).sum(dim=0) / num_heads
    kept = select_rows(acc.detach(), k)
    context = (probs[:, kept, :] @ v).transpose(0, 1).reshape(len(kept), d)
    y = layer.attention.output.LayerNorm(x[kept] + layer.attention.output.dense(context))
    z = layer.output.LayerNorm(y + layer.output.dense(layer.intermediate(y)))
    return z, kept, acc


def pruned_forward(bert, ids, type_ids, keep):
    """bert: transformers BertModel. ids, type_ids: 1-D tensors of one sequence.
    Returns (last hidden rows, original positions of those rows, per-layer (acc, kept positions))."""
    x = bert.embeddings(input_ids=ids[None], token_type_ids=type_ids[None])[0]
    positions = torch.arange(ids.shape[0])
    trace = []
    for layer, k in zip(bert.encoder.layer, keep):
        x, kept, acc = pruned_layer(layer, x, k, bert.config.num_attention_heads)
        positions = positions[kept]
        trace.append((acc, positions.clone()))
    return x, positions, trace
