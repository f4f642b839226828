"""lat: BERT-style encoders on the CPU, with ACC token pruning.

    import lat
    encoder = lat.Encoder("models/all-MiniLM-L6-v2", speedup=2.0)
    vectors = encoder.embed(["a gorgeous film", "it is dull"])   # numpy float32, (2, 384)

Every call into lat releases the GIL: threads sharing one Encoder run at once.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _lat
from ._lat import (
    Classification,
    CostModel,
    EncoderInfo,
    EncoderOutput,
    Encoding,
    Error,
    LayerTrace,
    Policy,
    RankedDocument,
    Schedule,
    Settings,
    TunedPoint,
    TuningRecord,
    ZeroShotClassifier,
    kernel_cache_capacity,
    read_settings,
    set_kernel_cache_capacity,
    write_settings,
)

__all__ = [
    "Classification",
    "CostModel",
    "Encoder",
    "EncoderInfo",
    "EncoderOutput",
    "Encoding",
    "Error",
    "LayerTrace",
    "Policy",
    "RankedDocument",
    "Schedule",
    "Settings",
    "TunedPoint",
    "TuningRecord",
    "ZeroShotClassifier",
    "kernel_cache_capacity",
    "read_settings",
    "set_kernel_cache_capacity",
    "write_settings",
]


def _progress(total: int, enabled: bool) -> Any:
    """A progress bar over `total` texts: tqdm's when it is installed, else a line on stderr."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc="encode", unit="text")
    except ImportError:
        return _LineProgress(total)


class _LineProgress:
    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0

    def update(self, n: int) -> None:
        self.done += n
        print(f"\rencode: {self.done}/{self.total}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        print(file=sys.stderr, flush=True)


class Encoder(_lat.Encoder):
    """A BERT-style encoder loaded from a Hugging Face model folder.

    Encoder(path, threads=None, speedup=None, precision=None, max_length=None, cost=None,
            exponents=None, floor=None):
    threads per call (None: every core), the speedup asked of ACC pruning (None: lat.json's,
    else 1, the dense model), precision "fp32", "bf16", "int8" or "int8-static" (which needs the
    activation ranges lat_tune writes to lat.json; None: lat.json's, else fp32), tokens per input
    (None: the folder's); the schedule's cost model, keep exponents (one per layer) and row floor (a fraction of the input), each None for lat.json's, else the FLOP
    model, the geometric schedule and one row. Immutable; safe to share between threads.

    embed, classify, run and encode take speedup=, exponents= and floor= (or a whole policy=) to
    run that call under another schedule policy, as an encoder built with them would run it; the
    weights are the same for every call.
    """

    def _call_policy(self, speedup: Optional[float], exponents: Optional[Sequence[float]],
                     floor: Optional[float], policy: Optional[Policy]) -> Optional[Policy]:
        """The policy of every batch of a call: the one given, else the keywords', else none
        (the encoder's own); made once, so that each batch need not resolve it again."""
        if policy is None and (speedup is not None or exponents is not None or floor is not None):
            policy = self.policy(speedup, None if exponents is None else list(exponents), floor)
        return policy

    def encode(
        self,
        sentences: Union[str, Iterable[str]],
        batch_size: int = 32,
        show_progress_bar: bool = False,
        normalize_embeddings: Optional[bool] = None,
        convert_to_numpy: bool = True,
        speedup: Optional[float] = None,
        exponents: Optional[Sequence[float]] = None,
        floor: Optional[float] = None,
        policy: Optional[Policy] = None,
    ) -> Union[np.ndarray, List[np.ndarray]]:
        """Embeddings as sentence-transformers' SentenceTransformer.encode gives them.

        Texts run in batches of `batch_size`, longest first, so that a batch holds texts of
        similar length; the result is in the input order. One str gives one vector.
        normalize_embeddings=True makes every vector unit length; None or False leaves them as
        the model folder says (a folder whose modules include Normalize gives unit vectors).
        convert_to_numpy=False gives a list of 1-D arrays instead of one 2-D array.
        speedup, exponents, floor and policy choose the policy of every batch, as in embed.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        policy = self._call_policy(speedup, exponents, floor, policy)
        single = isinstance(sentences, (str, bytes))
        texts: Sequence[Any] = [sentences] if single else list(sentences)
        out = np.empty((len(texts), self.info.hidden), dtype=np.float32)
        for chunk in _batches([len(t) for t in texts], batch_size, show_progress_bar):
            out[chunk] = self.embed([texts[i] for i in chunk], policy=policy)
        if normalize_embeddings:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            np.divide(out, np.maximum(norms, 1e-12), out=out)
        if single:
            return out[0]
        return out if convert_to_numpy else list(out)

    def predict(
        self,
        sentences: Union[Tuple[str, str], Sequence[Sequence[str]]],
        batch_size: int = 32,
        show_progress_bar: bool = False,
        activation: Union[None, str, Callable[[np.ndarray], np.ndarray]] = None,
        speedup: Optional[float] = None,
        exponents: Optional[Sequence[float]] = None,
        floor: Optional[float] = None,
        policy: Optional[Policy] = None,
    ) -> Union[np.ndarray, float]:
        """Scores of (first, second) pairs, as sentence-transformers' CrossEncoder.predict gives
        them: float32, (len(pairs),) for a head of one logit, else (len(pairs), labels).

        activation: None for the folder's (info.activation: sentence-transformers' saved choice,
        else identity for regression, sigmoid for one logit or multi-label, else softmax),
        "identity", "sigmoid" or "softmax", or a function of the logits (a 2-D array). One pair gives one score (or one row). Pairs run in
        batches of `batch_size`, longest first; speedup, exponents, floor and policy as in embed.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        policy = self._call_policy(speedup, exponents, floor, policy)
        single = len(sentences) == 2 and all(isinstance(t, (str, bytes)) for t in sentences)
        pairs: List[Any] = [sentences] if single else list(sentences)
        labels = len(self.info.labels)
        logits = np.empty((len(pairs), labels), dtype=np.float32)
        probs = np.empty_like(logits)
        for chunk in _batches([sum(len(t) for t in p) for p in pairs], batch_size, show_progress_bar):
            for i, c in zip(chunk, self.classify_pairs([pairs[i] for i in chunk], policy=policy)):
                logits[i], probs[i] = c.logits, c.probs
        scores = probs if activation is None else _activate(activation, logits)
        scores = np.asarray(scores, dtype=np.float32)
        if labels == 1:
            scores = scores.reshape(len(pairs))
        return scores[0] if single else scores

    def rank(
        self,
        query: str,
        documents: Sequence[str],
        top_k: Optional[int] = None,
        return_documents: bool = False,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        activation: Union[None, str, Callable[[np.ndarray], np.ndarray]] = None,
        speedup: Optional[float] = None,
        exponents: Optional[Sequence[float]] = None,
        floor: Optional[float] = None,
        policy: Optional[Policy] = None,
    ) -> List[Dict[str, Any]]:
        """The documents by their score against the query, highest first, as
        sentence-transformers' CrossEncoder.rank gives them: [{"corpus_id", "score"}, with
        "text" when return_documents], the best top_k (None: all). Needs a head of one logit;
        the rest as in predict."""
        if len(self.info.labels) != 1:
            raise _error("unsupported", "rank needs a cross-encoder, a classifier head of one logit; "
                         f"this one has {len(self.info.labels)}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        if isinstance(documents, (str, bytes)):
            raise TypeError("documents must be a sequence of texts, got one text; wrap it in a list")
        docs = list(documents)
        scores = self.predict([(query, d) for d in docs], batch_size, show_progress_bar, activation, speedup,
                              exponents, floor, policy) if docs else np.empty(0, dtype=np.float32)
        order = sorted(range(len(docs)), key=lambda i: -scores[i])[:top_k]
        ranked = [{"corpus_id": i, "score": float(scores[i])} for i in order]
        if return_documents:
            for r in ranked:
                r["text"] = docs[r["corpus_id"]]
        return ranked


def _error(code: str, message: str) -> Error:
    """A lat.Error as the library raises them: .code names the kind, .message the fault."""
    error = Error(message)
    error.code, error.message = code, message
    return error


def _batches(lengths: Sequence[int], batch_size: int, show_progress_bar: bool) -> Iterator[List[int]]:
    """Indices of the inputs in batches of `batch_size`, longest first, so that a batch holds
    inputs of similar length; a progress bar over them where asked."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    bar = _progress(len(lengths), show_progress_bar)
    try:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            yield chunk
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()


def _activate(activation: Union[str, Callable[[np.ndarray], np.ndarray]], logits: np.ndarray) -> np.ndarray:
    """The logits (pairs x labels) through an activation named (lat's own, as heads apply them)
    or given."""
    if callable(activation):
        return np.asarray(activation(logits))
    if activation not in ("identity", "sigmoid", "softmax"):
        raise ValueError(f"activation must be None, 'identity', 'sigmoid', 'softmax' or a function, "
                         f"got {activation!r}")
    return _lat.activate(activation, logits)
