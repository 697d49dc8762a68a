"""Pow whose result has the base's element type.

From Pow-12 the exponent may have another type than the base, and the result keeps the base's
(Pow(int32, float32) is int32); onnx2torch's module returns torch.pow's promoted type.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.pow import OnnxPow
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register


class OnnxPowKeepingType(OnnxPow):
    def forward(self, input_tensor: torch.Tensor, exponent: torch.Tensor) -> torch.Tensor:
        if not input_tensor.is_floating_point() and exponent.is_floating_point():
            # An integer base to a fractional power: computed in double, then truncated.
            result = super().forward(input_tensor.double(), exponent.double())
        else:
            result = super().forward(input_tensor, exponent)
        return result.to(input_tensor.dtype)


@register("Pow", 12, 13, 15)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    # Pow-12 dropped the broadcast and axis attributes of older versions.
    return converted(node, OnnxPowKeepingType())
