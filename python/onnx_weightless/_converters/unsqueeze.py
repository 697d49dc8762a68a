"""Unsqueeze-13 (and the versions versions.py aliases to it), with its ``axes`` input given as a
scalar too, as onnxruntime accepts and onnx's own Loop test has it; onnx2torch's converter calls
``sorted`` on the scalar's value."""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule
from onnx2torch.utils.common import get_const_value
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register


def _unsqueezed(data: torch.Tensor, axes: list[int]) -> torch.Tensor:
    rank = data.dim() + len(axes)
    for axis in sorted(axis % rank for axis in axes):
        data = data.unsqueeze(axis)
    return data


class OnnxUnsqueezeAxes(nn.Module, OnnxToTorchModule):
    """Axes known at conversion time (a constant): no value read in forward."""

    def __init__(self, axes: list[int]) -> None:
        super().__init__()
        self.axes = axes

    def forward(self, data: torch.Tensor) -> torch.Tensor:
        return _unsqueezed(data, self.axes)


class OnnxUnsqueezeAxesInput(nn.Module, OnnxToTorchModule):
    def forward(self, data: torch.Tensor, axes: torch.Tensor) -> torch.Tensor:
        return _unsqueezed(data, axes.reshape(-1).tolist())


@register("Unsqueeze", 13, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    try:
        axes = get_const_value(node.input_values[1], graph)
    except KeyError:  # computed at run time
        return converted(node, OnnxUnsqueezeAxesInput())
    module = OnnxUnsqueezeAxes(torch.as_tensor(axes).reshape(-1).tolist())
    return OperationConverterResult(module, OnnxMapping(inputs=(node.input_values[0],), outputs=tuple(node.output_values)))
