"""AveragePool, every version: ``dilations`` (19), plus the cases torch's AvgPool layers cannot
express (asymmetric pads or pads over half the kernel, auto_pad SAME), which onnx2torch refuses.

When torch's layer fits (no dilation, symmetric pads of at most half the kernel) onnx2torch's AveragePool-11 converter is used.
Otherwise the window sums and the counts of the elements each window averages are convolutions with
a dilated all-ones kernel, over the padded input and over a mask of the counted positions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, onnx2torch_convert, pads_per_axis, window_end
from .registry import register

_CONVOLUTIONS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


class OnnxAveragePoolDilated(nn.Module, OnnxToTorchModule):
    """ONNX AveragePool over 1 to 3 spatial dimensions, any pads, dilations and auto_pad."""

    def __init__(
        self,
        kernel: list[int],
        strides: list[int],
        dilations: list[int],
        pads: list[int],
        auto_pad: str,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> None:
        super().__init__()
        self.kernel = kernel
        self.strides = strides
        self.dilations = dilations
        self.pads = pads
        self.auto_pad = auto_pad
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def _layout(self, size: int, axis: int) -> tuple[int, int, int]:
        """(pad before, pad after, extra positions past the end) along spatial ``axis``."""
        kernel, stride, dilation = self.kernel[axis], self.strides[axis], self.dilations[axis]
        ((begin, end),) = pads_per_axis(
            self.auto_pad, self.pads[axis :: len(self.kernel)], [size], [kernel], [stride], [dilation]
        )
        if not self.ceil_mode or self.auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            return begin, end, 0
        return begin, end, max(window_end(size, begin, end, (kernel - 1) * dilation + 1, stride, True) - end, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = x.shape[2:]
        layout = [self._layout(size, axis) for axis, size in enumerate(spatial)]
        data_pads = [p for begin, end, extra in reversed(layout) for p in (begin, end + extra)]  # last dim first
        if self.count_include_pad:  # the explicit pads count, the extra ceil_mode positions do not
            counted = torch.ones((1, 1, *(s + b + e for s, (b, e, _) in zip(spatial, layout))), dtype=x.dtype, device=x.device)
            counted = F.pad(counted, [p for _, _, extra in reversed(layout) for p in (0, extra)])
        else:
            counted = F.pad(torch.ones((1, 1, *spatial), dtype=x.dtype, device=x.device), data_pads)
        batch, channels = x.shape[:2]
        padded = F.pad(x.reshape(batch * channels, 1, *spatial), data_pads)
        convolution = _CONVOLUTIONS[len(spatial)]
        ones = torch.ones((1, 1, *self.kernel), dtype=x.dtype, device=x.device)
        sums = convolution(padded, ones, stride=self.strides, dilation=self.dilations)
        counts = convolution(counted, ones, stride=self.strides, dilation=self.dilations)
        return (sums / counts).reshape(batch, channels, *sums.shape[2:])


def _convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    kernel = list(attributes["kernel_shape"])
    rank = len(kernel)
    dilations = list(attributes.get("dilations", [1] * rank))
    pads = list(attributes.get("pads", [0] * 2 * rank))
    auto_pad = attributes.get("auto_pad", "NOTSET")
    if rank not in _CONVOLUTIONS:
        raise NotImplementedError(f"AveragePool with {rank} spatial dimensions is not supported (1 to 3)")
    fits_torch = pads[:rank] == pads[rank:] and all(p <= k // 2 for p, k in zip(pads, kernel))  # torch's limits
    if all(d == 1 for d in dilations) and auto_pad in ("NOTSET", "VALID") and fits_torch:
        return onnx2torch_convert(node, graph, 11)
    module = OnnxAveragePoolDilated(
        kernel,
        strides=list(attributes.get("strides", [1] * rank)),
        dilations=dilations,
        pads=pads,
        auto_pad=auto_pad,
        ceil_mode=attributes.get("ceil_mode", 0) == 1,
        count_include_pad=attributes.get("count_include_pad", 0) == 1,
    )
    return converted(node, module)


register("AveragePool", 1, 7, 10, 11, 19, 22)(_convert)
