"""Slice indexing with a tuple of slices, and Slice-1 (starts, ends and axes as attributes).

onnx2torch's module indexes with a list of slices (``x[[slice(...), ...]]``), which torch warns
it will one day read as advanced indexing. The subclass builds the same slices with onnx2torch's
helper and indexes with tuples. A module being exported to ONNX keeps onnx2torch's forward, which
emits a Slice node.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.slice import OnnxSlice, _get_slices
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register


class OnnxSliceTupleIndex(OnnxSlice):
    def forward(
        self,
        input_tensor: torch.Tensor,
        starts: torch.Tensor,
        ends: torch.Tensor,
        axes: torch.Tensor | None = None,
        steps: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            return super().forward(input_tensor, starts, ends, axes, steps)
        flip_dims, pos_axes_slices, neg_axes_slices = _get_slices(starts, ends, axes, steps)
        x = torch.flip(input_tensor, dims=flip_dims) if flip_dims else input_tensor
        if pos_axes_slices:
            x = x[tuple(pos_axes_slices)]
        if neg_axes_slices:
            x = x[tuple(neg_axes_slices)]
        return x


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
        axes = torch.tensor(self.axes) if self.axes is not None else None
        return super().forward(input_tensor, torch.tensor(self.starts), torch.tensor(self.ends), axes)


@register("Slice", 1)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    axes = attributes.get("axes")
    return converted(node, OnnxSliceAttributes(list(attributes["starts"]), list(attributes["ends"]), list(axes) if axes else None))
