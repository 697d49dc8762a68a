"""Linear quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, and the integer
and quantized MatMul/Conv operators (MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv).

Integer arithmetic runs in float64, which holds every int8/int16 product sum exactly and works
on meta tensors (torch has no integer matmul/conv on every device). Scales and zero points are
ordinary forward inputs, so a QDQ model's int8 weights and per-channel scales may be meta.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from onnx import TensorProto
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from .._dtypes import onnx_dtype_name, torch_dtype
from .._errors import UnsupportedDtypeError
from ._common import FLOAT8_DTYPES, converted, element_type, given, pads_per_axis, to_float8
from .registry import register

_INTEGER_RANGES = {
    torch.uint8: (0, 255),
    torch.int8: (-128, 127),
    torch.uint16: (0, 65535),
    torch.int16: (-32768, 32767),
}
_DEQUANTIZABLE = (
    *_INTEGER_RANGES, torch.int32, *FLOAT8_DTYPES, torch.int4, torch.uint4,
    *(getattr(torch, name) for name in ("int2", "uint2") if hasattr(torch, name)),
)
_COMPUTE_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _check_quantized_type(node: OnnxNode, data_type: int | None, allowed: tuple[torch.dtype, ...]) -> None:
    """Raises NotImplementedError for quantized element types torch cannot compute with."""
    if data_type is None:
        return
    try:
        dtype = torch_dtype(data_type)
    except UnsupportedDtypeError as error:
        raise NotImplementedError(f"{node.operation_type}: element type {onnx_dtype_name(data_type)}: {error}") from error
    if dtype not in allowed:
        raise NotImplementedError(
            f"{node.operation_type}: quantized element type {onnx_dtype_name(data_type)} is not supported "
            f"(supported: {', '.join(str(d).removeprefix('torch.') for d in allowed)})"
        )


def broadcast_param(param: torch.Tensor, shape: torch.Size, axis: int, block_size: int) -> torch.Tensor:
    """A scale or zero point shaped to broadcast against a tensor of ``shape``: per tensor (one
    element), per axis (1-D along ``axis``) or blocked (each element repeated ``block_size`` times
    along ``axis``)."""
    if param.numel() == 1:
        return param.reshape(())
    axis = axis % len(shape)
    if block_size <= 0:
        if param.dim() != 1 or param.shape[0] != shape[axis]:
            raise ValueError(f"per-axis scale/zero point of shape {tuple(param.shape)} does not match axis {axis} of {tuple(shape)}")
        return param.reshape([-1 if dim == axis else 1 for dim in range(len(shape))])
    repeated = param.repeat_interleave(block_size, dim=axis).narrow(axis, 0, shape[axis])
    if repeated.shape != shape:
        raise ValueError(f"blocked scale/zero point of shape {tuple(param.shape)} does not fit {tuple(shape)} with block_size {block_size}")
    return repeated


def saturate_to(values: torch.Tensor, dtype: torch.dtype, saturate: bool = True) -> torch.Tensor:
    """Converts already scaled values to the quantized ``dtype``: integers round half to even and
    clamp to the type's range; float8 follows ONNX's Cast tables (see to_float8)."""
    if dtype in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[dtype]
        return torch.round(values).clamp(low, high).to(dtype)
    return to_float8(values, dtype, saturate)


def _compute_dtype(scale: torch.Tensor, precision: torch.dtype | None) -> torch.dtype:
    if precision is not None:
        return precision
    return scale.dtype if scale.dtype in _COMPUTE_DTYPES else torch.float32


class OnnxQuantizeLinear(nn.Module, OnnxToTorchModule):
    """y = saturate(round(x / y_scale) + y_zero_point); the zero point's dtype, else
    ``output_dtype``, is the output type."""

    def __init__(self, axis: int, block_size: int, saturate: bool, output_dtype: torch.dtype, precision: torch.dtype | None):
        super().__init__()
        self.axis = axis
        self.block_size = block_size
        self.saturate = saturate
        self.output_dtype = output_dtype
        self.precision = precision

    def forward(self, x: torch.Tensor, y_scale: torch.Tensor, y_zero_point: torch.Tensor | None = None) -> torch.Tensor:
        dtype = _compute_dtype(y_scale, self.precision)
        scale = broadcast_param(y_scale, x.shape, self.axis, self.block_size).to(dtype)
        values = x.to(dtype) / scale
        if y_zero_point is None:
            return saturate_to(values, self.output_dtype, self.saturate)
        zero = broadcast_param(y_zero_point, x.shape, self.axis, self.block_size).to(dtype)
        if y_zero_point.dtype in _INTEGER_RANGES:
            values = torch.round(values)  # the spec rounds x / y_scale before adding the zero point
        return saturate_to(values + zero, y_zero_point.dtype, self.saturate)


class OnnxDequantizeLinear(nn.Module, OnnxToTorchModule):
    """y = (x - x_zero_point) * x_scale, computed in float32 and returned as ``output_dtype``
    (the scale's dtype when None)."""

    def __init__(self, axis: int, block_size: int, output_dtype: torch.dtype | None):
        super().__init__()
        self.axis = axis
        self.block_size = block_size
        self.output_dtype = output_dtype

    def forward(self, x: torch.Tensor, x_scale: torch.Tensor, x_zero_point: torch.Tensor | None = None) -> torch.Tensor:
        values = x.to(torch.float32)
        if x_zero_point is not None:
            values = values - broadcast_param(x_zero_point, x.shape, self.axis, self.block_size).to(torch.float32)
        scale = broadcast_param(x_scale, x.shape, self.axis, self.block_size).to(torch.float32)
        return (values * scale).to(self.output_dtype or x_scale.dtype)


def _optional_dtype(node: OnnxNode, attribute: str) -> torch.dtype | None:
    data_type = node.attributes.get(attribute, 0)
    return torch_dtype(data_type) if data_type else None


@register("QuantizeLinear", 10, 13, 19, 21, 23, 24, 25, 28)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    output_type = node.attributes.get("output_dtype", 0)
    zero_type = element_type(node.input_values[2], graph) if given(node.input_values, 2) else None
    if output_type and zero_type and output_type != zero_type:
        raise ValueError(
            f"QuantizeLinear: output_dtype {onnx_dtype_name(output_type)} differs from y_zero_point's "
            f"type {onnx_dtype_name(zero_type)}"
        )
    output_type = zero_type or output_type or TensorProto.UINT8
    _check_quantized_type(node, output_type, tuple(_INTEGER_RANGES) + FLOAT8_DTYPES)
    module = OnnxQuantizeLinear(
        axis=node.attributes.get("axis", 1),
        block_size=node.attributes.get("block_size", 0),
        saturate=bool(node.attributes.get("saturate", 1)),
        output_dtype=torch_dtype(output_type),
        precision=_optional_dtype(node, "precision"),
    )
    return converted(node, module)


@register("DequantizeLinear", 10, 13, 19, 21, 23, 24, 25, 28)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    # Sub-byte integer tensors are always meta (torch stores them packed): they still cast, so a
    # weightless conversion and its meta forward work.
    _check_quantized_type(node, element_type(node.input_values[0], graph), _DEQUANTIZABLE)
    module = OnnxDequantizeLinear(
        axis=node.attributes.get("axis", 1),
        block_size=node.attributes.get("block_size", 0),
        output_dtype=_optional_dtype(node, "output_dtype"),
    )
    return converted(node, module)


class OnnxDynamicQuantizeLinear(nn.Module, OnnxToTorchModule):
    """uint8 quantization with scale and zero point taken from x's range (extended to hold 0)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        values = x.to(torch.float32)
        high = values.max().clamp(min=0)
        low = values.min().clamp(max=0)
        span = torch.where(high == low, torch.ones_like(high), high - low)
        scale = span / 255
        zero = torch.round((-low / scale).clamp(0, 255))
        quantized = saturate_to(torch.round(values / scale) + zero, torch.uint8)
        return quantized, scale.to(x.dtype), zero.to(torch.uint8)


@register("DynamicQuantizeLinear", 11)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxDynamicQuantizeLinear())


def _centered(values: torch.Tensor, zero_point: torch.Tensor | None, per_row: bool = False) -> torch.Tensor:
    """values - zero_point in float64; a 1-D per-row zero point of A applies along A's rows."""
    centered = values.to(torch.float64)
    if zero_point is None:
        return centered
    zero = zero_point.to(torch.float64)
    if per_row and zero.dim() == 1 and zero.numel() > 1:
        zero = zero.unsqueeze(-1)
    return centered - zero


class OnnxMatMulInteger(nn.Module, OnnxToTorchModule):
    """(A - a_zero_point) @ (B - b_zero_point) in int32."""

    def forward(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        a_zero_point: torch.Tensor | None = None,
        b_zero_point: torch.Tensor | None = None,
    ) -> torch.Tensor:
        product = torch.matmul(_centered(a, a_zero_point, per_row=True), _centered(b, b_zero_point))
        return product.to(torch.int32)


@register("MatMulInteger", 10)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxMatMulInteger())


def _row_param(param: torch.Tensor) -> torch.Tensor:
    """A's per-row scale given as a 1-D [M] vector broadcasts along rows."""
    return param.unsqueeze(-1) if param.dim() == 1 and param.numel() > 1 else param


class OnnxQLinearMatMul(nn.Module, OnnxToTorchModule):
    """Integer matmul of the centered inputs, requantized with a_scale * b_scale / y_scale."""

    def forward(
        self,
        a: torch.Tensor,
        a_scale: torch.Tensor,
        a_zero_point: torch.Tensor,
        b: torch.Tensor,
        b_scale: torch.Tensor,
        b_zero_point: torch.Tensor,
        y_scale: torch.Tensor,
        y_zero_point: torch.Tensor,
    ) -> torch.Tensor:
        product = torch.matmul(_centered(a, a_zero_point, per_row=True), _centered(b, b_zero_point))
        multiplier = _row_param(a_scale).to(torch.float32) * b_scale.to(torch.float32) / y_scale.to(torch.float32)
        scaled = product.to(torch.float32) * multiplier
        return saturate_to(torch.round(scaled) + y_zero_point.to(torch.float32), y_zero_point.dtype)


@register("QLinearMatMul", 10, 21)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    for index in (0, 3, 7):  # a, b, y_zero_point
        _check_quantized_type(node, element_type(node.input_values[index], graph), (torch.int8, torch.uint8))
    return converted(node, OnnxQLinearMatMul())


class _IntegerConv(nn.Module):
    """Convolution of centered integer tensors in float64, with ONNX Conv's padding attributes."""

    def __init__(self, attributes: dict[str, Any]):
        super().__init__()
        self.auto_pad = attributes.get("auto_pad", "NOTSET")
        self.strides = attributes.get("strides")
        self.dilations = attributes.get("dilations")
        self.pads = attributes.get("pads")
        self.group = attributes.get("group", 1)
        if self.auto_pad not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
            raise ValueError(f"unexpected auto_pad value {self.auto_pad!r}")

    def convolve(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        rank = x.dim() - 2
        strides = list(self.strides or [1] * rank)
        dilations = list(self.dilations or [1] * rank)
        pads = pads_per_axis(self.auto_pad, self.pads, x.shape[2:], w.shape[2:], strides, dilations)
        torch_pads = [p for pair in reversed(pads) for p in pair]
        # Padding with zeros after centering is padding with the zero point before it, as ONNX does.
        x = F.pad(x, torch_pads)
        conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}.get(rank)
        if conv is None:
            raise NotImplementedError(f"integer convolution with {rank} spatial dimensions is not supported")
        return conv(x, w, stride=strides, dilation=dilations, groups=self.group)


def _per_channel(param: torch.Tensor, rank: int) -> torch.Tensor:
    """A per-output-channel 1-D tensor shaped [M, 1, ...] (``rank`` dims in all): it broadcasts
    along the weights' dim 0, or along dim 1 of the outputs when ``rank`` is theirs minus one."""
    if param.numel() == 1:
        return param.reshape(())
    return param.reshape([-1] + [1] * (rank - 1))


class OnnxConvInteger(_IntegerConv, OnnxToTorchModule):
    """conv(x - x_zero_point, w - w_zero_point) in int32."""

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        x_zero_point: torch.Tensor | None = None,
        w_zero_point: torch.Tensor | None = None,
    ) -> torch.Tensor:
        weights = w.to(torch.float64)
        if w_zero_point is not None:
            weights = weights - _per_channel(w_zero_point, w.dim()).to(torch.float64)
        return self.convolve(_centered(x, x_zero_point), weights).to(torch.int32)


class OnnxQLinearConv(_IntegerConv, OnnxToTorchModule):
    """Integer convolution (plus int32 bias), requantized with x_scale * w_scale / y_scale."""

    def forward(
        self,
        x: torch.Tensor,
        x_scale: torch.Tensor,
        x_zero_point: torch.Tensor,
        w: torch.Tensor,
        w_scale: torch.Tensor,
        w_zero_point: torch.Tensor,
        y_scale: torch.Tensor,
        y_zero_point: torch.Tensor,
        bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        weights = w.to(torch.float64) - _per_channel(w_zero_point, w.dim()).to(torch.float64)
        accumulated = self.convolve(_centered(x, x_zero_point), weights)
        if bias is not None:
            accumulated = accumulated + bias.to(torch.float64).reshape([-1] + [1] * (x.dim() - 2))
        channel_scale = _per_channel(w_scale, x.dim() - 1).to(torch.float32)
        multiplier = x_scale.to(torch.float32) * channel_scale / y_scale.to(torch.float32)
        scaled = accumulated.to(torch.float32) * multiplier
        return saturate_to(torch.round(scaled) + y_zero_point.to(torch.float32), y_zero_point.dtype)


@register("ConvInteger", 10)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxConvInteger(dict(node.attributes)))


@register("QLinearConv", 10)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxQLinearConv(dict(node.attributes)))
