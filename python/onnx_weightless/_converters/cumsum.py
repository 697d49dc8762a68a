"""CumSum with the spec's default ``reverse=0``, in the input's element type.

onnx2torch's converter defaults a missing ``reverse`` attribute to 1, so every CumSum that leaves
it out (position ids computed from an attention mask, for one) sums backwards; and its module
returns int64 for smaller integer inputs, as torch.cumsum promotes them. This override builds a
subclass of onnx2torch's module with the right default that casts the sum back (its axis may be
given as a Python number: ``TakesPythonValues``).
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.cumsum import OnnxCumSum
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import TakesPythonValues, converted, values_list
from .registry import register


class OnnxCumSumKeepingType(OnnxCumSum, TakesPythonValues):
    def forward(self, input_tensor: torch.Tensor, axis: torch.Tensor | int) -> torch.Tensor:
        (dim,) = values_list(axis)
        dim = dim % max(input_tensor.dim(), 1)
        x = input_tensor.flip(dim) if self.reverse else input_tensor
        if self.exclusive:  # each position sums the ones before it: shift by one, a zero first
            first, but_last = [slice(None)] * x.dim(), [slice(None)] * x.dim()
            first[dim], but_last[dim] = slice(0, 1), slice(0, -1)
            x = torch.cat([torch.zeros_like(x[tuple(first)]), x[tuple(but_last)]], dim)
        # Summing in int64 then casting back wraps around exactly as summing in the input type would.
        summed = torch.cumsum(x, dim).to(input_tensor.dtype)
        return summed.flip(dim) if self.reverse else summed


@register("CumSum", 11, 14, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    module = OnnxCumSumKeepingType(
        exclusive=bool(attributes.get("exclusive", 0)), reverse=bool(attributes.get("reverse", 0))
    )
    return converted(node, module)
