"""BatchNormalization-1, 6 and 7, for inference: onnx2torch converts 9 and later only; and 14/15
with ``training_mode=1``, which onnx2torch refuses.

With ``spatial=1`` (the default) they compute what BatchNormalization-9 does, which onnx2torch's
converter builds (nn.BatchNorm*d with the model's statistics). ``spatial=0`` normalizes each
activation with its own statistics (scale, bias, mean and variance shaped like one sample).
Their training outputs (the updated and saved statistics) are not supported.

``training_mode=1`` (14 and later) normalizes with the batch's own statistics (the biased variance)
and returns the running statistics updated with ``momentum``, as values: the module keeps no state.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule
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


class OnnxBatchNormTraining(nn.Module, OnnxToTorchModule):
    """BatchNormalization with ``training_mode=1``: Y, then (if asked) the updated running mean
    and variance, ``running * momentum + batch * (1 - momentum)``."""

    def __init__(self, epsilon: float, momentum: float, statistics_out: bool) -> None:
        super().__init__()
        self.epsilon = epsilon
        self.momentum = momentum
        self.statistics_out = statistics_out

    def forward(
        self, x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, mean: torch.Tensor, variance: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        axes = [0, *range(2, x.dim())]
        batch_mean = x.mean(dim=axes)
        batch_variance = x.var(dim=axes, unbiased=False)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        normalized = (x - batch_mean.reshape(shape)) / torch.sqrt(batch_variance.reshape(shape) + self.epsilon)
        y = normalized * scale.reshape(shape) + bias.reshape(shape)
        if not self.statistics_out:
            return y
        running_mean = mean * self.momentum + batch_mean * (1 - self.momentum)
        running_variance = variance * self.momentum + batch_variance * (1 - self.momentum)
        return y, running_mean.to(mean.dtype), running_variance.to(variance.dtype)


def _batch_norm(version: int):
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        attributes = node.attributes
        if not attributes.get("training_mode", 0):
            return onnx2torch_convert(node, graph, version)
        statistics_out = given(node.output_values, 1)
        module = OnnxBatchNormTraining(attributes.get("epsilon", 1e-5), attributes.get("momentum", 0.9), statistics_out)
        outputs = node.output_values[:3] if statistics_out else node.output_values[:1]
        return OperationConverterResult(module, OnnxMapping(inputs=tuple(node.input_values), outputs=tuple(outputs)))

    return convert


for _version in (14, 15):
    register("BatchNormalization", _version)(_batch_norm(_version))
