"""GlobalAveragePool-1 (and 22, which versions.py serves with this converter): the mean over every
axis after the first two, whatever the rank.

This overrides onnx2torch's converter, which reads the input's rank from its value_info and, when
shape inference leaves the input typed but without a shape (paddle2onnx's IR 3 files, whose
initializers are not graph inputs, leave every value after a Conv so), takes that for rank 0 and
averages over every axis, batch and channels included. The rank here is the tensor's own.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register


class OnnxGlobalAveragePool(nn.Module, OnnxToTorchModule):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3:
            # torch.mean over no axes would average them all; onnxruntime refuses such inputs too.
            raise ValueError(f"GlobalAveragePool: the input has rank {x.dim()}, below the 3 of N x C x D1...")
        return torch.mean(x, dim=tuple(range(2, x.dim())), keepdim=True)


@register("GlobalAveragePool", 1)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    return converted(node, OnnxGlobalAveragePool())
