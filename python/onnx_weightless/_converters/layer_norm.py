"""LayerNormalization-17 with its optional Mean and InvStdDev outputs.

onnx2torch's converter returns only Y, so a node that also produces Mean or InvStdDev (training
graphs, onnx's own tests) would hand Y's tensor to their consumers. Nodes producing Y alone keep
onnx2torch's converter, and with it its nn.LayerNorm modules and parameter names.
"""

from __future__ import annotations

import torch
from onnx import TensorProto
from torch import nn

from .._adapter import OnnxMapping, OperationConverterResult, onnx2torch_converter
from .._dtypes import torch_dtype
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
        axis = self.axis % x.dim()
        dims = tuple(range(axis, x.dim()))
        stashed = x.to(self.stash_dtype)
        mean = stashed.mean(dim=dims, keepdim=True)
        variance = (stashed - mean).square().mean(dim=dims, keepdim=True)
        inv_std = torch.rsqrt(variance + self.epsilon)
        y = ((stashed - mean) * inv_std).to(x.dtype) * scale
        if bias is not None:
            y = y + bias
        return y, mean, inv_std


@register("LayerNormalization", 17)
def _(node, graph):
    produced = [name for name in node.output_values[1:] if name]
    if not produced:
        return onnx2torch_converter("", "LayerNormalization", 17)(node, graph)
    attributes = node.attributes
    stash_type = attributes.get("stash_type", TensorProto.FLOAT)
    module = LayerNormWithStatistics(
        attributes.get("axis", -1), attributes.get("epsilon", 1e-5), torch_dtype(stash_type)
    )
    return OperationConverterResult(
        torch_module=module, onnx_mapping=OnnxMapping(inputs=node.input_values, outputs=node.output_values)
    )
