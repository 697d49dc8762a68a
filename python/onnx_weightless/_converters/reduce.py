"""Reduce*-18, where axes became an optional input, with ``noop_with_empty_axes``;
ReduceMax/ReduceMin-20 add bool inputs, ReduceLogSum/LogSumExp-28 drop integer ones.
(ReduceSum made the same change at 13, which onnx2torch converts.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register

Dims = list[int]


def _prod(x: torch.Tensor, dims: Dims) -> torch.Tensor:
    for dim in dims:  # torch.prod reduces one dimension at a time
        x = x.prod(dim, keepdim=True)
    return x


@dataclass(frozen=True)
class _Reduction:
    """``after(reduce(before(x), dims))``; with empty axes and noop_with_empty_axes, ``after(before(x))``."""

    reduce: Callable[[torch.Tensor, Dims], torch.Tensor]
    before: Callable[[torch.Tensor], torch.Tensor] | None = None
    after: Callable[[torch.Tensor], torch.Tensor] | None = None
    #: Integer inputs are computed in float64 (then cast back, truncating as the reference does).
    needs_float: bool = False


def _sum(x: torch.Tensor, dims: Dims) -> torch.Tensor:
    return x.sum(dims, keepdim=True)


def _extremum(largest: bool) -> Callable[[torch.Tensor, Dims], torch.Tensor]:
    """amax/amin, which reject empty reductions; over no elements ONNX gives the lowest
    (ReduceMax) or highest (ReduceMin) value of the type."""

    def reduce(x: torch.Tensor, dims: Dims) -> torch.Tensor:
        if all(x.shape[dim] for dim in dims):
            return x.amax(dims, keepdim=True) if largest else x.amin(dims, keepdim=True)
        shape = [1 if dim in dims else size for dim, size in enumerate(x.shape)]
        fill: float | bool
        if x.dtype == torch.bool:
            fill = not largest
        elif x.is_floating_point():
            fill = -math.inf if largest else math.inf
        else:
            fill = torch.iinfo(x.dtype).min if largest else torch.iinfo(x.dtype).max
        return torch.full(shape, fill, dtype=x.dtype, device=x.device)

    return reduce


_REDUCTIONS: dict[str, _Reduction] = {
    "ReduceL1": _Reduction(_sum, before=torch.abs),
    "ReduceL2": _Reduction(_sum, before=torch.square, after=torch.sqrt, needs_float=True),
    "ReduceLogSum": _Reduction(_sum, after=torch.log, needs_float=True),
    "ReduceLogSumExp": _Reduction(lambda x, dims: torch.logsumexp(x, dims, keepdim=True), needs_float=True),
    "ReduceMax": _Reduction(_extremum(largest=True)),
    "ReduceMean": _Reduction(lambda x, dims: x.mean(dims, keepdim=True), needs_float=True),
    "ReduceMin": _Reduction(_extremum(largest=False)),
    "ReduceProd": _Reduction(_prod),
    "ReduceSumSquare": _Reduction(_sum, before=torch.square),
}


class OnnxReduceAxesInput(nn.Module, OnnxToTorchModule):
    """An ONNX reduction whose axes come as an optional input, read as values."""

    def __init__(self, op_type: str, keepdims: bool, noop_with_empty_axes: bool) -> None:
        super().__init__()
        self.op_type = op_type
        self.keepdims = keepdims
        self.noop_with_empty_axes = noop_with_empty_axes

    def forward(self, data: torch.Tensor, axes: torch.Tensor | None = None) -> torch.Tensor:
        reduction = _REDUCTIONS[self.op_type]
        dims = sorted({axis % max(data.dim(), 1) for axis in axes.tolist()}) if axes is not None else []
        x = data
        if reduction.needs_float and not (x.is_floating_point() or x.is_complex()):
            x = x.to(torch.float64)
        if reduction.before is not None:
            x = reduction.before(x)
        if dims or not self.noop_with_empty_axes:
            dims = dims or list(range(data.dim()))
            x = reduction.reduce(x, dims)
            if not self.keepdims:
                x = x.squeeze(dims)
        if reduction.after is not None:
            x = reduction.after(x)
        return x.to(data.dtype)


def _convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    module = OnnxReduceAxesInput(
        node.operation_type,
        keepdims=node.attributes.get("keepdims", 1) == 1,
        noop_with_empty_axes=node.attributes.get("noop_with_empty_axes", 0) == 1,
    )
    return converted(node, module)


for _op_type in ("ReduceL1", "ReduceL2", "ReduceMean", "ReduceProd", "ReduceSumSquare"):
    register(_op_type, 18, value_inputs=(1,))(_convert)
for _op_type in ("ReduceMax", "ReduceMin"):
    register(_op_type, 18, 20, value_inputs=(1,))(_convert)
for _op_type in ("ReduceLogSum", "ReduceLogSumExp"):
    register(_op_type, 18, 28, value_inputs=(1,))(_convert)
