"""Unique-11: its output sizes depend on its input's values, so that input is declared a value input,
as NonZero's is: it must be real in a meta forward (a ValueNeededError says so otherwise), and a
constant feeding it stays real in a weightless conversion."""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from .._errors import ValueNeededError
from .registry import register


class OnnxUnique(nn.Module, OnnxToTorchModule):
    """Y, indices of first occurrences, inverse indices, counts; sorted ascending, or in order of
    first occurrence when not ``sorted``. With ``axis``, unique slices along it."""

    def __init__(self, axis: int | None, sorted_: bool, outputs: int) -> None:
        super().__init__()
        self.axis = axis
        self.sorted = sorted_
        self.outputs = outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if x.device.type == "meta":
            raise ValueNeededError("Unique's output size depends on its input's values: pass that input as a real tensor")
        axis = None if self.axis is None else self.axis % x.dim()
        values, inverse, counts = torch.unique(x, sorted=True, return_inverse=True, return_counts=True, dim=axis)
        positions = torch.arange(inverse.numel(), device=x.device)
        # The first position at which each unique value (slice) occurs.
        first = torch.full((counts.numel(),), inverse.numel(), dtype=torch.int64, device=x.device)
        first = first.scatter_reduce(0, inverse.reshape(-1), positions, reduce="amin")
        if not self.sorted:  # renumber in order of first occurrence
            order = torch.argsort(first)
            rank = torch.empty_like(order)
            rank[order] = torch.arange(order.numel(), device=x.device)
            values = values.index_select(0 if axis is None else axis, order)
            first, counts, inverse = first[order], counts[order], rank[inverse]
        results = (values, first, inverse.reshape(-1), counts)
        return results[0] if self.outputs == 1 else results[: self.outputs]


@register("Unique", 11, 28, value_inputs=(0,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    outputs = max(position + 1 for position, name in enumerate(node.output_values) if name)
    module = OnnxUnique(node.attributes.get("axis"), bool(node.attributes.get("sorted", 1)), outputs)
    return OperationConverterResult(module, OnnxMapping(inputs=tuple(node.input_values), outputs=tuple(node.output_values[:outputs])))
