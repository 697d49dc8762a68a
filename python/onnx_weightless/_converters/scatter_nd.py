"""ScatterND, with the reductions of 16 (add, mul) and 18 (max, min).

This deliberately overrides onnx2torch's ScatterND-11/13/16: it reads the indices with .tolist(),
so a meta forward (indices on the meta device) cannot pass it, and it rejects every reduction.
Here the updates go in with index_copy/index_add/index_reduce along the flattened indexed
dimensions, which works on meta tensors too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register

_INDEX_REDUCE = {"mul": "prod", "max": "amax", "min": "amin"}


class OnnxScatterNDReduce(nn.Module, OnnxToTorchModule):
    """ONNX ScatterND with ``reduction`` none, add, mul, max or min."""

    def __init__(self, reduction: str) -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, data: torch.Tensor, indices: torch.Tensor, updates: torch.Tensor) -> torch.Tensor:
        depth = indices.shape[-1]
        indexed = data.shape[:depth]
        slice_shape = data.shape[depth:]
        sizes = torch.tensor(indexed, dtype=torch.int64, device=indices.device)
        strides = torch.tensor(
            [math.prod(indexed[axis + 1 :]) for axis in range(depth)], dtype=torch.int64, device=indices.device
        )
        points = indices.reshape(-1, depth).to(torch.int64)
        points = torch.where(points < 0, points + sizes, points)  # negative indices count from the end
        rows = (points * strides).sum(-1)
        flat = data.reshape(math.prod(indexed), *slice_shape).clone()
        values = updates.reshape(-1, *slice_shape)
        if self.reduction == "none":
            flat.index_copy_(0, rows, values)
        elif self.reduction == "add":
            flat.index_add_(0, rows, values)
        else:
            flat.index_reduce_(0, rows, values, _INDEX_REDUCE[self.reduction], include_self=True)
        return flat.reshape(data.shape)


def _scatter_nd_converter(version: int, reductions: tuple[str, ...]) -> Callable[[OnnxNode, OnnxGraph], OperationConverterResult]:
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        del graph
        reduction = node.attributes.get("reduction", "none")
        if reduction not in reductions:
            raise NotImplementedError(
                f"ScatterND-{version} reduction={reduction!r} is not supported (one of {', '.join(reductions)})"
            )
        return converted(node, OnnxScatterNDReduce(reduction))

    return convert


for _version in (11, 13):
    register("ScatterND", _version)(_scatter_nd_converter(_version, ("none",)))
register("ScatterND", 16)(_scatter_nd_converter(16, ("none", "add", "mul")))
register("ScatterND", 18)(_scatter_nd_converter(18, ("none", "add", "mul", "max", "min")))
