"""onnxruntime's matrix products (com.microsoft): FusedMatMul, and MatMulNBits, the block-wise
quantized weight-only layout of onnxruntime-genai's int4 LLMs.

Semantics (checked against onnxruntime's CPU kernels):
- FusedMatMul(A, B) = alpha * op(A) @ op(B). transBatchA/B first move a matrix's leading axis to
  just before its last one ([d0, d1, ..., dk] -> [d1, ..., d0, dk]); transA/B then swap its last two.
- MatMulNBits(A, B, scales[, zero_points][, g_idx][, bias]) = A @ W^T (+ bias) with W [N, K]
  dequantized block by block: B is uint8 [N, K/block_size, block_size*bits/8], holding
  ``bits``-bit values from the low bits up; W = (q - zero_point) * scale, one scale and zero
  point per (row, block). Zero points are packed like B (uint8, a row's blocks padded to whole
  bytes) or given as floats; without them they are 2^(bits-1). W is dequantized in forward, so a
  weightless conversion keeps B packed (and meta).
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OnnxMapping, OperationConverterResult
from ._common import converted, given
from .registry import register

_DOMAIN = "com.microsoft"
_SUPPORTED_BITS = (2, 4, 8)


def _batch_transpose(x: torch.Tensor) -> torch.Tensor:
    """[d0, d1, ..., dk] -> [d1, ..., d0, dk]."""
    return x.movedim(0, -2) if x.dim() > 2 else x


class FusedMatMul(nn.Module, OnnxToTorchModule):
    def __init__(self, alpha: float, trans_a: bool, trans_b: bool, trans_batch_a: bool, trans_batch_b: bool) -> None:
        super().__init__()
        self.alpha = alpha
        self.trans_a = trans_a
        self.trans_b = trans_b
        self.trans_batch_a = trans_batch_a
        self.trans_batch_b = trans_batch_b

    @staticmethod
    def _operand(x: torch.Tensor, trans_batch: bool, trans: bool) -> torch.Tensor:
        if trans_batch:
            x = _batch_transpose(x)
        return x.transpose(-1, -2) if trans else x

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a = self._operand(a, self.trans_batch_a, self.trans_a)
        b = self._operand(b, self.trans_batch_b, self.trans_b)
        product = torch.matmul(a, b)
        return product if self.alpha == 1.0 else product * self.alpha


def unpack_bits(packed: torch.Tensor, bits: int) -> torch.Tensor:
    """uint8 [..., n] -> uint8 [..., n * 8 / bits]: each byte's values, low bits first."""
    shifts = torch.arange(0, 8, bits, dtype=torch.uint8, device=packed.device)
    values = (packed.unsqueeze(-1) >> shifts) & ((1 << bits) - 1)
    return values.flatten(-2)


class MatMulNBits(nn.Module, OnnxToTorchModule):
    def __init__(self, k: int, n: int, bits: int, block_size: int) -> None:
        super().__init__()
        self.k = k
        self.n = n
        self.bits = bits
        self.block_size = block_size

    def dequantize(
        self, packed: torch.Tensor, scales: torch.Tensor, zero_points: torch.Tensor | None
    ) -> torch.Tensor:
        """W [N, K] in the scales' dtype."""
        blocks = -(-self.k // self.block_size)
        values = unpack_bits(packed, self.bits).reshape(self.n, blocks, self.block_size).to(scales.dtype)
        scales = scales.reshape(self.n, blocks, 1)
        if zero_points is None:
            zero = torch.tensor(float(1 << (self.bits - 1)), dtype=scales.dtype, device=scales.device)
        elif zero_points.dtype == torch.uint8:
            zero = unpack_bits(zero_points.reshape(self.n, -1), self.bits)[:, :blocks].to(scales.dtype)
            zero = zero.reshape(self.n, blocks, 1)
        else:
            zero = zero_points.reshape(self.n, blocks, 1)
        return ((values - zero) * scales).reshape(self.n, blocks * self.block_size)[:, : self.k]

    def forward(
        self,
        a: torch.Tensor,
        packed: torch.Tensor,
        scales: torch.Tensor,
        zero_points: torch.Tensor | None = None,
        bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        weight = self.dequantize(packed, scales, zero_points).to(a.dtype)
        return nn.functional.linear(a, weight, bias)

    def extra_repr(self) -> str:
        return f"k={self.k}, n={self.n}, bits={self.bits}, block_size={self.block_size}"


@register("FusedMatMul", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    module = FusedMatMul(
        attributes.get("alpha", 1.0),
        bool(attributes.get("transA", 0)),
        bool(attributes.get("transB", 0)),
        bool(attributes.get("transBatchA", 0)),
        bool(attributes.get("transBatchB", 0)),
    )
    return converted(node, module)


@register("MatMulNBits", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    bits = attributes.get("bits", 4)
    if bits not in _SUPPORTED_BITS:
        raise NotImplementedError(f"com.microsoft::MatMulNBits with bits={bits} is not supported")
    if given(node.input_values, 4):
        # Act-order (g_idx) models reorder K; onnxruntime itself deprecates the input.
        raise NotImplementedError("com.microsoft::MatMulNBits with a g_idx input is not supported")
    module = MatMulNBits(attributes["K"], attributes["N"], bits, attributes["block_size"])
    used = list(node.input_values[:4] + node.input_values[5:])  # without g_idx
    while not used[-1]:
        used.pop()
    return OperationConverterResult(torch_module=module, onnx_mapping=OnnxMapping(tuple(used), node.output_values))
