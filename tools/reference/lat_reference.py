"""The pruned encoder of DESIGN.md in PyTorch: the reference lat is tested against, and the
forward pass that ACC-aware fine-tuning trains through.

Only plain torch operations on a transformers BertModel's modules, so gradients flow through the
kept rows (selection itself is hard and has no gradient).
"""
import math

import torch


def layer_flops(m, k, d, dff):
    return 6 * m * d * d + 2 * m * m * d + 2 * k * m * d + 2 * k * d * d + 4 * k * d * dff


def sparing(layers, spared):
    """The keep exponents that spare the first `spared` layers: w_l = max(0, l - spared)."""
    return [max(0, l - spared) for l in range(1, layers + 1)]


def floor_rows(n, floor=0.0):
    """The fewest rows a layer keeps: one when `floor` is 0, else ceil(floor n) and at least 2."""
    return 1 if floor <= 0 else min(n, max(2, math.ceil(floor * n)))


def schedule_for_ratio(n, layers, d, dff, r, exponents=None, floor=0.0):
    """Keep counts and predicted speedup at ratio r: layer l keeps ceil(n r^(w_l)) rows (and at
    least floor_rows), w_l = l (DESIGN.md's geometric schedule) unless `exponents` gives them."""
    keep, prev, dense, pruned = [], n, 0.0, 0.0
    fewest = floor_rows(n, floor)
    for l in range(1, layers + 1):
        w = l if not exponents else exponents[l - 1]
        k = min(prev, int(max(fewest, math.ceil(n * r ** w))))
        dense += layer_flops(n, n, d, dff)
        pruned += layer_flops(prev, k, d, dff)
        keep.append(k)
        prev = k
    return keep, dense / pruned


def make_schedule(n, layers, d, dff, speedup, exponents=None, floor=0.0):
    """(keep counts, r, predicted speedup, reached) exactly as lat's make_schedule, for DESIGN.md's
    geometric schedule or the keep exponents given (sparing() gives those that spare the first
    layers), with the row floor `floor`."""
    keep, pred = schedule_for_ratio(n, layers, d, dff, 1.0, exponents, floor)
    if pred >= speedup:
        return keep, 1.0, pred, True
    keep, pred = schedule_for_ratio(n, layers, d, dff, 0.0, exponents, floor)
    if pred < speedup:
        return keep, 0.0, pred, False
    lo, hi = 0.0, 1.0
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        if schedule_for_ratio(n, layers, d, dff, mid, exponents, floor)[1] >= speedup:
            lo = mid
        else:
            hi = mid
    keep, pred = schedule_for_ratio(n, layers, d, dff, lo, exponents, floor)
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


def pruned_forward_batch(bert, ids, type_ids, keep):
    """The pruned forward of a batch at once: pruned_forward of each sequence, padded.

    ids, type_ids: lists of 1-D tensors; keep: one list of keep counts per sequence.
    Padded keys take no part in attention, padded queries none in ACC, and each sequence keeps its
    own count, so every live row is what pruned_forward computes (up to float summation order).
    Returns (last hidden rows B x k x d, live mask B x k, original positions B x k)."""
    cfg = bert.config
    batch, n = len(ids), max(len(i) for i in ids)
    heads, d = cfg.num_attention_heads, cfg.hidden_size
    dh = d // heads
    pad = lambda seqs: torch.nn.utils.rnn.pad_sequence(list(seqs), batch_first=True)  # noqa: E731
    x = bert.embeddings(input_ids=pad(ids), token_type_ids=pad(type_ids))
    lengths = torch.tensor([len(i) for i in ids])
    live = torch.arange(n)[None] < lengths[:, None]
    positions = torch.arange(n).expand(batch, n)
    keep = torch.tensor(keep)  # B x L
    for l, layer in enumerate(bert.encoder.layer):
        m = x.shape[1]
        att = layer.attention.self
        split = lambda t: t.view(batch, m, heads, dh).transpose(1, 2)  # noqa: E731
        q, kk, v = split(att.query(x)), split(att.key(x)), split(att.value(x))
        scores = q @ kk.transpose(-1, -2) / math.sqrt(dh)
        probs = torch.softmax(scores.masked_fill(~live[:, None, None, :], float("-inf")), dim=-1)
        acc = torch.einsum("bhqk,bq->bk", probs, live.to(probs.dtype)) / heads  # B x m
        # Rank: row 0 first, then live rows by ACC (stable: ties to the smaller index), padding last.
        rank_key = acc.detach().masked_fill(~live, float("-inf"))
        rank_key[:, 0] = float("inf")
        order = torch.sort(rank_key, dim=1, descending=True, stable=True).indices
        k = keep[:, l]
        width = int(k.max())
        kept_live = torch.arange(width)[None] < k[:, None]
        kept = torch.sort(order[:, :width].masked_fill(~kept_live, m), dim=1).values
        kept = kept.masked_fill(~kept_live, 0)  # padding rows of the next layer: any valid index
        # All rows' context, then the kept ones: indexing probs by kept rows would copy them.
        context = (probs @ v).transpose(1, 2).reshape(batch, m, d)
        index = kept[:, :, None].expand(batch, width, d)
        context, x_kept = torch.gather(context, 1, index), torch.gather(x, 1, index)
        y = layer.attention.output.LayerNorm(x_kept + layer.attention.output.dense(context))
        x = layer.output.LayerNorm(y + layer.output.dense(layer.intermediate(y)))
        positions = torch.gather(positions, 1, kept)
        live = kept_live
    return x, live, positions



# Every family lat runs, through the same pruned layer: how to reach each one's modules.

def encoder_of(model):
    """The encoder inside a *Model or *ForSequenceClassification of any family lat runs."""
    for name in ("bert", "roberta", "distilbert", "electra", "mpnet"):
        if hasattr(model, name):
            return getattr(model, name)
    return model


def embed(encoder, ids, type_ids):
    """The encoder's input rows for one sequence (n x hidden)."""
    kind = encoder.config.model_type
    if kind in ("distilbert", "mpnet"):
        x = encoder.embeddings(input_ids=ids[None])[0]
    else:
        x = encoder.embeddings(input_ids=ids[None], token_type_ids=type_ids[None])[0]
    if kind == "electra" and hasattr(encoder, "embeddings_project"):
        x = encoder.embeddings_project(x)
    return x


def layers_of(encoder):
    return encoder.transformer.layer if encoder.config.model_type == "distilbert" else encoder.encoder.layer


def layer_parts(kind, layer):
    """(query, key, value, output, first norm, feed-forward in with activation, out, second norm)."""
    if kind == "distilbert":
        a = layer.attention
        return (a.q_lin, a.k_lin, a.v_lin, a.out_lin, layer.sa_layer_norm,
                lambda y: layer.ffn.activation(layer.ffn.lin1(y)), layer.ffn.lin2, layer.output_layer_norm)
    if kind == "mpnet":
        a = layer.attention.attn
        return (a.q, a.k, a.v, a.o, layer.attention.LayerNorm, layer.intermediate, layer.output.dense,
                layer.output.LayerNorm)
    s = layer.attention.self
    return (s.query, s.key, s.value, layer.attention.output.dense, layer.attention.output.LayerNorm,
            layer.intermediate, layer.output.dense, layer.output.LayerNorm)


def pruned_forward_family(encoder, ids, type_ids, keep):
    """pruned_forward for any family: MPNet adds its relative position bias to the scores,
    indexed by each kept row's original position."""
    cfg = encoder.config
    kind = cfg.model_type
    x = embed(encoder, ids, type_ids)
    n = x.shape[0]
    heads = cfg.num_attention_heads if kind != "distilbert" else cfg.n_heads
    bias = encoder.encoder.compute_position_bias(x[None])[0] if kind == "mpnet" else None  # H x n x n
    positions = torch.arange(n)
    trace = []
    for layer, k in zip(layers_of(encoder), keep):
        query, key, value, output, norm1, ffn_in, ffn_out, norm2 = layer_parts(kind, layer)
        m, d = x.shape
        dh = d // heads
        split = lambda t: t.view(m, heads, dh).transpose(0, 1)  # noqa: E731
        scores = split(query(x)) @ split(key(x)).transpose(1, 2) / math.sqrt(dh)
        if bias is not None:
            scores = scores + bias[:, positions][:, :, positions]
        probs = torch.softmax(scores, dim=-1)
        acc = probs.sum(dim=1).sum(dim=0) / heads
        kept = select_rows(acc.detach(), k)
        context = (probs[:, kept, :] @ split(value(x))).transpose(0, 1).reshape(len(kept), d)
        y = norm1(x[kept] + output(context))
        x = norm2(y + ffn_out(ffn_in(y)))
        positions = positions[kept]
        trace.append((acc, positions.clone()))
    return x, positions, trace


def head_logits(model, hidden):
    """The classification head of a *ForSequenceClassification on the last rows (k x hidden)."""
    kind = model.config.model_type
    if kind == "bert":
        return model.classifier(encoder_of(model).pooler(hidden[None]))[0]
    if kind == "distilbert":
        return model.classifier(torch.relu(model.pre_classifier(hidden[0])))
    return model.classifier(hidden[None])[0]
