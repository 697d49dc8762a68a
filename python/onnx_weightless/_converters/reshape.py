"""Reshape-14 and later, with ``allowzero``.

This deliberately overrides onnx2torch's Reshape-14, which rejects ``allowzero=1``: torch.onnx's
dynamo exporter sets it on every Reshape. With ``allowzero=1`` a 0 in the shape is an empty
dimension rather than a copy of the input's dimension (shapes without a 0 reshape the same either
way). Nodes without it keep onnx2torch's converter, so their modules are what onnx2torch makes.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, onnx2torch_convert
from .registry import register


class OnnxReshapeAllowZero(nn.Module, OnnxToTorchModule):
    """ONNX Reshape with allowzero=1, where the shape (read as values) is taken literally."""

    def forward(self, data: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
        return torch.reshape(data, [int(d) for d in shape.tolist()])


@register("Reshape", 14, 19, 21, 23, 24, 25, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    if node.attributes.get("allowzero", 0) == 0:
        return onnx2torch_convert(node, graph, 14)
    return converted(node, OnnxReshapeAllowZero())
