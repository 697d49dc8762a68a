"""com.microsoft GatherBlockQuantized: a Gather from a block-quantized table (onnxruntime-genai's
quantized embeddings), dequantized after gathering, so only the gathered rows are expanded.

- data is quantized in blocks of ``block_size`` along ``quantize_axis``: uint8 holding ``bits`` = 2,
  4 or 8 bit values (below 8, packed along the last axis, low-order bits first), or int8.
- output = (value - zero_point) * scale of the element's block; zero_points (packed like data)
  default to 2^(bits-1) for uint8 and 0 for int8.
- indices out of range give zeros (unlike Gather); negative ones count from the end.

4-bit ONNX element types (INT4, UINT4), float8/float4 tables and gathering along the quantized axis
raise NotImplementedError at conversion.
"""

from __future__ import annotations

import torch
from onnx import TensorProto
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, element_type
from .registry import register

_DOMAIN = "com.microsoft"


def _unpack(packed: torch.Tensor, bits: int) -> torch.Tensor:
    """uint8 values packing 8 / bits numbers each along the last axis -> those numbers (int32)."""
    if bits == 8:
        return packed.to(torch.int32)
    values = packed.to(torch.int32)
    mask = (1 << bits) - 1
    parts = [(values >> (bits * i)) & mask for i in range(8 // bits)]
    return torch.stack(parts, dim=-1).flatten(-2)


class GatherBlockQuantized(nn.Module, OnnxToTorchModule):
    def __init__(self, bits: int, block_size: int, gather_axis: int, quantize_axis: int, packed: bool, default_zero: int) -> None:
        super().__init__()
        self.bits = bits
        self.block_size = block_size
        self.gather_axis = gather_axis
        self.quantize_axis = quantize_axis
        self.packed = packed
        self.default_zero = default_zero

    def _gather(self, table: torch.Tensor, indices: torch.Tensor, axis: int) -> torch.Tensor:
        size = table.shape[axis]
        if size == 1:  # a broadcast scale: the same for every index
            return table.reshape(*table.shape[:axis], *([1] * indices.dim()), *table.shape[axis + 1 :])
        flat = indices.reshape(-1)
        index = torch.where(flat < 0, flat + size, flat).clamp(0, size - 1)
        picked = table.index_select(axis, index)
        return picked.reshape(*table.shape[:axis], *indices.shape, *table.shape[axis + 1 :])

    def forward(
        self, data: torch.Tensor, indices: torch.Tensor, scales: torch.Tensor, zero_points: torch.Tensor | None = None
    ) -> torch.Tensor:
        rank = data.dim()
        gather_axis, quantize_axis = self.gather_axis % rank, self.quantize_axis % rank
        size = data.shape[gather_axis]
        values = self._gather(data, indices, gather_axis)
        values = _unpack(values, self.bits) if self.packed else values.to(torch.int32)
        # The quantized axis of the output: shifted by the indices' rank when it follows the gathered one.
        axis = quantize_axis + (indices.dim() - 1 if quantize_axis > gather_axis else 0)
        length = values.shape[axis]
        block_scales = self._gather(scales, indices, gather_axis)
        block_scales = block_scales.repeat_interleave(self.block_size, dim=axis).narrow(axis, 0, length)
        if zero_points is None:
            zeros = torch.full((), self.default_zero, dtype=torch.int32, device=values.device)
        else:
            zeros = self._gather(zero_points, indices, gather_axis)
            zeros = _unpack(zeros, self.bits) if self.packed else zeros.to(torch.int32)
            zeros = zeros.repeat_interleave(self.block_size, dim=axis).narrow(axis, 0, length)
        output = (values - zeros).to(scales.dtype) * block_scales
        valid = (indices >= -size) & (indices < size)
        shape = [1] * gather_axis + list(indices.shape) + [1] * (output.dim() - gather_axis - indices.dim())
        return output * valid.reshape(shape).to(output.dtype)


@register("GatherBlockQuantized", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    data_type = element_type(node.input_values[0], graph)
    bits = attributes.get("bits", 4)
    if data_type not in (TensorProto.UINT8, TensorProto.INT8):
        name = TensorProto.DataType.Name(data_type) if data_type else "unknown"
        raise NotImplementedError(f"GatherBlockQuantized: data of element type {name} is not supported (uint8 or int8)")
    if bits not in (2, 4, 8):
        raise NotImplementedError(f"GatherBlockQuantized: bits={bits} is not supported")
    gather_axis, quantize_axis = attributes.get("gather_axis", 0), attributes.get("quantize_axis", 1)
    packed = data_type == TensorProto.UINT8 and bits < 8
    rank = len(graph.initializers[node.input_values[0]].proto.dims) if node.input_values[0] in graph.initializers else None
    if rank is not None and gather_axis % rank == quantize_axis % rank:
        raise NotImplementedError("GatherBlockQuantized: gathering along the quantized axis is not supported")
    module = GatherBlockQuantized(
        bits if packed else 8,
        attributes.get("block_size", 128),
        gather_axis,
        quantize_axis,
        packed,
        default_zero=1 << (bits - 1) if data_type == TensorProto.UINT8 else 0,
    )
    return converted(node, module)
