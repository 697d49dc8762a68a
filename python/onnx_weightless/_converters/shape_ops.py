"""Shape and layout operators onnx2torch lacks: Size, CastLike, SpaceToDepth, DepthToSpace (DCR), CenterCropPad,
Upsample (opsets 7 to 10) and Col2Im."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import FLOAT8_DTYPES, TakesPythonValues, converted, to_float8, values_list
from .registry import register


def _ints(value: torch.Tensor) -> list[int]:
    return [int(v) for v in value.reshape(-1).tolist()]


class OnnxSize(nn.Module, OnnxToTorchModule):
    def forward(self, data: torch.Tensor) -> torch.Tensor:
        # A real tensor even for a meta input: it depends on the shape only.
        return torch.tensor(data.numel(), dtype=torch.int64)


@register("Size", 1, 13, 19, 21, 23, 24, 25)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxSize())


# Element types torch holds but whose ONNX conversion rules (rounding modes, packing) torch does not follow.
_UNSUPPORTED_TARGETS = tuple(
    getattr(torch, name) for name in ("float8_e8m0fnu", "int4", "uint4", "int2", "uint2", "float4_e2m1fn_x2")
    if hasattr(torch, name)
)


class OnnxCastLike(nn.Module, OnnxToTorchModule):
    def __init__(self, saturate: bool) -> None:
        super().__init__()
        self.saturate = saturate

    def forward(self, input: torch.Tensor, target_type: torch.Tensor) -> torch.Tensor:  # noqa: A002
        dtype = target_type.dtype
        if dtype in _UNSUPPORTED_TARGETS:
            raise NotImplementedError(f"CastLike to {dtype} is not supported")
        if dtype in FLOAT8_DTYPES:
            return to_float8(input, dtype, self.saturate)
        return input.to(dtype)


@register("CastLike", 15, 19, 21, 23, 24, 25)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    # round_mode (version 25) only concerns float8e8m0, which OnnxCastLike refuses.
    return converted(node, OnnxCastLike(bool(node.attributes.get("saturate", 1))))


class _BlockRearrange(nn.Module, OnnxToTorchModule):
    """Moves blocks of blocksize x blocksize between depth and space; the channel of an element
    in a block is (row, column, depth) in DCR order, (depth, row, column) in CRD order."""

    def __init__(self, blocksize: int, column_row_depth: bool) -> None:
        super().__init__()
        self.blocksize = blocksize
        self.column_row_depth = column_row_depth


class OnnxSpaceToDepth(_BlockRearrange):

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002
        n, c, h, w = input.shape
        b = self.blocksize
        blocks = input.reshape(n, c, h // b, b, w // b, b)
        # DCR: output channel (row, column, depth); CRD: (depth, row, column).
        order = (0, 1, 3, 5, 2, 4) if self.column_row_depth else (0, 3, 5, 1, 2, 4)
        return blocks.permute(order).reshape(n, c * b * b, h // b, w // b)


@register("SpaceToDepth", 1, 13)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxSpaceToDepth(node.attributes["blocksize"], column_row_depth=False))


@register("SpaceToDepth", 28)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    mode = node.attributes.get("mode", "DCR")
    if mode not in ("DCR", "CRD"):
        raise NotImplementedError(f"SpaceToDepth: mode={mode!r}")
    return converted(node, OnnxSpaceToDepth(node.attributes["blocksize"], column_row_depth=mode == "CRD"))


class OnnxDepthToSpace(_BlockRearrange):
    """DepthToSpace in both modes (onnx2torch's converter refuses DCR, the default)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002
        n, c, h, w = input.shape
        b = self.blocksize
        if self.column_row_depth:  # channel = (depth, row, column)
            blocks = input.reshape(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3)
        else:  # DCR: channel = (row, column, depth)
            blocks = input.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
        return blocks.reshape(n, c // (b * b), h * b, w * b)


@register("DepthToSpace", 1, 11, 13)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    mode = node.attributes.get("mode", "DCR")
    if mode not in ("DCR", "CRD"):
        raise NotImplementedError(f"DepthToSpace: mode={mode!r}")
    return converted(node, OnnxDepthToSpace(node.attributes["blocksize"], column_row_depth=mode == "CRD"))


class OnnxCenterCropPad(nn.Module, OnnxToTorchModule):
    def __init__(self, axes: list[int] | None) -> None:
        super().__init__()
        self.axes = axes

    def forward(self, input_data: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
        rank = input_data.dim()
        axes = range(rank) if self.axes is None else [a % rank for a in self.axes]
        pads = [0] * (2 * rank)  # F.pad's order: last dimension first, (begin, end) each
        for axis, size in zip(axes, _ints(shape)):
            change = size - input_data.shape[axis]
            # Odd differences put the extra element at the end, whether cropped or padded.
            pads[2 * (rank - 1 - axis)] = change // 2 if change >= 0 else -(-change // 2)
            pads[2 * (rank - 1 - axis) + 1] = change - pads[2 * (rank - 1 - axis)]
        return F.pad(input_data, pads)


@register("CenterCropPad", 18, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxCenterCropPad(node.attributes.get("axes")))


class OnnxUpsample(nn.Module, OnnxToTorchModule, TakesPythonValues):
    """Nearest or n-linear upsampling with the asymmetric coordinate mapping (input = output / scale)
    onnxruntime uses for Upsample; output sizes are floor(input size * scale)."""

    def __init__(self, linear: bool, scales: list[float] | None = None) -> None:
        super().__init__()
        self.linear = linear
        self.scales = scales

    def forward(self, x: torch.Tensor, scales: torch.Tensor | list[float] | None = None) -> torch.Tensor:
        factors = self.scales if scales is None else [float(s) for s in values_list(scales)]
        if len(factors) != x.dim():
            raise ValueError(f"Upsample: {len(factors)} scales for an input of rank {x.dim()}")
        for axis, scale in enumerate(factors):
            if scale < 1:
                raise NotImplementedError(f"Upsample: scale {scale} < 1 on axis {axis}")
            if scale != 1:
                x = self._upsample_axis(x, axis, scale)
        return x

    def _upsample_axis(self, x: torch.Tensor, axis: int, scale: float) -> torch.Tensor:
        size = x.shape[axis]
        position = torch.arange(math.floor(size * scale), dtype=torch.float64, device=x.device) / scale
        low = position.floor().clamp(max=size - 1).to(torch.int64)
        if not self.linear:
            return torch.index_select(x, axis, low)
        high = (low + 1).clamp(max=size - 1)
        shape = [1] * x.dim()
        shape[axis] = -1
        weight = (position - low).clamp(max=1).reshape(shape).to(x.dtype)
        below, above = torch.index_select(x, axis, low), torch.index_select(x, axis, high)
        return below + (above - below) * weight


def _upsample_linear(node: OnnxNode) -> bool:
    mode = node.attributes.get("mode", "nearest")
    if mode not in ("nearest", "linear"):
        raise NotImplementedError(f"Upsample: mode={mode!r}")
    return mode == "linear"


@register("Upsample", 7)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxUpsample(_upsample_linear(node), list(node.attributes["scales"])))


@register("Upsample", 9, 10, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxUpsample(_upsample_linear(node)))


class OnnxCol2Im(nn.Module, OnnxToTorchModule):
    """Sums each column's block elements into the image, for any number of spatial dimensions."""

    def __init__(self, dilations: list[int] | None, pads: list[int] | None, strides: list[int] | None) -> None:
        super().__init__()
        self.dilations = dilations
        self.pads = pads
        self.strides = strides

    def forward(self, input: torch.Tensor, image_shape: torch.Tensor, block_shape: torch.Tensor) -> torch.Tensor:  # noqa: A002
        image, block = _ints(image_shape), _ints(block_shape)
        rank = len(image)
        dilations = self.dilations or [1] * rank
        strides = self.strides or [1] * rank
        pads = self.pads or [0] * (2 * rank)
        blocks = [
            (size + pads[i] + pads[i + rank] - dilations[i] * (block[i] - 1) - 1) // strides[i] + 1
            for i, size in enumerate(image)
        ]
        device = input.device
        # Image position of (block element k, block l) along each axis; off the image: dropped.
        target = torch.zeros((), dtype=torch.int64, device=device)
        inside = torch.ones((), dtype=torch.bool, device=device)
        for i in range(rank):
            offsets = torch.arange(block[i], device=device) * dilations[i]
            starts = torch.arange(blocks[i], device=device) * strides[i] - pads[i]
            position = offsets[:, None] + starts[None, :]  # [k_i, l_i]
            # Dimensions of k (block) before those of l (blocks), each in row-major order.
            shape = [1] * (2 * rank)
            shape[i], shape[rank + i] = block[i], blocks[i]
            position = position.reshape(shape)
            inside = inside & (position >= 0) & (position < image[i])
            target = target * image[i] + position.clamp(0, image[i] - 1)
        pixels = math.prod(image)
        target = torch.where(inside, target, pixels).reshape(-1)  # one spare slot for dropped values
        n = input.shape[0]
        columns = input.reshape(n, -1, target.numel())
        out = torch.zeros((n, columns.shape[1], pixels + 1), dtype=input.dtype, device=device)
        out = out.index_add(2, target, columns)
        return out[..., :pixels].reshape(n, columns.shape[1], *image)


@register("Col2Im", 18, value_inputs=(1, 2))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    return converted(node, OnnxCol2Im(attributes.get("dilations"), attributes.get("pads"), attributes.get("strides")))
