"""LayerNormalization-17 with its optional Mean and InvStdDev outputs.

onnx2torch's converter returns only Y, so a node that also produces Mean or InvStdDev (training
graphs, onnx's own tests) would hand Y's tensor to their consumers. Nodes producing Y alone keep
onnx2torch's converter, and with it its nn.LayerNorm modules and parameter names.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, given, normalize, onnx2torch_convert, stash_dtype
from .registry import register


class LayerNormWithStatistics(nn.Module):
    """Y, Mean and InvStdDev of ONNX LayerNormalization, statistics computed in ``stash_dtype``."""

    def __init__(self, axis: int, epsilon: float, stash_dtype: torch.dtype) -> None:
        super().__init__()
        self.axis = axis
        self.epsilon = epsilon
        self.stash_dtype = stash_dtype

    def forward(
        self, x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        normalized, mean, inv_std = normalize(x, self.axis, self.epsilon, rms=False, stash=self.stash_dtype)
        y = normalized * scale
        if bias is not None:
            y = y + bias
        return y, mean, inv_std


@register("LayerNormalization", 17)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    if not (given(node.output_values, 1) or given(node.output_values, 2)):
        return onnx2torch_convert(node, graph, 17)
    attributes = node.attributes
    module = LayerNormWithStatistics(attributes.get("axis", -1), attributes.get("epsilon", 1e-5), stash_dtype(node))
    return converted(node, module)
