"""Reshape-14 and later, with ``allowzero``.

This deliberately overrides onnx2torch's Reshape-14, which rejects ``allowzero=1``: torch.onnx's
dynamo exporter sets it on every Reshape. With ``allowzero=1`` a 0 in the shape is an empty
dimension rather than a copy of the input's dimension (shapes without a 0 reshape the same either
way). Nodes without it keep onnx2torch's converter, so their modules are what onnx2torch makes.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.registry import get_converter
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node
from torch import nn

from .registry import register


class OnnxReshapeAllowZero(nn.Module, OnnxToTorchModule):
    """ONNX Reshape with allowzero=1, where the shape (read as values) is taken literally."""

    def forward(self, data: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
        return torch.reshape(data, [int(d) for d in shape.tolist()])


@register("Reshape", 14, 19, 21, 23, 24, 25, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    if node.attributes.get("allowzero", 0) == 0:
        return get_converter(operation_type="Reshape", version=14, domain="")(node, graph)
    return OperationConverterResult(torch_module=OnnxReshapeAllowZero(), onnx_mapping=onnx_mapping_from_node(node))
