"""Flatten for inputs of any rank.

onnx2torch's module flattens to ``start_dim=1`` after folding the leading axes, which fails on
a 1-D input (``Flatten(axis=1)`` of ``[8]`` is ``[8, 1]``) and on ``axis`` equal to the rank.
"""

from __future__ import annotations

import math

import torch
from onnx2torch.onnx_node import OnnxNode
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register


class OnnxFlatten2D(nn.Module):
    """Reshapes to (product of the axes before ``axis``, product of the rest)."""

    def __init__(self, axis: int) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axis = self.axis + x.dim() if self.axis < 0 else self.axis
        return x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))


@register("Flatten", 1, 9, 11, 13)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxFlatten2D(node.attributes.get("axis", 1)))
