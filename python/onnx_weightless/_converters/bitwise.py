"""Bitwise operators: BitwiseAnd/Or/Xor/Not and BitShift.

torch lacks bitwise_not and shifts for uint16/32/64, so those run on the same bits viewed as the
signed type of the same width, which gives the same bits for not and left shift; the logical right
shift of unsigned types clears the bits the arithmetic shift fills in.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register

_SIGNED = {
    torch.uint8: torch.int8,
    torch.uint16: torch.int16,
    torch.uint32: torch.int32,
    torch.uint64: torch.int64,
}


class OnnxBitwise(nn.Module, OnnxToTorchModule):
    """BitwiseAnd, BitwiseOr or BitwiseXor (torch has these for every integer type)."""

    def __init__(self, function: str) -> None:
        super().__init__()
        self.function = function

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return getattr(torch, self.function)(a, b)


_BINARY = {"BitwiseAnd": "bitwise_and", "BitwiseOr": "bitwise_or", "BitwiseXor": "bitwise_xor"}


@register("BitwiseAnd", 18)
@register("BitwiseOr", 18)
@register("BitwiseXor", 18)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxBitwise(_BINARY[node.operation_type]))


class OnnxBitwiseNot(nn.Module, OnnxToTorchModule):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        signed = _SIGNED.get(x.dtype)
        if signed is None:
            return torch.bitwise_not(x)
        return torch.bitwise_not(x.view(signed)).view(x.dtype)


@register("BitwiseNot", 18)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxBitwiseNot())


class OnnxBitShift(nn.Module, OnnxToTorchModule):
    """Shifts by Y bits; a Y out of [0, bits) leaves only the sign fill (version 28's rule, which
    version 11, for unsigned types, leaves undefined)."""

    def __init__(self, left: bool) -> None:
        super().__init__()
        self.left = left

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype  # ONNX gives X and Y the same type
        signed = _SIGNED.get(dtype, dtype)
        bits = torch.iinfo(signed).bits
        value = x.view(signed)
        amount = y.view(signed) if dtype == torch.uint64 else y.to(torch.int64)  # uint64 past 2**63: negative
        valid = (amount >= 0) & (amount < bits)
        shift = torch.where(valid, amount, 0).to(signed)
        zero = torch.zeros((), dtype=signed, device=value.device)
        if self.left:
            return torch.where(valid, torch.bitwise_left_shift(value, shift), zero).view(dtype)
        shifted = torch.bitwise_right_shift(value, shift)
        if signed is dtype:
            return torch.where(valid, shifted, torch.where(value < 0, -1, zero))
        # Logical shift: clear the top `shift` bits the sign fill may have set.
        sign_bit = torch.full((), torch.iinfo(signed).min, dtype=signed, device=value.device)
        top = torch.bitwise_right_shift(sign_bit, (shift - 1).clamp(min=0))
        logical = torch.where(shift == 0, value, shifted & ~top)
        return torch.where(valid, logical, zero).view(dtype)


@register("BitShift", 11, 28)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    direction = node.attributes.get("direction")
    if direction not in ("LEFT", "RIGHT"):
        raise NotImplementedError(f"BitShift: direction={direction!r}")
    return converted(node, OnnxBitShift(left=direction == "LEFT"))
