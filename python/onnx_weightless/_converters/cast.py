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
from onnx2torch.node_converters.registry import get_converter
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node
from torch import nn

from .._dtypes import onnx_dtype_name, torch_dtype
from .registry import register

_TARGETS = frozenset(
    TensorProto.DataType.Value(name)
    for name in (
        "FLOAT", "DOUBLE", "FLOAT16", "BFLOAT16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16",
        "UINT32", "UINT64", "BOOL", "COMPLEX64", "COMPLEX128",
        "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ",
    )
)
_FLOAT8 = (torch.float8_e4m3fn, torch.float8_e4m3fnuz, torch.float8_e5m2, torch.float8_e5m2fnuz)
# Beyond this, float8e4m3fn rounds past its largest value 448 (halfway to 480, the tie going to 448).
_E4M3FN_OVERFLOW = 464.0


class OnnxCastSaturate(nn.Module, OnnxToTorchModule):
    """ONNX Cast to ``dtype``; ``saturate`` only matters for float8 targets."""

    def __init__(self, dtype: torch.dtype, saturate: bool) -> None:
        super().__init__()
        self.dtype = dtype
        self.saturate = saturate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dtype not in _FLOAT8:
            return x.to(self.dtype)
        if not x.is_floating_point() or x.dtype in _FLOAT8:
            # float32 holds every float8 value, and integers beyond its exact range are out of range anyway.
            x = x.to(torch.float32)
        largest = torch.finfo(self.dtype).max
        if self.saturate:
            return x.clamp(-largest, largest).to(self.dtype)
        if self.dtype == torch.float8_e4m3fn:
            # torch saturates here; the spec wants NaN.
            return torch.where(x.abs() > _E4M3FN_OVERFLOW, torch.nan, x).to(self.dtype)
        return x.to(self.dtype)  # torch gives inf (e5m2) or NaN (FNUZ), as the spec does


def _cast_converter(version: int) -> Callable[[OnnxNode, OnnxGraph], OperationConverterResult]:
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        target = node.attributes["to"]
        if target not in _TARGETS:
            raise NotImplementedError(
                f"Cast-{version} to={onnx_dtype_name(target)} is not supported: torch cannot compute in that type"
            )
        if target in TENSOR_TYPE_TO_TORCH_TYPE:
            return get_converter(operation_type="Cast", version=13, domain="")(node, graph)
        module = OnnxCastSaturate(torch_dtype(target), saturate=node.attributes.get("saturate", 1) == 1)
        return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))

    return convert


for _version in (13, 19, 21, 23, 24, 25, 28):
    register("Cast", _version)(_cast_converter(_version))
