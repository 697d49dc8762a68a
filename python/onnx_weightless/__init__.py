"""onnx-weightless: the structure of any ONNX model, without its weights, as a torch.fx.GraphModule
whose weights live on the ``meta`` device.

>>> import onnx_weightless as ow
>>> gm = ow.convert("model.onnx")            # weight files may be missing
>>> out = gm(torch.empty(1, 3, 224, 224, device="meta"))   # meta inputs: runs meta_forward
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import (
    ConversionError,
    ExportError,
    ExternalDataError,
    FixedDimensionWarning,
    FormatError,
    LimitError,
    MetaForwardError,
    MissingWeightsError,
    ModelReadError,
    UnsupportedDtypeError,
    UnsupportedOperatorError,
    ValueNeededError,
    WeightlessError,
)
from ._diff import diff
from ._inspect import ModelReport, inspect
from ._skeleton import DEFAULT_SIZE_THRESHOLD, load, scan
from ._strip import strip

#: Names whose modules import torch and onnx2torch (seconds and a gigabyte): imported when first
#: used, so that scanning, loading, stripping, inspecting and diffing models stay as light as ``import onnx``.
_WITH_TORCH = {
    "convert": "._convert",
    "weightless_onnx_loader": "._convert",
    "register_converter": "._converters",
    "torch_dtype": "._dtypes",
    "export": "._export",
    "materialize": "._materialize",
    "meta_forward": "._meta_forward",
    "OpaqueOp": "._opaque",
    "ValueShape": "._shapes",
    "propagate_shapes": "._shapes",
    "TENSORS_NOT_HELD": "._shared_tensors",
}

if TYPE_CHECKING:
    from ._convert import convert, weightless_onnx_loader
    from ._converters import register_converter
    from ._dtypes import torch_dtype
    from ._export import export
    from ._materialize import materialize
    from ._meta_forward import meta_forward
    from ._opaque import OpaqueOp
    from ._shapes import ValueShape, propagate_shapes
    from ._shared_tensors import TENSORS_NOT_HELD


def __getattr__(name: str) -> Any:
    if name not in _WITH_TORCH:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_WITH_TORCH[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WITH_TORCH))


__version__ = "0.1.0"

__all__ = [
    "ConversionError",
    "DEFAULT_SIZE_THRESHOLD",
    "ExportError",
    "ExternalDataError",
    "FixedDimensionWarning",
    "FormatError",
    "LimitError",
    "MetaForwardError",
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
    "diff",
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
