"""Clip-11/12/13 whose bounds are computed at run time (graph inputs, node outputs); onnx2torch
converts only bounds that are constants, and those stay as it builds them."""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule, get_const_value
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, given, onnx2torch_convert
from .registry import register


class OnnxClipBounds(nn.Module, OnnxToTorchModule):
    """Clamps to the bounds given (either may be omitted). Where min exceeds max, every element is
    max, as ONNX specifies and torch.clamp does."""

    def forward(self, data: torch.Tensor, low: torch.Tensor | None = None, high: torch.Tensor | None = None) -> torch.Tensor:
        if low is not None:
            data = torch.maximum(data, low.to(data.dtype))
        if high is not None:
            data = torch.minimum(data, high.to(data.dtype))
        return data


def _clip(version: int):
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        bounds = [name for position, name in enumerate(node.input_values) if position > 0 and given(node.input_values, position)]
        if not bounds:  # the identity (onnx2torch refuses omitted bounds given as '')
            return converted(node, OnnxClipBounds())
        try:
            for name in bounds:
                get_const_value(name, graph)
        except KeyError:  # a bound computed at run time
            return converted(node, OnnxClipBounds())
        return onnx2torch_convert(node, graph, version)

    return convert


for _version in (11, 12, 13):
    register("Clip", _version)(_clip(_version))
