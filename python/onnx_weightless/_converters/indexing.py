"""Indexing operators onnx2torch lacks: Trilu, ScatterElements/Scatter, OneHot, Compress,
ReverseSequence, CumProd.

Inputs read as values (Trilu's k, OneHot's depth, CumProd's axis, Compress's condition, which fixes
the output's shape) are forward arguments read in forward, so they also work when computed at run
time; the planner keeps them real when they are constants.
"""

from __future__ import annotations

import math

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import TakesPythonValues, converted, values_list
from .registry import register


def _device(*tensors: torch.Tensor) -> torch.device:
    """Where to compute when real and meta tensors meet (a meta forward): on meta."""
    meta = [t.device for t in tensors if t.device.type == "meta"]
    return meta[0] if meta else tensors[0].device


def _wrap_negative(indices: torch.Tensor, size: int) -> torch.Tensor:
    """ONNX indices may count from the end; torch's may not."""
    indices = indices.to(torch.int64)
    return torch.where(indices < 0, indices + size, indices)


class OnnxTrilu(nn.Module, OnnxToTorchModule):
    """Upper or lower triangle of the last two dimensions, from diagonal k."""

    def __init__(self, upper: bool) -> None:
        super().__init__()
        self.upper = upper

    def forward(self, input: torch.Tensor, k: torch.Tensor | None = None) -> torch.Tensor:  # noqa: A002
        diagonal = 0 if k is None else int(k.reshape(()).item())
        return torch.triu(input, diagonal) if self.upper else torch.tril(input, diagonal)


@register("Trilu", 14, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxTrilu(bool(node.attributes.get("upper", 1))))


# ONNX reduction name -> torch.scatter_reduce's (None: plain assignment).
_SCATTER_REDUCTIONS = {"none": None, "add": "sum", "mul": "prod", "max": "amax", "min": "amin"}


class OnnxScatterElements(nn.Module, OnnxToTorchModule):
    def __init__(self, axis: int, reduction: str | None) -> None:
        super().__init__()
        self.axis = axis
        self.reduction = reduction

    def forward(self, data: torch.Tensor, indices: torch.Tensor, updates: torch.Tensor) -> torch.Tensor:
        device = _device(data, indices, updates)
        data, updates = data.to(device), updates.to(device)
        index = _wrap_negative(indices.to(device), data.shape[self.axis])
        if self.reduction is None:
            return torch.scatter(data, self.axis, index, updates)
        return torch.scatter_reduce(data, self.axis, index, updates, self.reduction, include_self=True)


def _scatter_elements(node: OnnxNode, reductions: tuple[str, ...]) -> OnnxScatterElements:
    reduction = node.attributes.get("reduction", "none")
    if reduction not in reductions:
        raise NotImplementedError(f"{node.operation_type}: reduction={reduction!r} is not defined at this version")
    return OnnxScatterElements(node.attributes.get("axis", 0), _SCATTER_REDUCTIONS[reduction])


@register("Scatter", 9, 11)
@register("ScatterElements", 11, 13)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, _scatter_elements(node, ("none",)))


@register("ScatterElements", 16)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, _scatter_elements(node, ("none", "add", "mul")))


@register("ScatterElements", 18)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, _scatter_elements(node, tuple(_SCATTER_REDUCTIONS)))


class OnnxGatherTake(nn.Module, OnnxToTorchModule):
    """ONNX Gather (numpy's take along an axis) by ``index_select``: unlike indexing with a 0-D
    index tensor, which reads the index as a number, the output's shape never depends on the index
    values (a Loop body gathering at its iteration exports with torch.export)."""

    def __init__(self, axis: int) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, data: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        axis = self.axis % data.dim()
        device = _device(data, indices)
        index = _wrap_negative(indices.to(device), data.shape[axis])
        taken = data.index_select(axis, index.reshape(-1))
        return taken.reshape((*data.shape[:axis], *indices.shape, *data.shape[axis + 1 :]))


@register("Gather", 1, 11, 13, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxGatherTake(node.attributes.get("axis", 0)))


class OnnxGatherNDFlat(nn.Module, OnnxToTorchModule):
    """ONNX GatherND, batch_dims included: each index tuple becomes one position in the data
    flattened over the leading batch and indexed axes, taken with ``index_select``. No size is
    read back from a tensor, so symbolic sizes stay symbolic (onnx2torch's counts its samples with
    ``numel()`` and supports no batch_dims)."""

    def __init__(self, batch_dims: int) -> None:
        super().__init__()
        self.batch_dims = batch_dims

    def forward(self, data: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        batch, depth = self.batch_dims, indices.shape[-1]
        device = _device(data, indices)
        indexed = data.shape[batch : batch + depth]
        index = indices.to(device, torch.int64)
        position = torch.zeros(index.shape[:-1], dtype=torch.int64, device=device)
        for axis, size in enumerate(indexed):  # row-major position within the indexed axes
            position = position * size + _wrap_negative(index[..., axis], size)
        span = 1
        for size in indexed:
            span = span * size
        # Each batch element's positions start where its part of the flattened data does.
        offsets = torch.arange(data.shape[:batch].numel(), device=device) * span
        position = position.reshape(offsets.shape[0], -1) + offsets[:, None]
        flat = data.reshape((-1, *data.shape[batch + depth :]))
        taken = flat.index_select(0, position.reshape(-1))
        return taken.reshape((*indices.shape[:-1], *data.shape[batch + depth :]))


@register("GatherND", 11, 12, 13)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxGatherNDFlat(node.attributes.get("batch_dims", 0)))


class OnnxOneHot(nn.Module, OnnxToTorchModule, TakesPythonValues):
    def __init__(self, axis: int, negative_indices: bool) -> None:
        super().__init__()
        self.axis = axis
        self.negative_indices = negative_indices

    def forward(self, indices: torch.Tensor, depth: torch.Tensor | float, values: torch.Tensor) -> torch.Tensor:
        (depth_value,) = values_list(depth)
        size = math.trunc(depth_value)  # a float depth is truncated, as onnxruntime does
        device = _device(indices, values)
        # Float indices are truncated too; out-of-range ones match no position.
        index = indices.to(device, torch.int64)
        if self.negative_indices:
            index = _wrap_negative(index, size)
        axis = self.axis if self.axis >= 0 else self.axis + indices.dim() + 1
        positions = torch.arange(size, device=device).reshape((size,) + (1,) * (indices.dim() - axis))
        hot = index.unsqueeze(axis) == positions
        values = values.to(device)
        return torch.where(hot, values[1], values[0])


@register("OneHot", 9, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    # Before version 11, negative indices are out of range.
    return converted(node, OnnxOneHot(node.attributes.get("axis", -1), negative_indices=False))


@register("OneHot", 11, 28, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxOneHot(node.attributes.get("axis", -1), negative_indices=True))


class OnnxCompress(nn.Module, OnnxToTorchModule):
    def __init__(self, axis: int | None) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, input: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:  # noqa: A002
        data = input.reshape(-1) if self.axis is None else input
        axis = 0 if self.axis is None else self.axis
        # A condition shorter than the axis selects nothing past its end.
        selected = torch.nonzero(condition[: data.shape[axis]]).reshape(-1)
        return torch.index_select(data, axis, selected.to(data.device))


@register("Compress", 9, 11, 28, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxCompress(node.attributes.get("axis")))


class OnnxReverseSequence(nn.Module, OnnxToTorchModule):
    def __init__(self, batch_axis: int, time_axis: int) -> None:
        super().__init__()
        self.batch_axis = batch_axis
        self.time_axis = time_axis

    def forward(self, input: torch.Tensor, sequence_lens: torch.Tensor) -> torch.Tensor:  # noqa: A002
        device = _device(input, sequence_lens)
        input = input.to(device)  # noqa: A001
        steps = input.shape[self.time_axis]
        shape = [1] * input.dim()
        shape[self.time_axis] = steps
        time = torch.arange(steps, device=device).reshape(shape)
        shape[self.time_axis] = 1
        shape[self.batch_axis] = -1
        lengths = sequence_lens.to(device, torch.int64).reshape(shape)
        # Step t of batch b reads step len[b]-1-t while t < len[b], else step t itself.
        source = torch.where(time < lengths, lengths - 1 - time, time)
        return torch.gather(input, self.time_axis, source.expand(input.shape))


@register("ReverseSequence", 10, 28)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    batch_axis = node.attributes.get("batch_axis", 1)
    time_axis = node.attributes.get("time_axis", 0)
    if {batch_axis, time_axis} != {0, 1}:
        raise NotImplementedError(
            f"ReverseSequence: batch_axis={batch_axis}, time_axis={time_axis} (one must be 0, the other 1)"
        )
    return converted(node, OnnxReverseSequence(batch_axis, time_axis))


class OnnxCumProd(nn.Module, OnnxToTorchModule):
    def __init__(self, exclusive: bool, reverse: bool) -> None:
        super().__init__()
        self.exclusive = exclusive
        self.reverse = reverse

    def forward(self, x: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
        dim = int(axis.reshape(()).item())
        if self.reverse:
            x = torch.flip(x, (dim,))
        if self.exclusive and x.shape[dim] > 0:
            # Shift by one step, a 1 entering first.
            first = torch.ones_like(torch.narrow(x, dim, 0, 1))
            x = torch.cat((first, torch.narrow(x, dim, 0, x.shape[dim] - 1)), dim)
        # torch promotes smaller integer types to int64 unless told otherwise.
        result = torch.cumprod(x, dim, dtype=x.dtype)
        return torch.flip(result, (dim,)) if self.reverse else result


@register("CumProd", 26, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    return converted(node, OnnxCumProd(bool(attributes.get("exclusive", 0)), bool(attributes.get("reverse", 0))))
