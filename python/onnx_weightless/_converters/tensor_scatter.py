"""TensorScatter-24: writes ``update`` into a copy of ``past_cache`` along ``axis``, from each batch
element's write index (0 when not given), wrapping around in ``circular`` mode. A KV-cache update:
the result has the cache's shape whatever the update's length."""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register

_MODES = ("linear", "circular")


class OnnxTensorScatter(nn.Module, OnnxToTorchModule):
    def __init__(self, axis: int, circular: bool) -> None:
        super().__init__()
        self.axis = axis
        self.circular = circular

    def forward(self, past: torch.Tensor, update: torch.Tensor, write_indices: torch.Tensor | None = None) -> torch.Tensor:
        axis = self.axis % past.dim()
        if axis == 0:
            raise ValueError("TensorScatter's axis cannot be the batch axis 0")
        length = update.shape[axis]
        shape = [1] * past.dim()
        shape[axis] = length
        index = torch.arange(length, device=update.device).reshape(shape)
        if write_indices is not None:
            index = index + write_indices.to(torch.int64).reshape([-1] + [1] * (past.dim() - 1))
        if self.circular:
            index = index % past.shape[axis]
        return past.scatter(axis, index.expand(update.shape), update)


@register("TensorScatter", 24)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    mode = node.attributes.get("mode", "linear")
    if mode not in _MODES:
        raise NotImplementedError(f"TensorScatter mode={mode!r} is not supported (linear or circular)")
    return converted(node, OnnxTensorScatter(node.attributes.get("axis", -2), mode == "circular"))
