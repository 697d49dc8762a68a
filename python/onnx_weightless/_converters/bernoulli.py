"""Bernoulli-15/22: ones with the input's probabilities. Random, as ONNX says, and so not equal to
another runtime's draws even with a ``seed`` (which seeds a generator of the module's own)."""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from .._dtypes import torch_dtype
from ._common import converted
from .registry import register


class OnnxBernoulli(nn.Module, OnnxToTorchModule):
    def __init__(self, dtype: torch.dtype | None, seed: float | None) -> None:
        super().__init__()
        self.dtype = dtype
        self.seed = seed

    def forward(self, probabilities: torch.Tensor) -> torch.Tensor:
        dtype = self.dtype or probabilities.dtype
        if probabilities.device.type == "meta":
            return torch.empty(probabilities.shape, dtype=dtype, device="meta")
        generator = None
        if self.seed is not None:
            generator = torch.Generator(device=probabilities.device)
            generator.manual_seed(int(self.seed))
        drawn = torch.bernoulli(probabilities.to(torch.float64), generator=generator)
        return drawn.to(dtype)


@register("Bernoulli", 15, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    dtype = node.attributes.get("dtype")
    return converted(node, OnnxBernoulli(torch_dtype(dtype) if dtype is not None else None, node.attributes.get("seed")))
