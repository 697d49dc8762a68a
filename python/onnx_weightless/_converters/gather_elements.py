"""GatherElements with negative indices, which ONNX counts from the end of the axis.

onnx2torch's module hands the indices to torch.gather, which refuses negative ones.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.gather import OnnxGatherElements
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register


class OnnxGatherElementsWrapping(OnnxGatherElements):
    def forward(self, input_tensor: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        size = input_tensor.shape[self._axis]
        return super().forward(input_tensor, torch.where(indices < 0, indices + size, indices))


@register("GatherElements", 11, 13)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxGatherElementsWrapping(axis=node.attributes.get("axis", 0)))
