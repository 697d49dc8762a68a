"""onnxruntime's fused activations (com.microsoft): Gelu, FastGelu, BiasGelu, QuickGelu, BiasAdd
and BiasSplitGelu, as onnxruntime.transformers' fusions emit them.

Semantics (checked against onnxruntime's CPU kernels where it has one):
- Gelu(X) = X * Phi(X), the erf form; BiasGelu(A, B) = Gelu(A + B).
- FastGelu(X[, bias]): the tanh approximation of Gelu, of X + bias.
- QuickGelu(X) = X * sigmoid(alpha * X), alpha defaulting to 1.702.
- BiasAdd(X, bias, skip) = X + bias + skip (onnxruntime runs it on CUDA only).
- BiasSplitGelu(X, bias): halves a, b of X + bias along the last axis give a * Gelu(b) (CUDA only).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register

_DOMAIN = "com.microsoft"
_QUICK_GELU_ALPHA = 1.702


class BiasGeluActivation(nn.Module, OnnxToTorchModule):
    """Gelu of ``x`` plus an optional ``bias``; ``approximate`` is torch's ("none" or "tanh")."""

    def __init__(self, approximate: str) -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        if bias is not None:
            x = x + bias
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class QuickGelu(nn.Module, OnnxToTorchModule):
    def __init__(self, alpha: float) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.alpha * x)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class BiasAdd(nn.Module, OnnxToTorchModule):
    def forward(self, x: torch.Tensor, bias: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return x + bias + skip


class BiasSplitGelu(nn.Module, OnnxToTorchModule):
    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        left, right = (x + bias).chunk(2, dim=-1)
        return left * F.gelu(right)


@register("Gelu", 1, domain=_DOMAIN)
@register("BiasGelu", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, BiasGeluActivation("none"))


@register("FastGelu", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, BiasGeluActivation("tanh"))


@register("QuickGelu", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, QuickGelu(node.attributes.get("alpha", _QUICK_GELU_ALPHA)))


@register("BiasAdd", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, BiasAdd())


@register("BiasSplitGelu", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, BiasSplitGelu())
