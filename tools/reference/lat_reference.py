"""The pruned encoder of docs/design.md in PyTorch: the reference lat is tested against, and the
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
    least floor_rows), w_l = l (docs/design.md's geometric schedule) unless `exponents` gives
    them."""
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
    """(keep counts, r, predicted speedup, reached) exactly as lat's make_schedule, for
    docs/design.md's geometric schedule or the keep exponents given (sparing() gives those that
    spare the first layers), with the row floor `floor`."""
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


def pruned_forward(encoder, ids, type_ids, keep):
    """encoder: the *Model of any family lat runs (encoder_of gives it). ids, type_ids: 1-D tensors of
    one sequence. Returns (last hidden rows, original positions of those rows, per-layer (acc, kept
    positions)). MPNet adds its relative position bias to the scores, indexed by each kept row's
    original position."""
    cfg = encoder.config
    kind = cfg.model_type
    x = embed(encoder, ids[None], type_ids[None])[0]
    n = x.shape[0]
    heads = heads_of(cfg)
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


def acc_of(probs, live):
    """ACC of every row of a padded batch (B x m): the column sums of the attention probabilities
    (B x H x m x m) over the live query rows (live: B x m), averaged over heads."""
    return torch.einsum("bhqk,bq->bk", probs, live.to(probs.dtype)) / probs.shape[1]


def pruned_forward_batch(encoder, ids, type_ids, keep, accs=None, score=acc_of):
    """The pruned forward of a batch at once: pruned_forward of each sequence, padded.

    ids, type_ids: lists of 1-D tensors; keep: one list of keep counts per sequence. `score` ranks
    the rows (probs, live -> B x m): ACC, as docs/design.md fixes it, unless a probe of other keep
    rules passes another. With a list `accs`, each layer appends (that score B x m, with its
    gradient; live mask B x m; original positions B x m) of the rows it selects from.
    Padded keys take no part in attention, padded queries none in ACC, and each sequence keeps its
    own count, so every live row is what pruned_forward computes (up to float summation order).
    Returns (last hidden rows B x k x d, live mask B x k, original positions B x k)."""
    cfg = encoder.config
    kind = cfg.model_type
    batch, n = len(ids), max(len(i) for i in ids)
    heads = heads_of(cfg)
    pad = lambda seqs, value: torch.nn.utils.rnn.pad_sequence(  # noqa: E731
        list(seqs), batch_first=True, padding_value=value)
    # Padding with the pad id keeps the positions RoBERTa-style embeddings count from the ids.
    x = embed(encoder, pad(ids, cfg.pad_token_id or 0), pad(type_ids, 0))
    d = x.shape[-1]
    dh = d // heads
    lengths = torch.tensor([len(i) for i in ids])
    live = torch.arange(n)[None] < lengths[:, None]
    positions = torch.arange(n).expand(batch, n)
    bias = encoder.encoder.compute_position_bias(x[:1])[0] if kind == "mpnet" else None  # H x n x n
    keep = torch.tensor(keep)  # B x L
    for l, layer in enumerate(layers_of(encoder)):
        query, key, value, output, norm1, ffn_in, ffn_out, norm2 = layer_parts(kind, layer)
        m = x.shape[1]
        split = lambda t: t.view(batch, m, heads, dh).transpose(1, 2)  # noqa: E731
        scores = split(query(x)) @ split(key(x)).transpose(-1, -2) / math.sqrt(dh)
        if bias is not None:  # each sequence's kept positions: B x H x m x m
            scores = scores + bias[:, positions[:, :, None], positions[:, None, :]].transpose(0, 1)
        probs = torch.softmax(scores.masked_fill(~live[:, None, None, :], float("-inf")), dim=-1)
        acc = score(probs, live)
        if accs is not None:
            accs.append((acc, live, positions))
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
        context = (probs @ split(value(x))).transpose(1, 2).reshape(batch, m, d)
        index = kept[:, :, None].expand(batch, width, d)
        context, x_kept = torch.gather(context, 1, index), torch.gather(x, 1, index)
        y = norm1(x_kept + output(context))
        x = norm2(y + ffn_out(ffn_in(y)))
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


def heads_of(cfg):
    return cfg.n_heads if cfg.model_type == "distilbert" else cfg.num_attention_heads


def shape_of(cfg):
    """(layers, hidden size, feed-forward size): what the cost model of a schedule needs."""
    if cfg.model_type == "distilbert":
        return cfg.n_layers, cfg.dim, cfg.hidden_dim
    return cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size


def takes_token_types(cfg):
    """Whether the family's embeddings take token type ids (DistilBERT's and MPNet's do not)."""
    return cfg.model_type not in ("distilbert", "mpnet")


def embed(encoder, ids, type_ids):
    """The encoder's input rows (B x n x hidden) of ids and type ids (B x n)."""
    types = {"token_type_ids": type_ids} if takes_token_types(encoder.config) else {}
    x = encoder.embeddings(input_ids=ids, **types)
    if encoder.config.model_type == "electra" and hasattr(encoder, "embeddings_project"):
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


def head_logits(model, hidden):
    """The classification head of a *ForSequenceClassification on the last rows (B x k x hidden),
    as the model's own forward applies it (with its dropout when training)."""
    kind = model.config.model_type
    if kind == "bert":
        return model.classifier(model.dropout(encoder_of(model).pooler(hidden)))
    if kind == "distilbert":
        return model.classifier(model.dropout(torch.relu(model.pre_classifier(hidden[:, 0]))))
    return model.classifier(hidden)
