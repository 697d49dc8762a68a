"""NonZero with ONNX's output layout, ``[rank, count]``.

onnx2torch's module returns torch.nonzero's ``[count, rank]``. The input is declared a value input:
the output's shape depends on its values, so it must be real in a meta forward (a constant feeding
NonZero stays real in a weightless conversion).
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.nonzero import OnnxNonZero
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from .._errors import ValueNeededError
from ._common import converted
from .registry import register


class OnnxNonZeroTransposed(OnnxNonZero):
    def forward(self, input_tensor: torch.Tensor) -> torch.Tensor:
        if input_tensor.device.type == "meta":
            raise ValueNeededError("NonZero's output size depends on its input's values: pass that input as a real tensor")
        return super().forward(input_tensor).transpose(0, 1)


@register("NonZero", 9, 13, value_inputs=(0,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxNonZeroTransposed())
