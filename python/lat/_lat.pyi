"""lat: BERT-style encoders on the CPU, with ACC token pruning."""

from collections.abc import Sequence
import os
from typing import Annotated, overload

import numpy
from numpy.typing import NDArray

from lat import Error as Error


class Encoding:
    """Token ids of one input, special tokens included."""

    def __init__(self, ids: Sequence[int], type_ids: Sequence[int] | None = None, truncated: bool = False) -> None: ...

    @property
    def ids(self) -> list[int]: ...

    @ids.setter
    def ids(self, arg: Sequence[int], /) -> None: ...

    @property
    def type_ids(self) -> list[int]:
        """Empty for all zeros."""

    @type_ids.setter
    def type_ids(self, arg: Sequence[int], /) -> None: ...

    @property
    def truncated(self) -> bool: ...

    @truncated.setter
    def truncated(self, arg: bool, /) -> None: ...

    def __len__(self) -> int: ...

    def __repr__(self) -> str: ...

class LayerTrace:
    """One layer's view of one input."""

    @property
    def acc(self) -> Annotated[NDArray[numpy.float32], dict(writable=False)]:
        """ACC of each row that entered the layer, in that order."""

    @property
    def positions(self) -> list[int]:
        """Original positions of the rows that left the layer."""

class EncoderOutput:
    """Last hidden states of one input (its kept rows) and its embedding."""

    @property
    def hidden(self) -> Annotated[NDArray[numpy.float32], dict(shape=(None, None), writable=False)]:
        """rows x hidden, float32"""

    @property
    def positions(self) -> Annotated[NDArray[numpy.int32], dict(writable=False)]:
        """Original position of each row of hidden."""

    @property
    def embedding(self) -> Annotated[NDArray[numpy.float32], dict(writable=False)]:
        """Pooled as the model folder says."""

    @property
    def logits(self) -> Annotated[NDArray[numpy.float32], dict(writable=False)]:
        """Classifier models only; empty otherwise."""

    @property
    def tokens(self) -> int:
        """Tokens that entered the encoder, special tokens included."""

    @property
    def truncated(self) -> bool:
        """Whether the text was cut to max_length."""

    @property
    def kept(self) -> list[int]:
        """How many rows each layer kept."""

    @property
    def speedup(self) -> float:
        """The speedup of the policy that ran it."""

    @property
    def ms(self) -> float:
        """Wall time of the call that produced this result, in milliseconds."""

    @property
    def trace(self) -> list[LayerTrace]:
        """
        ACC and kept positions of every layer (encoders built with trace=True).
        """

class Classification:
    @property
    def label(self) -> int: ...

    @property
    def label_name(self) -> str: ...

    @property
    def probs(self) -> Annotated[NDArray[numpy.float32], dict(writable=False)]: ...

    @property
    def logits(self) -> Annotated[NDArray[numpy.float32], dict(writable=False)]: ...

    def __repr__(self) -> str: ...

    @property
    def tokens(self) -> int:
        """Tokens that entered the encoder, special tokens included."""

    @property
    def truncated(self) -> bool:
        """Whether the text was cut to max_length."""

    @property
    def kept(self) -> list[int]:
        """How many rows each layer kept."""

    @property
    def speedup(self) -> float:
        """The speedup of the policy that ran it."""

    @property
    def ms(self) -> float:
        """Wall time of the call that produced this result, in milliseconds."""

    @property
    def trace(self) -> list[LayerTrace]:
        """
        ACC and kept positions of every layer (encoders built with trace=True).
        """

def activate(activation: str, logits: Annotated[NDArray[numpy.float32], dict(shape=(None, None), order='C', writable=False)]) -> NDArray[numpy.float32]:
    """
    Each row of logits through a head's activation: 'softmax', 'sigmoid' or 'identity'.
    """

class RankedDocument:
    """One document of a rerank: its index and score."""

    @property
    def index(self) -> int: ...

    @property
    def score(self) -> float: ...

    def __repr__(self) -> str: ...

    @property
    def tokens(self) -> int:
        """Tokens that entered the encoder, special tokens included."""

    @property
    def truncated(self) -> bool:
        """Whether the text was cut to max_length."""

    @property
    def kept(self) -> list[int]:
        """How many rows each layer kept."""

    @property
    def speedup(self) -> float:
        """The speedup of the policy that ran it."""

    @property
    def ms(self) -> float:
        """Wall time of the call that produced this result, in milliseconds."""

    @property
    def trace(self) -> list[LayerTrace]:
        """
        ACC and kept positions of every layer (encoders built with trace=True).
        """

class CostModel:
    """
    What a layer costs; weight_flops, attention_flops and input_flops 0 is the FLOP count.
    """

    @overload
    def __init__(self) -> None: ...

    @overload
    def __init__(self, weight_flops: float, attention_flops: float = 0.0, input_flops: float = 0.0) -> None: ...

    @property
    def weight_flops(self) -> float: ...

    @weight_flops.setter
    def weight_flops(self, arg: float, /) -> None: ...

    @property
    def attention_flops(self) -> float: ...

    @attention_flops.setter
    def attention_flops(self, arg: float, /) -> None: ...

    @property
    def input_flops(self) -> float: ...

    @input_flops.setter
    def input_flops(self, arg: float, /) -> None: ...

    def __repr__(self) -> str: ...

class Policy:
    """
    What decides a call's schedule: speedup, keep exponents, row floor, cost model. Checked when made.
    """

    def __init__(self, speedup: float = 1.0, exponents: Sequence[float] | None = None, floor: float = 0.0, cost: CostModel | None = None) -> None: ...

    @property
    def speedup(self) -> float: ...

    @property
    def exponents(self) -> list[float]:
        """Empty: the geometric schedule."""

    @property
    def floor(self) -> float: ...

    @property
    def cost(self) -> CostModel: ...

    def __eq__(self, arg: Policy, /) -> bool: ...

    def __repr__(self) -> str: ...

class TunedPoint:
    """One speedup of lat.json's tuned curve."""

    def __init__(self) -> None: ...

    @property
    def speedup(self) -> float: ...

    @speedup.setter
    def speedup(self, arg: float, /) -> None: ...

    @property
    def exponents(self) -> list[float]: ...

    @exponents.setter
    def exponents(self, arg: Sequence[float], /) -> None: ...

    @property
    def accuracy(self) -> float | None: ...

    @accuracy.setter
    def accuracy(self, arg: float | None, /) -> None: ...

    @property
    def mean_cosine(self) -> float | None: ...

    @mean_cosine.setter
    def mean_cosine(self, arg: float | None, /) -> None: ...

    @property
    def p5_cosine(self) -> float | None: ...

    @p5_cosine.setter
    def p5_cosine(self, arg: float | None, /) -> None: ...

    @property
    def recall_at_10(self) -> float | None: ...

    @recall_at_10.setter
    def recall_at_10(self, arg: float | None, /) -> None: ...

    @property
    def predicted_speedup(self) -> float: ...

    @predicted_speedup.setter
    def predicted_speedup(self, arg: float, /) -> None: ...

    @property
    def measured_speedup(self) -> float: ...

    @measured_speedup.setter
    def measured_speedup(self, arg: float, /) -> None: ...

    @property
    def reached(self) -> int: ...

    @reached.setter
    def reached(self, arg: int, /) -> None: ...

    @property
    def inputs(self) -> int: ...

    @inputs.setter
    def inputs(self, arg: int, /) -> None: ...

class TuningRecord:
    """How lat_tune chose the settings."""

    def __init__(self) -> None: ...

    @property
    def tuned_on(self) -> str: ...

    @tuned_on.setter
    def tuned_on(self, arg: str, /) -> None: ...

    @property
    def budget_points(self) -> float | None: ...

    @budget_points.setter
    def budget_points(self, arg: float | None, /) -> None: ...

    @property
    def dense_accuracy(self) -> float | None: ...

    @dense_accuracy.setter
    def dense_accuracy(self, arg: float | None, /) -> None: ...

    @property
    def search_seconds(self) -> float | None: ...

    @search_seconds.setter
    def search_seconds(self, arg: float | None, /) -> None: ...

    @property
    def search_evaluations(self) -> int | None: ...

    @search_evaluations.setter
    def search_evaluations(self, arg: int | None, /) -> None: ...

    @property
    def search_significance(self) -> float | None: ...

    @search_significance.setter
    def search_significance(self, arg: float | None, /) -> None: ...

    @property
    def search_seed(self) -> int | None: ...

    @search_seed.setter
    def search_seed(self, arg: int | None, /) -> None: ...

    @property
    def schedules(self) -> str: ...

    @schedules.setter
    def schedules(self, arg: str, /) -> None: ...

class Settings:
    """lat.json: the knob, its schedule and the tuned curve."""

    def __init__(self) -> None: ...

    @property
    def speedup(self) -> float | None: ...

    @speedup.setter
    def speedup(self, arg: float | None, /) -> None: ...

    @property
    def precision(self) -> str | None: ...

    @precision.setter
    def precision(self, arg: str | None, /) -> None: ...

    @property
    def weight_flops(self) -> float | None: ...

    @weight_flops.setter
    def weight_flops(self, arg: float | None, /) -> None: ...

    @property
    def attention_flops(self) -> float | None: ...

    @attention_flops.setter
    def attention_flops(self, arg: float | None, /) -> None: ...

    @property
    def input_flops(self) -> float | None: ...

    @input_flops.setter
    def input_flops(self, arg: float | None, /) -> None: ...

    @property
    def exponents(self) -> list[float]: ...

    @exponents.setter
    def exponents(self, arg: Sequence[float], /) -> None: ...

    @property
    def floor(self) -> float | None: ...

    @floor.setter
    def floor(self, arg: float | None, /) -> None: ...

    @property
    def curve(self) -> list[TunedPoint]: ...

    @curve.setter
    def curve(self, arg: Sequence[TunedPoint], /) -> None: ...

    @property
    def tuning(self) -> TuningRecord | None: ...

    @tuning.setter
    def tuning(self, arg: TuningRecord | None, /) -> None: ...

    def exponents_for(self, speedup: float, layers: int) -> list[float]:
        """The keep exponents of a speedup under the tuned curve."""

def read_settings(file: str | os.PathLike) -> Settings:
    """Reads a lat.json, strictly."""

def write_settings(file: str | os.PathLike, settings: Settings) -> None:
    """Writes a lat.json, after the checks read_settings makes."""

def set_kernel_cache_capacity(kernels: int) -> None:
    """
    Compiled kernels the process keeps, for all encoders together: each product shape is one. A server meeting new batch shapes bounds its memory with fewer. lat.Error below 0.
    """

def kernel_cache_capacity() -> int:
    """
    Compiled kernels the process keeps (16,384 unless set, or unless ONEDNN_PRIMITIVE_CACHE_CAPACITY is).
    """

class Schedule:
    """Keep counts for one input length."""

    @property
    def keep(self) -> list[int]:
        """Rows that leave each layer."""

    @property
    def ratio(self) -> float: ...

    @property
    def predicted(self) -> float:
        """Predicted speedup over the dense model."""

    @property
    def reached(self) -> bool: ...

    def __repr__(self) -> str: ...

class EncoderInfo:
    """How an encoder behaves."""

    @property
    def layers(self) -> int: ...

    @property
    def hidden(self) -> int: ...

    @property
    def heads(self) -> int: ...

    @property
    def intermediate(self) -> int: ...

    @property
    def max_positions(self) -> int: ...

    @property
    def model_type(self) -> str: ...

    @property
    def max_length(self) -> int: ...

    @property
    def threads(self) -> int: ...

    @property
    def precision(self) -> str: ...

    @property
    def policy(self) -> Policy:
        """The encoder's own policy: the knob in force."""

    @property
    def curve(self) -> list[TunedPoint]:
        """lat.json's tuned curve; empty when not tuned."""

    @property
    def classifier(self) -> bool: ...

    @property
    def labels(self) -> list[str]: ...

    @property
    def activation(self) -> str:
        """The head's activation: 'softmax', 'sigmoid' or 'identity'."""

    @property
    def mean_pooling(self) -> bool: ...

    @property
    def normalize(self) -> bool: ...

    def __repr__(self) -> str: ...

class Encoder:
    """
    A BERT-style encoder loaded from a Hugging Face model folder. Immutable; safe to call from many threads at once.
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None, speedup: float | None = None, precision: str | None = None, max_length: int | None = None, cost: CostModel | None = None, exponents: Sequence[float] | None = None, floor: float | None = None, trace: bool = False) -> None: ...

    def embed(self, texts: object, speedup: float | None = None, exponents: Sequence[float] | None = None, floor: float | None = None, policy: Policy | None = None) -> NDArray[numpy.float32]:
        """
        Pooled embeddings of the texts: float32, (len(texts), hidden). speedup, exponents and floor choose this call's policy as an encoder built with them would have it; policy gives one whole.
        """

    def classify(self, texts: object, speedup: float | None = None, exponents: Sequence[float] | None = None, floor: float | None = None, policy: Policy | None = None) -> list[Classification]:
        """
        Labels of the texts, by the model folder's classifier head; the policy as in embed.
        """

    def classify_pairs(self, pairs: object, speedup: float | None = None, exponents: Sequence[float] | None = None, floor: float | None = None, policy: Policy | None = None) -> list[Classification]:
        """
        The classifier head on (first, second) pairs, as a cross-encoder reads them; the policy as in embed.
        """

    def rerank(self, query: object, documents: object, top_k: int | None = None, speedup: float | None = None, exponents: Sequence[float] | None = None, floor: float | None = None, policy: Policy | None = None) -> list[RankedDocument]:
        """
        The documents by score against the query, highest first, the best top_k of them; needs a head of one logit. The policy as in embed.
        """

    def run(self, encodings: Sequence[Encoding], speedup: float | None = None, exponents: Sequence[float] | None = None, floor: float | None = None, policy: Policy | None = None) -> list[EncoderOutput]:
        """Hidden states of pre-tokenised inputs; the policy as in embed."""

    def policy(self, speedup: float | None = None, exponents: Sequence[float] | None = None, floor: float | None = None) -> Policy:
        """
        The policy an encoder built on this folder with these values would have (None: this encoder's); lat.json's tuned curve gives the exponents of a speedup.
        """

    def tokenize(self, text: object) -> Encoding: ...

    def tokenize_pair(self, first: object, second: object) -> Encoding: ...

    def token(self, id: int) -> str:
        """The word piece of a token id; '' outside the vocabulary."""

    def schedule(self, tokens: int, batch: int = 1) -> Schedule:
        """
        The keep counts this encoder uses for an input of that many tokens in a call of `batch` inputs.
        """

    @property
    def info(self) -> EncoderInfo: ...

    def calibrate(self, tokens: int = 128) -> CostModel:
        """
        Measures this machine's cost model for this model and thread count (seconds).
        """

class ZeroShotClassifier:
    """
    Zero-shot labels for an embedding model: each label described by a sentence.
    """

    def __init__(self, encoder: Encoder, labels: object) -> None:
        """
        labels: {name: description}, or (name, description) pairs, in label order.
        """

    def classify(self, texts: object, speedup: float | None = None, exponents: Sequence[float] | None = None, floor: float | None = None, policy: Policy | None = None) -> list[Classification]: ...

    @property
    def labels(self) -> list[str]: ...

    @property
    def descriptions(self) -> list[str]: ...
