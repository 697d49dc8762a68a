"""Conv and ConvTranspose whose weights are computed (QDQ models dequantize them; the TorchScript
exporter routes deduplicated ones through Identity), and ConvTranspose padding onnx2torch refuses.

onnx2torch builds nn.Conv*/nn.ConvTranspose* layers and so requires weight and bias to be
initializers, symmetric ConvTranspose pads and no ``output_shape``. Nodes it handles keep its
converter (and with it its layers and parameter names); the others become a module taking the
weight and bias as inputs and following the ONNX padding rules exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from onnx2torch.onnx_node import OnnxNode
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, known_rank, onnx2torch_convert, pads_per_axis, split_total_pad
from .registry import register

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


class OnnxConvFunctional(nn.Module):
    """ONNX Conv with weight and bias as inputs."""

    def __init__(self, strides, dilations, group: int, pads, auto_pad: str) -> None:
        super().__init__()
        self.strides, self.dilations, self.group = list(strides), list(dilations), group
        self.pads, self.auto_pad = list(pads), auto_pad

    def forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        rank = x.dim() - 2
        pads = pads_per_axis(self.auto_pad, self.pads, x.shape[2:], weight.shape[2:], self.strides, self.dilations)
        if all(begin == end for begin, end in pads):
            padding = [begin for begin, _ in pads]
        else:
            # F.pad takes the last dimension first.
            x = F.pad(x, [p for pair in reversed(pads) for p in pair])
            padding = [0] * rank
        return _CONV[rank](x, weight, bias, self.strides, padding, self.dilations, self.group)


class OnnxConvTransposeFunctional(nn.Module):
    """ONNX ConvTranspose with weight and bias as inputs: the full transposed convolution, then
    the ONNX pads cropped (or, where negative, zero-filled) and output_padding added at the end."""

    def __init__(self, strides, dilations, group: int, pads, auto_pad: str, output_padding, output_shape) -> None:
        super().__init__()
        self.strides, self.dilations, self.group = list(strides), list(dilations), group
        self.pads, self.auto_pad = list(pads), auto_pad
        self.output_padding = list(output_padding)
        self.output_shape = list(output_shape) if output_shape else None

    def _pads(self, spatial: list[int], kernel: list[int]) -> list[tuple[int, int]]:
        rank = len(spatial)
        targets = self.output_shape[-rank:] if self.output_shape else None
        if targets is None and self.auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            targets = [size * stride for size, stride in zip(spatial, self.strides)]
        if targets is None:
            return list(zip(self.pads[:rank], self.pads[rank:])) if self.pads else [(0, 0)] * rank
        pads = []
        for size, k, stride, dilation, extra, target in zip(
            spatial, kernel, self.strides, self.dilations, self.output_padding, targets
        ):
            total = stride * (size - 1) + extra + (k - 1) * dilation + 1 - target
            pads.append(split_total_pad(total, self.auto_pad == "SAME_UPPER"))
        return pads

    def forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        rank = x.dim() - 2
        full = _CONV_TRANSPOSE[rank](x, weight, None, self.strides, 0, 0, self.group, self.dilations)
        pads = self._pads(list(x.shape[2:]), list(weight.shape[2:]))
        # Negative F.pad amounts crop; the end gains output_padding rows no input reaches.
        amounts = [(-begin, extra - end) for (begin, end), extra in zip(pads, self.output_padding)]
        out = F.pad(full, [a for pair in reversed(amounts) for a in pair])
        if bias is not None:
            out = out + bias.reshape([1, -1] + [1] * rank)
        return out


def _spatial_rank(node: OnnxNode, graph: OnnxGraph) -> int:
    """From kernel_shape, else the weight's rank (initializer or inferred shape), else pads."""
    attributes = node.attributes
    if "kernel_shape" in attributes:
        return len(attributes["kernel_shape"])
    rank = known_rank(node.input_values[1], graph)
    if rank is not None:
        return rank - 2
    return len(attributes.get("pads", [])) // 2


def _onnx2torch_handles(node: OnnxNode, graph: OnnxGraph) -> bool:
    constant_inputs = all(name in graph.initializers for name in node.input_values[1:] if name)
    if node.operation_type == "Conv" or not constant_inputs:
        return constant_inputs
    attributes = node.attributes
    pads = attributes.get("pads", [])
    rank = len(pads) // 2
    symmetric = pads[:rank] == pads[rank:]
    return symmetric and "output_shape" not in attributes and attributes.get("auto_pad", "NOTSET") == "NOTSET"


@register("Conv", 1, 11)
@register("ConvTranspose", 1, 11)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    if _onnx2torch_handles(node, graph):
        return onnx2torch_convert(node, graph, 11)
    attributes = node.attributes
    rank = _spatial_rank(node, graph)
    if rank not in _CONV:
        raise NotImplementedError(
            f"{node.operation_type} node {node.name!r}: spatial rank {rank or 'unknown'} (give kernel_shape, or a "
            "weight of known shape); 1 to 3 spatial dimensions are supported"
        )
    common = (
        attributes.get("strides", [1] * rank),
        attributes.get("dilations", [1] * rank),
        attributes.get("group", 1),
        attributes.get("pads", [0] * 2 * rank),
        attributes.get("auto_pad", "NOTSET"),
    )
    if node.operation_type == "Conv":
        module = OnnxConvFunctional(*common)
    else:
        module = OnnxConvTransposeFunctional(
            *common, attributes.get("output_padding", [0] * rank), attributes.get("output_shape")
        )
    return converted(node, module)
