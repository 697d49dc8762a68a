"""Element-wise activations and functions onnx2torch lacks (Gelu, Mish, Swish, ThresholdedRelu,
Shrink, the hyperbolic functions), Hardmax, and Selu with any alpha and gamma."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register


class OnnxTorchFunction(nn.Module, OnnxToTorchModule):
    """Applies the element-wise ``torch.<function>``."""

    def __init__(self, function: str):
        super().__init__()
        self.function = function

    def extra_repr(self) -> str:
        return self.function

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(torch, self.function)(x)


_FUNCTIONS = {"Sinh": "sinh", "Cosh": "cosh", "Asinh": "asinh", "Acosh": "acosh", "Atanh": "atanh"}


@register("Sinh", 9, 22)
@register("Cosh", 9, 22)
@register("Asinh", 9, 22)
@register("Acosh", 9, 22)
@register("Atanh", 9, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxTorchFunction(_FUNCTIONS[node.operation_type]))


class OnnxGelu(nn.Module, OnnxToTorchModule):
    def __init__(self, approximate: str):
        super().__init__()
        self.approximate = approximate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x, approximate=self.approximate)


@register("Gelu", 20)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    approximate = node.attributes.get("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise NotImplementedError(f"Gelu: approximate={approximate!r} is not supported (ONNX defines 'none' and 'tanh')")
    return converted(node, OnnxGelu(approximate))


class OnnxMish(nn.Module, OnnxToTorchModule):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.mish(x)


@register("Mish", 18, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxMish())


class OnnxSwish(nn.Module, OnnxToTorchModule):
    """x * sigmoid(alpha * x)."""

    def __init__(self, alpha: float):
        super().__init__()
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.alpha * x)


@register("Swish", 24)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxSwish(node.attributes.get("alpha", 1.0)))


class OnnxThresholdedRelu(nn.Module, OnnxToTorchModule):
    """x where x > alpha, else 0."""

    def __init__(self, alpha: float):
        super().__init__()
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x > self.alpha, x, torch.zeros_like(x))


@register("ThresholdedRelu", 10, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxThresholdedRelu(node.attributes.get("alpha", 1.0)))


class OnnxShrink(nn.Module, OnnxToTorchModule):
    """x + bias below -lambd, x - bias above lambd, 0 between; bias is cast to x's type."""

    def __init__(self, lambd: float, bias: float):
        super().__init__()
        self.lambd = lambd
        self.bias = bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias if x.dtype.is_floating_point else int(self.bias)
        zero = torch.zeros_like(x)
        return torch.where(x < -self.lambd, x + bias, torch.where(x > self.lambd, x - bias, zero))


@register("Shrink", 9)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxShrink(node.attributes.get("lambd", 0.5), node.attributes.get("bias", 0.0)))


class OnnxHardmax(nn.Module, OnnxToTorchModule):
    """1 at the first maximum along ``axis``, 0 elsewhere; ``flatten`` (versions 1 and 11) first
    coerces the input to 2-D, [prod(dims before axis), prod(dims from axis)]."""

    def __init__(self, axis: int, flatten: bool):
        super().__init__()
        self.axis = axis
        self.flatten = flatten

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axis = self.axis % x.dim() if x.dim() else 0
        if self.flatten:
            values, dim = x.reshape(math.prod(x.shape[:axis]), -1), 1
        else:
            values, dim = x, axis
        index = values.argmax(dim=dim, keepdim=True)
        hard = torch.zeros_like(values).scatter_(dim, index, 1)
        return hard.reshape(x.shape)


@register("Hardmax", 1, 11)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxHardmax(node.attributes.get("axis", 1), flatten=True))


@register("Hardmax", 13)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxHardmax(node.attributes.get("axis", -1), flatten=False))


class OnnxSelu(nn.Module, OnnxToTorchModule):
    """Selu with any alpha and gamma (onnx2torch's module accepts only torch's constants)."""

    def __init__(self, alpha: float, gamma: float) -> None:
        super().__init__()
        self.alpha = alpha
        self.gamma = gamma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * torch.where(x > 0, x, self.alpha * torch.expm1(x))


@register("Selu", 1, 6, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    return converted(node, OnnxSelu(attributes.get("alpha", 1.67326319217681884765625),
                                    attributes.get("gamma", 1.05070102214813232421875)))
