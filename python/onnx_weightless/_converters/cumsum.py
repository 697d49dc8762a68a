"""CumSum with the spec's default ``reverse=0``, in the input's element type.

onnx2torch's converter defaults a missing ``reverse`` attribute to 1, so every CumSum that leaves
it out (position ids computed from an attention mask, for one) sums backwards; and its module
returns int64 for smaller integer inputs, as torch.cumsum promotes them. This override builds a
subclass of onnx2torch's module with the right default that casts the sum back.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.cumsum import OnnxCumSum
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register


class OnnxCumSumKeepingType(OnnxCumSum):
    def forward(self, input_tensor: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
        # Summing in int64 then casting back wraps around exactly as summing in the input type would.
        return super().forward(input_tensor, axis).to(input_tensor.dtype)


@register("CumSum", 11, 14, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    module = OnnxCumSumKeepingType(
        exclusive=bool(attributes.get("exclusive", 0)), reverse=bool(attributes.get("reverse", 0))
    )
    return converted(node, module)
