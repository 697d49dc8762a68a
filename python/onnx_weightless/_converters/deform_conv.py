"""DeformConv-19 and 22 (22 only adds bfloat16) on 2-D images, by torchvision's deform_conv2d.

torchvision samples offsets the way ONNX does (bilinear, zero outside the image, the height offset
of each kernel position before its width offset) and infers ``group`` and ``offset_group`` from
the shapes of W and offset, which are checked against the attributes here. Its padding is
symmetric, so asymmetric ``pads`` are applied to X beforehand: zero padding leaves every bilinear
sample unchanged. W is an ordinary input, not a layer's parameter: in a weightless conversion it
arrives as a meta tensor, and on meta inputs the output shape, (N, M, oH, oW) with oH and oW those of
offset, is computed here after the same checks, whatever torchvision's meta support.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, known_rank
from .registry import register


def _spatial_out(size: int, begin: int, end: int, kernel: int, stride: int, dilation: int) -> int:
    return (size + begin + end - (kernel - 1) * dilation - 1) // stride + 1


class OnnxDeformConv(nn.Module, OnnxToTorchModule):
    """ONNX DeformConv on (N, C, H, W) inputs; ``pads`` is ONNX's [h_begin, w_begin, h_end, w_end]."""

    def __init__(self, strides, dilations, pads, group: int, offset_group: int, kernel_shape) -> None:
        super().__init__()
        self.strides, self.dilations, self.pads = list(strides), list(dilations), list(pads)
        self.group, self.offset_group = group, offset_group
        self.kernel_shape = list(kernel_shape) if kernel_shape else None

    def _output_shape(self, x, weight, offset, bias, mask) -> tuple[int, ...]:
        """(N, M, oH, oW), after checking the inputs' shapes against each other and the attributes."""
        if x.dim() != 4:
            raise NotImplementedError(f"DeformConv on a {x.dim()}-D input: only 2-D images (N, C, H, W) are supported")
        batch, channels, height, width = x.shape
        if weight.dim() != 4:
            raise ValueError(f"DeformConv W of shape {list(weight.shape)}: expected (M, C/group, kH, kW)")
        out_channels, group_channels, kh, kw = weight.shape
        if self.kernel_shape is not None and self.kernel_shape != [kh, kw]:
            raise ValueError(f"DeformConv kernel_shape={self.kernel_shape} but W has shape {list(weight.shape)}")
        if group_channels * self.group != channels or out_channels % self.group:
            raise ValueError(f"DeformConv group={self.group}: X has {channels} channels, W has shape {list(weight.shape)}")
        if channels % self.offset_group:
            raise ValueError(f"DeformConv offset_group={self.offset_group} does not divide the {channels} channels of X")
        out_h = _spatial_out(height, self.pads[0], self.pads[2], kh, self.strides[0], self.dilations[0])
        out_w = _spatial_out(width, self.pads[1], self.pads[3], kw, self.strides[1], self.dilations[1])
        points = self.offset_group * kh * kw
        expected = (batch, 2 * points, out_h, out_w)
        if tuple(offset.shape) != expected:
            raise ValueError(f"DeformConv offset of shape {list(offset.shape)}, expected {list(expected)}")
        if mask is not None and tuple(mask.shape) != (batch, points, out_h, out_w):
            raise ValueError(f"DeformConv mask of shape {list(mask.shape)}, expected {[batch, points, out_h, out_w]}")
        if bias is not None and tuple(bias.shape) != (out_channels,):
            raise ValueError(f"DeformConv B of shape {list(bias.shape)}, expected [{out_channels}]")
        return batch, out_channels, out_h, out_w

    def forward(
        self,
        x: torch.Tensor,
        weight: torch.Tensor,
        offset: torch.Tensor,
        bias: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        shape = self._output_shape(x, weight, offset, bias, mask)
        if any(t is not None and t.is_meta for t in (x, weight, offset, bias, mask)):
            return torch.empty(shape, dtype=x.dtype, device="meta")
        from torchvision.ops import deform_conv2d  # only a real run needs torchvision's kernels

        # float16 and bfloat16 accumulate in float32.
        compute = torch.float64 if x.dtype == torch.float64 else torch.float32
        top, left, bottom, right = self.pads
        if (top, left) == (bottom, right):
            padding = (top, left)
            data = x.to(compute)
        else:
            padding = (0, 0)
            data = F.pad(x.to(compute), [left, right, top, bottom])
        out = deform_conv2d(
            data,
            offset.to(compute),
            weight.to(compute),
            None if bias is None else bias.to(compute),
            stride=tuple(self.strides),
            padding=padding,
            dilation=tuple(self.dilations),
            mask=None if mask is None else mask.to(compute),
        )
        return out.to(x.dtype)


def _deform_conv(version: int):
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        attributes = node.attributes
        kernel_shape = attributes.get("kernel_shape")
        # X and W are both (spatial rank + 2)-D; an unknown rank is checked when the module runs.
        ranks = [r for r in (known_rank(name, graph) for name in node.input_values[:2]) if r is not None]
        spatial = len(kernel_shape) if kernel_shape else (ranks[0] - 2 if ranks else 2)
        if spatial != 2:
            raise NotImplementedError(f"DeformConv-{version} with {spatial} spatial dimensions: only 2-D images are supported")
        strides = attributes.get("strides", [1, 1])
        dilations = attributes.get("dilations", [1, 1])
        pads = attributes.get("pads", [0, 0, 0, 0])
        for attribute, values, length in (("strides", strides, 2), ("dilations", dilations, 2), ("pads", pads, 4)):
            if len(values) != length:
                raise NotImplementedError(
                    f"DeformConv-{version} {attribute}={list(values)}: {length} values expected for 2-D images"
                )
        if any(s < 1 for s in strides) or any(d < 1 for d in dilations) or any(p < 0 for p in pads):
            raise NotImplementedError(
                f"DeformConv-{version} strides={list(strides)} dilations={list(dilations)} pads={list(pads)}: "
                "strides and dilations must be positive, pads non-negative"
            )
        group = attributes.get("group", 1)
        offset_group = attributes.get("offset_group", 1)
        if group < 1 or offset_group < 1:
            raise NotImplementedError(f"DeformConv-{version} group={group} offset_group={offset_group}: both must be positive")
        return converted(node, OnnxDeformConv(strides, dilations, pads, group, offset_group, kernel_shape))

    return convert


for _version in (19, 22):
    register("DeformConv", _version)(_deform_conv(_version))
