from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

from ._lat import (
    Classification as Classification,
    CostModel as CostModel,
    EncoderInfo as EncoderInfo,
    EncoderOutput as EncoderOutput,
    Encoding as Encoding,
    Error as Error,
    LayerTrace as LayerTrace,
    Policy as Policy,
    RankedDocument as RankedDocument,
    Schedule as Schedule,
    Settings as Settings,
    TunedPoint as TunedPoint,
    TuningRecord as TuningRecord,
    ZeroShotClassifier as ZeroShotClassifier,
    kernel_cache_capacity as kernel_cache_capacity,
    read_settings as read_settings,
    set_kernel_cache_capacity as set_kernel_cache_capacity,
    write_settings as write_settings,
)
from ._lat import Encoder as _Encoder

class Encoder(_Encoder):
    @overload
    def encode(
        self,
        sentences: str,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        normalize_embeddings: Optional[bool] = None,
        convert_to_numpy: bool = True,
        speedup: Optional[float] = None,
        exponents: Optional[Sequence[float]] = None,
        floor: Optional[float] = None,
        policy: Optional[Policy] = None,
    ) -> npt.NDArray[np.float32]: ...
    @overload
    def encode(
        self,
        sentences: Iterable[str],
        batch_size: int = 32,
        show_progress_bar: bool = False,
        normalize_embeddings: Optional[bool] = None,
        convert_to_numpy: bool = True,
        speedup: Optional[float] = None,
        exponents: Optional[Sequence[float]] = None,
        floor: Optional[float] = None,
        policy: Optional[Policy] = None,
    ) -> Union[npt.NDArray[np.float32], List[npt.NDArray[np.float32]]]: ...
    @overload
    def predict(
        self,
        sentences: Tuple[str, str],
        batch_size: int = 32,
        show_progress_bar: bool = False,
        activation: Union[None, str, Callable[[npt.NDArray[np.float32]], npt.NDArray[Any]]] = None,
        speedup: Optional[float] = None,
        exponents: Optional[Sequence[float]] = None,
        floor: Optional[float] = None,
        policy: Optional[Policy] = None,
    ) -> Union[float, npt.NDArray[np.float32]]: ...
    @overload
    def predict(
        self,
        sentences: Sequence[Sequence[str]],
        batch_size: int = 32,
        show_progress_bar: bool = False,
        activation: Union[None, str, Callable[[npt.NDArray[np.float32]], npt.NDArray[Any]]] = None,
        speedup: Optional[float] = None,
        exponents: Optional[Sequence[float]] = None,
        floor: Optional[float] = None,
        policy: Optional[Policy] = None,
    ) -> npt.NDArray[np.float32]: ...
    def rank(
        self,
        query: str,
        documents: Sequence[str],
        top_k: Optional[int] = None,
        return_documents: bool = False,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        activation: Union[None, str, Callable[[npt.NDArray[np.float32]], npt.NDArray[Any]]] = None,
        speedup: Optional[float] = None,
        exponents: Optional[Sequence[float]] = None,
        floor: Optional[float] = None,
        policy: Optional[Policy] = None,
    ) -> List[Dict[str, Any]]: ...
