"""Slice indexing with a tuple of slices, and Slice-1 (starts, ends and axes as attributes).

onnx2torch's module indexes with a list of slices (``x[[slice(...), ...]]``), which torch warns
it will one day read as advanced indexing, and reads starts, ends, axes and steps from tensors.
The subclass indexes with a tuple of slices built from Python numbers (``TakesPythonValues``: an
integer-shape conversion passes them as such, and Slice-1's attributes are). A module being
exported to ONNX keeps onnx2torch's forward, which emits a Slice node.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.slice import OnnxSlice
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import TakesPythonValues, converted, values_list
from .registry import register


def _sliced(x: torch.Tensor, starts: list, ends: list, axes: list | None, steps: list | None) -> torch.Tensor:
    """ONNX Slice: aten.slice clamps as ONNX does; a negative step flips the axis and slices it
    forward from the mirrored positions. One op per sliced axis (indexing with a tuple adds one per
    full slice when sizes are symbolic)."""
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    cuts = []
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = axis + x.dim() if axis < 0 else axis
        if step < 0:
            start, end, step = -start - 1, -end - 1, -step
            x = torch.flip(x, dims=(axis,))
        cuts.append((axis, start, end, step))
    for axis, start, end, step in cuts:
        x = torch.ops.aten.slice.Tensor(x, axis, start, end, step)
    return x


class OnnxSliceTupleIndex(OnnxSlice, TakesPythonValues):
    def forward(
        self,
        input_tensor: torch.Tensor,
        starts: torch.Tensor | list[int],
        ends: torch.Tensor | list[int],
        axes: torch.Tensor | list[int] | None = None,
        steps: torch.Tensor | list[int] | None = None,
    ) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            return super().forward(input_tensor, starts, ends, axes, steps)
        return _sliced(input_tensor, values_list(starts), values_list(ends),
                       values_list(axes) if axes is not None else None, values_list(steps) if steps is not None else None)


@register("Slice", 10, 11, 13, value_inputs=(1, 2, 3, 4))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxSliceTupleIndex())


class OnnxSliceAttributes(OnnxSliceTupleIndex):
    """Slice-1: starts, ends and axes are attributes."""

    def __init__(self, starts: list[int], ends: list[int], axes: list[int] | None) -> None:
        super().__init__()
        self.starts = starts
        self.ends = ends
        self.axes = axes

    def forward(self, input_tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return _sliced(input_tensor, list(self.starts), list(self.ends), list(self.axes) if self.axes is not None else None, None)


@register("Slice", 1)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    axes = attributes.get("axes")
    return converted(node, OnnxSliceAttributes(list(attributes["starts"]), list(attributes["ends"]), list(axes) if axes else None))
