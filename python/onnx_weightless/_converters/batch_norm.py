"""BatchNormalization-1, 6 and 7, for inference: onnx2torch converts 9 and later only.

With ``spatial=1`` (the default) they compute what BatchNormalization-9 does, which onnx2torch's
converter builds (nn.BatchNorm*d with the model's statistics). ``spatial=0`` normalizes each
activation with its own statistics (scale, bias, mean and variance shaped like one sample).
Their training outputs (the updated and saved statistics) are not supported.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, given, onnx2torch_convert
from .registry import register


class OnnxBatchNormPerActivation(nn.Module, OnnxToTorchModule):
    """BatchNormalization with ``spatial=0``: statistics per activation, not per channel."""

    def __init__(self, epsilon: float) -> None:
        super().__init__()
        self.epsilon = epsilon

    def forward(
        self, x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, mean: torch.Tensor, variance: torch.Tensor
    ) -> torch.Tensor:
        return (x - mean) / torch.sqrt(variance + self.epsilon) * scale + bias


@register("BatchNormalization", 1, 6, 7)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    if given(node.output_values, 1):
        raise NotImplementedError(
            f"BatchNormalization with training outputs ({len(node.output_values)} outputs) is not supported"
        )
    if node.attributes.get("spatial", 1):
        return onnx2torch_convert(node, graph, 9)
    return converted(node, OnnxBatchNormPerActivation(node.attributes.get("epsilon", 1e-5)))
