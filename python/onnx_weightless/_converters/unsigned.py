"""Elementwise arithmetic, comparisons, Min/Max and Mod on uint16, uint32 and uint64.

torch implements none of these for its wider unsigned types on CPU ("add_stub" not implemented
for 'UInt16'). The subclasses of onnx2torch's modules below compute them in int64: exact for
uint16 and uint32, whose values all fit, the result cast back with its wrap-around. uint64 is
reinterpreted as int64: two's complement Add, Sub and Mul give the same bits, the other ops are
exact only for values below 2**63, and raise NotImplementedError at run time on larger ones.

Nodes whose inputs are known to have another type keep onnx2torch's converter.
"""

from __future__ import annotations

import torch
from onnx import TensorProto
from onnx2torch.node_converters.binary_math_operations import OnnxBinaryMathOperation
from onnx2torch.node_converters.comparisons import OnnxCompare
from onnx2torch.node_converters.min_max import OnnxMinMax
from onnx2torch.node_converters.mod import OnnxMod
from onnx2torch.onnx_node import OnnxNode
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, element_type, onnx2torch_convert
from .registry import register

_WIDE_UNSIGNED = (torch.uint16, torch.uint32, torch.uint64)
_WIDE_UNSIGNED_ONNX = (TensorProto.UINT16, TensorProto.UINT32, TensorProto.UINT64)


def _as_int64(tensor: torch.Tensor, any_uint64: bool) -> torch.Tensor:
    if tensor.dtype != torch.uint64:
        return tensor.to(torch.int64)
    signed = tensor.view(torch.int64)
    # A meta forward has no values to check.
    if not any_uint64 and not signed.is_meta and bool((signed < 0).any()):
        raise NotImplementedError("uint64 values of 2**63 or more: torch computes this op on int64, where they do not fit")
    return signed


class _Int64ForWideUnsigned:
    """Mixin for a module whose inputs share one element type: wide unsigned ones computed in int64."""

    #: Whether the op's int64 result has the right bits for any uint64 inputs.
    any_uint64 = False

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        dtype = inputs[0].dtype
        if dtype not in _WIDE_UNSIGNED:
            return super().forward(*inputs)
        result = super().forward(*(_as_int64(t, self.any_uint64) for t in inputs))
        if result.dtype == torch.bool:
            return result
        return result.view(dtype) if dtype == torch.uint64 else result.to(dtype)


class OnnxBinaryMathOperationUnsigned(_Int64ForWideUnsigned, OnnxBinaryMathOperation):
    def __init__(self, operation_type: str, broadcast: int | None = None, axis: int | None = None) -> None:
        super().__init__(operation_type, broadcast, axis)
        self.any_uint64 = operation_type in ("Add", "Sub", "Mul")


class OnnxCompareUnsigned(_Int64ForWideUnsigned, OnnxCompare):
    pass


class OnnxMinMaxUnsigned(_Int64ForWideUnsigned, OnnxMinMax):
    pass


class OnnxModUnsigned(_Int64ForWideUnsigned, OnnxMod):
    pass


def _may_be_wide_unsigned(node: OnnxNode, graph: OnnxGraph) -> bool:
    """From the first input of known type (all inputs of these ops share it); True if none is known."""
    for name in node.input_values:
        known = element_type(name, graph)
        if known is not None:
            return known in _WIDE_UNSIGNED_ONNX
    return True


def _module(node: OnnxNode) -> nn.Module:
    op_type, attributes = node.operation_type, node.attributes
    if op_type in ("Add", "Sub", "Mul", "Div"):
        return OnnxBinaryMathOperationUnsigned(op_type, attributes.get("broadcast"), attributes.get("axis"))
    if op_type in ("Min", "Max"):
        return OnnxMinMaxUnsigned(op_type)
    if op_type == "Mod":
        return OnnxModUnsigned(attributes.get("fmod", 0))
    return OnnxCompareUnsigned(op_type)


# op_type -> the versions onnx2torch converts (each op with one converter for all of them).
_VERSIONS = {
    **{op: (1, 6, 7, 13, 14) for op in ("Add", "Sub", "Mul", "Div")},
    **{op: (8, 12, 13) for op in ("Min", "Max")},
    "Mod": (10, 13),
    "Equal": (7, 11, 13),
    **{op: (7, 9, 13) for op in ("Less", "Greater")},
    **{op: (12,) for op in ("LessOrEqual", "GreaterOrEqual")},
}


def _convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    if not _may_be_wide_unsigned(node, graph):
        return onnx2torch_convert(node, graph, _VERSIONS[node.operation_type][-1])
    return converted(node, _module(node))


for _op_type, _versions in _VERSIONS.items():
    register(_op_type, *_versions)(_convert)
