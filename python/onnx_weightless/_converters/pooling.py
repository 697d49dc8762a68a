"""Pooling operators onnx2torch lacks: GlobalMaxPool, GlobalLpPool, LpPool, MaxUnpool; and Det."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, pads_per_axis, window_end
from .registry import register

_CONVOLUTIONS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


class OnnxGlobalMaxPool(nn.Module, OnnxToTorchModule):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.amax(x, dim=tuple(range(2, x.dim())), keepdim=True)


@register("GlobalMaxPool", 1, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxGlobalMaxPool())


class OnnxGlobalLpPool(nn.Module, OnnxToTorchModule):
    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = torch.sum(x.abs() ** self.p, dim=tuple(range(2, x.dim())), keepdim=True)
        return total ** (1 / self.p)


@register("GlobalLpPool", 1, 2, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxGlobalLpPool(node.attributes.get("p", 2)))


class OnnxLpPool(nn.Module, OnnxToTorchModule):
    """(sum over the window of |x|^p)^(1/p), padding counting as zeros: a convolution of |x|^p with a
    window of ones, after explicit padding (auto_pad and ceil_mode resolved to pads)."""

    def __init__(
        self, p: float, kernel: list[int], strides: list[int], dilations: list[int], pads: list[int],
        auto_pad: str, ceil_mode: bool,
    ) -> None:
        super().__init__()
        self.p = p
        self.kernel = kernel
        self.strides = strides
        self.dilations = dilations
        self.pads = pads
        self.auto_pad = auto_pad
        self.ceil_mode = ceil_mode

    def _padding(self, sizes: torch.Size) -> list[tuple[int, int]]:
        padding = pads_per_axis(self.auto_pad, self.pads, sizes, self.kernel, self.strides, self.dilations)
        if self.auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            return padding
        # Windows the ceiling adds past the end padding see zeros too.
        return [
            (begin, max(end, window_end(size, begin, end, (kernel - 1) * dilation + 1, stride, self.ceil_mode)))
            for size, (begin, end), kernel, stride, dilation in zip(sizes, padding, self.kernel, self.strides, self.dilations)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rank = len(self.kernel)
        padding = self._padding(x.shape[2:])
        flat = [amount for pair in reversed(padding) for amount in pair]  # F.pad: last dimension first
        powered = F.pad(x.abs() ** self.p, flat)
        ones = torch.ones((x.shape[1], 1, *self.kernel), dtype=x.dtype, device=x.device)
        total = _CONVOLUTIONS[rank](powered, ones, stride=self.strides, dilation=self.dilations, groups=x.shape[1])
        return total ** (1 / self.p)


def _lp_pool(node: OnnxNode, version: int) -> OnnxLpPool:
    attributes = node.attributes
    kernel = list(attributes["kernel_shape"])
    rank = len(kernel)
    if rank not in _CONVOLUTIONS:
        raise NotImplementedError(f"LpPool: kernel_shape={kernel} ({rank} spatial dimensions; 1 to 3 supported)")
    auto_pad = attributes.get("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise NotImplementedError(f"LpPool: auto_pad={auto_pad!r}")
    ceil_mode = bool(attributes.get("ceil_mode", 0)) if version >= 18 else False
    dilations = list(attributes.get("dilations", [1] * rank)) if version >= 18 else [1] * rank
    return OnnxLpPool(
        attributes.get("p", 2), kernel, list(attributes.get("strides", [1] * rank)), dilations,
        list(attributes.get("pads", [0] * 2 * rank)), auto_pad, ceil_mode,
    )


@register("LpPool", 1, 2, 11)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, _lp_pool(node, 11))


@register("LpPool", 18, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, _lp_pool(node, 18))


class OnnxMaxUnpool(nn.Module, OnnxToTorchModule):
    """Writes X at the flat positions I (over the whole output, batch and channels included)."""

    def __init__(self, kernel: list[int], strides: list[int], pads: list[int]) -> None:
        super().__init__()
        self.kernel = kernel
        self.strides = strides
        self.pads = pads

    def forward(self, x: torch.Tensor, indices: torch.Tensor, output_shape: torch.Tensor | None = None) -> torch.Tensor:
        rank = len(self.kernel)
        shape = list(x.shape[:2]) + [
            (size - 1) * self.strides[i] - self.pads[i] - self.pads[i + rank] + self.kernel[i]
            for i, size in enumerate(x.shape[2:])
        ]
        if output_shape is not None:
            requested = [int(v) for v in output_shape.reshape(-1).tolist()]
            if requested != shape:
                # onnxruntime reads I as positions in output_shape, onnx's reference in the default shape.
                raise NotImplementedError(
                    f"MaxUnpool: output_shape={requested} differs from the default {shape}, where runtimes disagree"
                )
        device = x.device if x.device.type == "meta" else indices.device
        out = torch.zeros(math.prod(shape), dtype=x.dtype, device=device)
        out = out.scatter(0, indices.reshape(-1).to(device), x.reshape(-1).to(device))
        return out.reshape(shape)


@register("MaxUnpool", 9, 11, 22, value_inputs=(2,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    kernel = list(attributes["kernel_shape"])
    rank = len(kernel)
    module = OnnxMaxUnpool(kernel, list(attributes.get("strides", [1] * rank)), list(attributes.get("pads", [0] * 2 * rank)))
    return converted(node, module)


class OnnxDet(nn.Module, OnnxToTorchModule):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.linalg.det(x)


@register("Det", 11, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxDet())
