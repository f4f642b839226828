"""The pruned encoder of docs/design.md in PyTorch: the reference lat is tested against, and the
forward pass that ACC-aware fine-tuning trains through.

Only plain torch operations on a transformers BertModel's modules, so gradients flow through the
kept rows (selection itself is hard and has no gradient).
"""
import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch


def layer_flops(m, k, d, dff, ffn=2):
    """FLOPs of a layer taking m rows in and keeping k; `ffn` matrices of d x dff (3 when gated)."""
    return 6 * m * d * d + 2 * m * m * d + 2 * k * m * d + 2 * k * d * d + 2 * ffn * k * d * dff


def sparing(layers, spared):
    """The keep exponents that spare the first `spared` layers: w_l = max(0, l - spared)."""
    return [max(0, l - spared) for l in range(1, layers + 1)]


def floor_rows(n, floor=0.0):
    """The fewest rows a layer keeps: one when `floor` is 0, else ceil(floor n) and at least 2."""
    return 1 if floor <= 0 else min(n, max(2, math.ceil(floor * n)))


def schedule_for_ratio(n, layers, d, dff, r, exponents=None, floor=0.0, ffn=2):
    """Keep counts and predicted speedup at ratio r: layer l keeps ceil(n r^(w_l)) rows (and at
    least floor_rows), w_l = l (docs/design.md's geometric schedule) unless `exponents` gives
    them."""
    keep, prev, dense, pruned = [], n, 0.0, 0.0
    fewest = floor_rows(n, floor)
    for l in range(1, layers + 1):
        w = l if not exponents else exponents[l - 1]
        k = min(prev, int(max(fewest, math.ceil(n * r ** w))))
        dense += layer_flops(n, n, d, dff, ffn)
        pruned += layer_flops(prev, k, d, dff, ffn)
        keep.append(k)
        prev = k
    return keep, dense / pruned


def make_schedule(n, layers, d, dff, speedup, exponents=None, floor=0.0, ffn=2):
    """(keep counts, r, predicted speedup, reached) exactly as lat's make_schedule, for
    docs/design.md's geometric schedule or the keep exponents given (sparing() gives those that
    spare the first layers), with the row floor `floor`; `ffn` as in layer_flops."""
    keep, pred = schedule_for_ratio(n, layers, d, dff, 1.0, exponents, floor, ffn)
    if pred >= speedup:
        return keep, 1.0, pred, True
    keep, pred = schedule_for_ratio(n, layers, d, dff, 0.0, exponents, floor, ffn)
    if pred < speedup:
        return keep, 0.0, pred, False
    lo, hi = 0.0, 1.0
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        if schedule_for_ratio(n, layers, d, dff, mid, exponents, floor, ffn)[1] >= speedup:
            lo = mid
        else:
            hi = mid
    keep, pred = schedule_for_ratio(n, layers, d, dff, lo, exponents, floor, ffn)
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
    positions)). The family's description (FAMILIES) says where norms sit, how positions enter
    (MPNet's relative bias and rotary phases follow each kept row's original position), the
    feed-forward and the local window, which masks scores on original positions."""
    cfg = encoder.config
    family = FAMILIES[cfg.model_type]
    x = embed(encoder, ids[None], type_ids[None])[0]
    n = x.shape[0]
    heads = heads_of(cfg)
    bias = encoder.encoder.compute_position_bias(x[None])[0] if family.positions == "relative" else None  # H x n x n
    positions = torch.arange(n)
    trace = []
    for index, (layer, k) in enumerate(zip(layers_of(encoder), keep)):
        p = family.parts(layer)
        m, d = x.shape
        dh = d // heads
        split = lambda t: t.view(m, heads, dh).transpose(0, 1)  # noqa: E731
        h = p.attention_norm(x) if family.pre_norm else x
        q, kk, v = (split(t) for t in p.qkv(h))
        if family.positions == "rotary":
            q, kk = p.rotate(q, kk, positions)
        scores = q @ kk.transpose(1, 2) / math.sqrt(dh)
        if bias is not None:
            scores = scores + bias[:, positions][:, :, positions]
        window = family.window(cfg, index)
        if window is not None:
            far = (positions[:, None] - positions[None, :]).abs() > window // 2
            scores = scores.masked_fill(far, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        acc = probs.sum(dim=1).sum(dim=0) / heads
        kept = select_rows(acc.detach(), k)
        context = (probs[:, kept, :] @ v).transpose(0, 1).reshape(len(kept), d)
        if family.pre_norm:
            y = x[kept] + p.output(context)
            x = y + p.ffn(p.output_norm(y))
        else:
            y = p.attention_norm(x[kept] + p.output(context))
            x = p.output_norm(y + p.ffn(y))
        positions = positions[kept]
        trace.append((acc, positions.clone()))
    if family.final_norm:
        x = getattr(encoder, family.final_norm)(x)
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
    family = FAMILIES[cfg.model_type]
    if family.pre_norm or family.positions == "rotary":
        raise NotImplementedError(f"the batched pruned forward runs post-norm families, not {cfg.model_type}")
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
    bias = encoder.encoder.compute_position_bias(x[:1])[0] if family.positions == "relative" else None
    keep = torch.tensor(keep)  # B x L
    for l, layer in enumerate(layers_of(encoder)):
        p = family.parts(layer)
        m = x.shape[1]
        split = lambda t: t.view(batch, m, heads, dh).transpose(1, 2)  # noqa: E731
        q, kk, v = (split(t) for t in p.qkv(x))
        scores = q @ kk.transpose(-1, -2) / math.sqrt(dh)
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
        context = (probs @ v).transpose(1, 2).reshape(batch, m, d)
        index = kept[:, :, None].expand(batch, width, d)
        context, x_kept = torch.gather(context, 1, index), torch.gather(x, 1, index)
        y = p.attention_norm(x_kept + p.output(context))
        x = p.output_norm(y + p.ffn(y))
        positions = torch.gather(positions, 1, kept)
        live = kept_live
    return x, live, positions


# Every family lat runs, through the same pruned layer, described as src/model/family.cpp describes
# it: where its encoder and layers are, how to reach each layer's parts, and its structure.

@dataclass(frozen=True)
class Parts:
    """A layer's parts as functions of rows: qkv gives (Q, K, V); rotate turns Q and K (heads x m x
    dh) by original positions; ffn is the whole feed-forward; the norms are post- or pre-norm's."""
    qkv: Callable
    output: Callable
    attention_norm: Callable
    ffn: Callable
    output_norm: Callable
    rotate: Optional[Callable] = None


def _classifier_head(model, hidden):  # RoBERTa, XLM-R, ELECTRA, MPNet: the head reads row 0 itself
    return model.classifier(hidden)


def _pooler_head(model, hidden):  # BERT: the encoder's pooler, then the classifier
    return model.classifier(model.dropout(encoder_of(model).pooler(hidden)))


def _distilbert_head(model, hidden):
    return model.classifier(model.dropout(torch.relu(model.pre_classifier(hidden[:, 0]))))


def _modernbert_head(model, hidden):  # the first row or the mean, then dense, activation, norm
    pooled = hidden.mean(dim=1) if model.config.classifier_pooling == "mean" else hidden[:, 0]
    return model.classifier(model.drop(model.head(pooled)))


@dataclass(frozen=True)
class Family:
    base: str                  # the encoder's attribute in a task model
    parts: Callable            # layer -> Parts
    head: Callable = _classifier_head  # (task model, last rows B x k x hidden) -> logits
    layers: str = "encoder.layer"
    pre_norm: bool = False
    positions: str = "absolute"  # or "relative" (MPNet's bias), "rotary"
    token_types: bool = True
    ffn_matrices: int = 2      # 3 for a gated feed-forward
    final_norm: Optional[str] = None
    local_attention: bool = False

    def window(self, cfg, index):
        """Layer `index`'s window (rows see original positions within window // 2), or None."""
        if not self.local_attention or index % cfg.global_attn_every_n_layers == 0:
            return None
        return cfg.local_attention


def _separate(q, k, v):
    return lambda x: (q(x), k(x), v(x))


def _bert_parts(layer):
    s = layer.attention.self
    return Parts(_separate(s.query, s.key, s.value), layer.attention.output.dense,
                 layer.attention.output.LayerNorm, lambda y: layer.output.dense(layer.intermediate(y)),
                 layer.output.LayerNorm)


def _distilbert_parts(layer):
    a = layer.attention
    return Parts(_separate(a.q_lin, a.k_lin, a.v_lin), a.out_lin, layer.sa_layer_norm,
                 lambda y: layer.ffn.lin2(layer.ffn.activation(layer.ffn.lin1(y))), layer.output_layer_norm)


def _mpnet_parts(layer):
    a = layer.attention.attn
    return Parts(_separate(a.q, a.k, a.v), a.o, layer.attention.LayerNorm,
                 lambda y: layer.output.dense(layer.intermediate(y)), layer.output.LayerNorm)


def _modernbert_parts(layer):
    from transformers.models.modernbert.modeling_modernbert import apply_rotary_pos_emb

    attn = layer.attn

    def rotate(q, k, positions):  # the layer's own rotary module at the rows' original positions
        cos, sin = attn.rotary_emb(q, position_ids=positions[None])
        q, k = apply_rotary_pos_emb(q[None], k[None], cos, sin)
        return q[0], k[0]

    return Parts(lambda x: attn.Wqkv(x).chunk(3, dim=-1), attn.Wo, layer.attn_norm, layer.mlp, layer.mlp_norm,
                 rotate)


FAMILIES = {
    "bert": Family("bert", _bert_parts, _pooler_head),
    "roberta": Family("roberta", _bert_parts),
    "xlm-roberta": Family("roberta", _bert_parts),
    "electra": Family("electra", _bert_parts),
    "distilbert": Family("distilbert", _distilbert_parts, _distilbert_head, layers="transformer.layer",
                         token_types=False),
    "mpnet": Family("mpnet", _mpnet_parts, positions="relative", token_types=False),
    "modernbert": Family("model", _modernbert_parts, _modernbert_head, layers="layers", pre_norm=True,
                         positions="rotary", token_types=False, ffn_matrices=3, final_norm="final_norm",
                         local_attention=True),
}


def encoder_of(model):
    """The encoder inside a *Model or *ForSequenceClassification of any family lat runs."""
    base = FAMILIES[model.config.model_type].base
    return getattr(model, base) if hasattr(model, base) else model


def heads_of(cfg):
    return cfg.n_heads if cfg.model_type == "distilbert" else cfg.num_attention_heads


def shape_of(cfg):
    """(layers, hidden size, feed-forward size): what the cost model of a schedule needs, with
    ffn_of(cfg) matrices of the feed-forward."""
    if cfg.model_type == "distilbert":
        return cfg.n_layers, cfg.dim, cfg.hidden_dim
    return cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size


def ffn_of(cfg):
    return FAMILIES[cfg.model_type].ffn_matrices


def takes_token_types(cfg):
    """Whether the family's embeddings take token type ids (DistilBERT's, MPNet's and ModernBERT's
    do not)."""
    return FAMILIES[cfg.model_type].token_types


def embed(encoder, ids, type_ids):
    """The encoder's input rows (B x n x hidden) of ids and type ids (B x n)."""
    types = {"token_type_ids": type_ids} if takes_token_types(encoder.config) else {}
    x = encoder.embeddings(input_ids=ids, **types)
    if encoder.config.model_type == "electra" and hasattr(encoder, "embeddings_project"):
        x = encoder.embeddings_project(x)
    return x


def layers_of(encoder):
    out = encoder
    for name in FAMILIES[encoder.config.model_type].layers.split("."):
        out = getattr(out, name)
    return out


def head_logits(model, hidden):
    """The classification head of a *ForSequenceClassification on the last rows (B x k x hidden),
    as the model's own forward applies it (with its dropout when training)."""
    return FAMILIES[model.config.model_type].head(model, hidden)
