"""MaxPool with pads torch refuses, auto_pad SAME, and the Indices output.

onnx2torch builds nn.MaxPool*d, which refuses pads above half the (dilated) kernel, and refuses
auto_pad SAME_UPPER/SAME_LOWER. Its module returns Y alone, which a node that also produces Indices
splits along the batch axis: Y[0] becomes Y and Y[1] Indices (an IndexError for a batch of one, as
in onnx's test_maxpool_with_argmax_2d_precomputed_pads). And it applies asymmetric pads as a
separate -inf padding, so ceil_mode keeps windows that start in the end padding, which ONNX drops.
Those nodes get the module below: the input padded with the lowest value explicitly (for SAME, the
pads that fit ceil(size / stride) windows), then pooled without padding. Other nodes keep
onnx2torch's converter.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from onnx2torch.onnx_node import OnnxNode
from torch import nn

from .._adapter import OnnxGraph, OnnxMapping, OperationConverterResult
from ._common import given, onnx2torch_convert, pads_per_axis, window_end
from .registry import register

_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


class OnnxMaxPoolPadded(nn.Module):
    """ONNX MaxPool with explicit (begin..., end...) pads; returns (Y, Indices) if ``with_indices``."""

    def __init__(
        self, kernel, strides, dilations, pads, ceil_mode: bool, with_indices: bool, column_major: bool,
        auto_pad: str = "NOTSET",
    ) -> None:
        super().__init__()
        self.kernel, self.strides, self.dilations = list(kernel), list(strides), list(dilations)
        self.pads, self.ceil_mode = list(pads), ceil_mode
        self.with_indices, self.column_major = with_indices, column_major
        self.auto_pad = auto_pad

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        spatial = list(x.shape[2:])
        rank = len(spatial)
        if self.auto_pad in ("SAME_UPPER", "SAME_LOWER"):  # pads that fit ceil(size / stride) windows
            pairs = pads_per_axis(self.auto_pad, None, spatial, self.kernel, self.strides, self.dilations)
            begins, ends = [begin for begin, _ in pairs], [end for _, end in pairs]
        else:
            begins = self.pads[:rank]
            ends = [
                window_end(size, begin, end, (kernel - 1) * dilation + 1, stride, self.ceil_mode)
                for size, begin, end, kernel, dilation, stride in zip(
                    spatial, begins, self.pads[rank:], self.kernel, self.dilations, self.strides
                )
            ]
        lowest = float("-inf") if x.is_floating_point() else torch.iinfo(x.dtype).min
        # F.pad takes the last dimension first.
        padded = F.pad(x, [p for pair in reversed(list(zip(begins, ends))) for p in pair], value=lowest)
        pool = _MAX_POOL[rank]
        if not self.with_indices:
            return pool(padded, self.kernel, self.strides, 0, self.dilations)
        y, flat = pool(padded, self.kernel, self.strides, 0, self.dilations, return_indices=True)
        return y, self._onnx_indices(flat, x.shape, list(padded.shape[2:]), begins)

    def _onnx_indices(self, flat: torch.Tensor, shape: torch.Size, padded: list[int], begins: list[int]) -> torch.Tensor:
        """torch's indices into each padded plane, as ONNX's into the whole unpadded input."""
        coordinates = []
        for size in reversed(padded):
            coordinates.append(flat % size)
            flat = flat // size
        coordinates = [c - begin for c, begin in zip(reversed(coordinates), begins)]
        spatial = list(shape[2:])
        if self.column_major:
            coordinates, spatial = coordinates[::-1], spatial[::-1]
        index = torch.zeros_like(coordinates[0])
        for coordinate, size in zip(coordinates, spatial):
            index = index * size + coordinate
        planes = torch.arange(shape[0] * shape[1], device=index.device).reshape(shape[0], shape[1], *[1] * len(spatial))
        return index + planes * math.prod(spatial)


def _needs_padding_module(node: OnnxNode) -> bool:
    attributes = node.attributes
    kernel = attributes["kernel_shape"]
    rank = len(kernel)
    pads = attributes.get("pads", [0] * 2 * rank)
    dilations = attributes.get("dilations", [1] * rank)
    if pads[:rank] != pads[rank:]:
        return bool(attributes.get("ceil_mode", 0))
    # torch's limit on (symmetric) padding.
    return any(pad > ((k - 1) * d + 1) // 2 for pad, k, d in zip(pads, kernel, dilations))


@register("MaxPool", 1, 8, 10, 11, 12)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    with_indices = given(node.output_values, 1)
    auto_pad = attributes.get("auto_pad", "NOTSET")
    if auto_pad in ("NOTSET", "VALID") and not (with_indices or _needs_padding_module(node)):
        return onnx2torch_convert(node, graph, 12)
    kernel = attributes["kernel_shape"]
    rank = len(kernel)
    module = OnnxMaxPoolPadded(
        kernel,
        attributes.get("strides", [1] * rank),
        attributes.get("dilations", [1] * rank),
        attributes.get("pads", [0] * 2 * rank) if auto_pad == "NOTSET" else [0] * 2 * rank,
        bool(attributes.get("ceil_mode", 0)),
        with_indices,
        column_major=attributes.get("storage_order", 0) == 1,
        auto_pad=auto_pad,
    )
    outputs = node.output_values if with_indices else node.output_values[:1]
    return OperationConverterResult(
        torch_module=module, onnx_mapping=OnnxMapping(inputs=node.input_values, outputs=outputs)
    )
