"""Cast-13 and later: bfloat16 and float8 targets, and Cast-19's ``saturate``.

This deliberately overrides onnx2torch's Cast-13, whose type table lacks bfloat16 (a Cast-13 type).
Targets that table has keep onnx2torch's converter, so their modules are what onnx2torch makes.
Casts to float8 follow the spec's tables: with ``saturate`` (the default) values beyond the type's
range, infinities included, become its largest finite value; without it they become NaN, or
infinities for float8e5m2. (Cast-19 to 23's table sends infinities to NaN for the FNUZ types with
``saturate``; Cast-24 changed that to the largest value, which onnxruntime and onnx's reference
evaluator give for every version, so that is what all versions do here.)
Targets torch cannot compute in (4-bit, 2-bit, 6-bit, float4, float8e8m0, strings) are rejected.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from onnx import TensorProto
from onnx2torch.node_converters.cast import TENSOR_TYPE_TO_TORCH_TYPE
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from .._dtypes import onnx_dtype_name, torch_dtype
from ._common import FLOAT8_DTYPES, converted, onnx2torch_convert, to_float8
from .registry import register

_TARGETS = frozenset(
    TensorProto.DataType.Value(name)
    for name in (
        "FLOAT", "DOUBLE", "FLOAT16", "BFLOAT16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16",
        "UINT32", "UINT64", "BOOL", "COMPLEX64", "COMPLEX128",
        "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ",
    )
)


class OnnxCastSaturate(nn.Module, OnnxToTorchModule):
    """ONNX Cast to ``dtype``; ``saturate`` only matters for float8 targets."""

    def __init__(self, dtype: torch.dtype, saturate: bool) -> None:
        super().__init__()
        self.dtype = dtype
        self.saturate = saturate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return to_float8(x, self.dtype, self.saturate) if self.dtype in FLOAT8_DTYPES else x.to(self.dtype)


def _cast_converter(version: int) -> Callable[[OnnxNode, OnnxGraph], OperationConverterResult]:
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        target = node.attributes["to"]
        if target not in _TARGETS:
            raise NotImplementedError(
                f"Cast-{version} to={onnx_dtype_name(target)} is not supported: torch cannot compute in that type"
            )
        if target in TENSOR_TYPE_TO_TORCH_TYPE:
            return onnx2torch_convert(node, graph, 13)
        module = OnnxCastSaturate(torch_dtype(target), saturate=node.attributes.get("saturate", 1) == 1)
        return converted(node, module)

    return convert


for _version in (13, 19, 21, 23, 24, 25, 28):
    register("Cast", _version)(_cast_converter(_version))
