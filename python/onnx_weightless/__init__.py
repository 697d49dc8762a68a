"""onnx-weightless: the structure of any ONNX model, without its weights, as a torch.fx.GraphModule
whose weights live on the ``meta`` device.

>>> import onnx_weightless as ow
>>> gm = ow.convert("model.onnx")            # weight files may be missing
>>> out = gm(torch.empty(1, 3, 224, 224, device="meta"))   # meta inputs: runs meta_forward
"""

from __future__ import annotations

from ._convert import convert, weightless_onnx_loader
from ._converters import register_converter
from ._dtypes import torch_dtype
from ._errors import (
    ConversionError,
    ExportError,
    ExternalDataError,
    FixedDimensionWarning,
    FormatError,
    LimitError,
    MissingWeightsError,
    ModelReadError,
    UnsupportedDtypeError,
    UnsupportedOperatorError,
    ValueNeededError,
    WeightlessError,
)
from ._export import export
from ._inspect import ModelReport, inspect
from ._materialize import materialize
from ._meta_forward import meta_forward
from ._opaque import OpaqueOp
from ._shapes import ValueShape, propagate_shapes
from ._shared_tensors import TENSORS_NOT_HELD
from ._skeleton import DEFAULT_SIZE_THRESHOLD, load, scan
from ._strip import strip

__version__ = "0.1.0"

__all__ = [
    "ConversionError",
    "DEFAULT_SIZE_THRESHOLD",
    "ExportError",
    "ExternalDataError",
    "FixedDimensionWarning",
    "FormatError",
    "LimitError",
    "MissingWeightsError",
    "ModelReadError",
    "ModelReport",
    "OpaqueOp",
    "TENSORS_NOT_HELD",
    "UnsupportedDtypeError",
    "UnsupportedOperatorError",
    "ValueNeededError",
    "ValueShape",
    "WeightlessError",
    "convert",
    "export",
    "inspect",
    "load",
    "materialize",
    "meta_forward",
    "propagate_shapes",
    "register_converter",
    "scan",
    "strip",
    "torch_dtype",
    "weightless_onnx_loader",
]
