"""Helpers several converter modules share; nothing here is registered.

The rules they encode (ONNX's SAME padding and pooled lengths, Cast's float8 conversions, the
stash_type and statistics of normalizations, which optional inputs a node gives, element types recorded in the
graph) are written once here, so the converters that depend on them cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import onnx_mapping_from_node
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult, onnx2torch_converter
from .._dtypes import torch_dtype

__all__ = [
    "FLOAT8_DTYPES",
    "TakesPythonValues",
    "converted",
    "element_type",
    "given",
    "known_rank",
    "normalize",
    "onnx2torch_convert",
    "pads_per_axis",
    "rotate_pairs",
    "same_pads",
    "split_total_pad",
    "split_heads",
    "stash_dtype",
    "to_float8",
    "values_list",
    "values_of",
    "window_end",
]

FLOAT8_DTYPES = (torch.float8_e4m3fn, torch.float8_e4m3fnuz, torch.float8_e5m2, torch.float8_e5m2fnuz)
# Beyond this, float8e4m3fn rounds past its largest value 448 (halfway to 480, the tie going to 448).
_E4M3FN_OVERFLOW = 464.0


class TakesPythonValues:
    """Marks a module whose value inputs may be given as Python numbers instead of tensors.

    A conversion with integer shapes computes sizes and small constants as Python numbers (host
    values, ``_host_values``) and passes them to such a module as they are, so its ``forward`` never
    turns a tensor into numbers (which torch.export cannot follow). The module reads every value
    input through ``values_of``/``values_list``, which take either form."""


def values_of(value: torch.Tensor | Any) -> Any:
    """A value input as Python numbers: a tensor's ``tolist()`` (a number for a 0-D one), or the
    Python value a conversion with integer shapes passed in its place."""
    return value.tolist() if isinstance(value, torch.Tensor) else value


def values_list(value: torch.Tensor | Any) -> list[Any]:
    """``values_of`` as a flat list, whatever the value's rank (0-D or 1-D)."""
    values = values_of(value)
    return list(values) if isinstance(values, (list, tuple)) else [values]


def converted(node: OnnxNode, module: nn.Module) -> OperationConverterResult:
    """The result of a converter whose module takes the node's inputs and gives its outputs, in order."""
    return OperationConverterResult(torch_module=module, onnx_mapping=onnx_mapping_from_node(node))


def onnx2torch_convert(node: OnnxNode, graph: OnnxGraph, version: int) -> OperationConverterResult:
    """``node`` converted by onnx2torch's own converter of its op at ``version`` (ai.onnx), for the
    nodes an override leaves as onnx2torch makes them."""
    converter = onnx2torch_converter("", node.operation_type, version)
    if converter is None:
        raise NotImplementedError(f"onnx2torch has no converter for {node.operation_type}-{version}")
    return converter(node, graph)


def given(names: Sequence[str], position: int) -> bool:
    """Whether the optional input or output at ``position`` is present (neither omitted nor '')."""
    return position < len(names) and bool(names[position])


def element_type(name: str, graph: OnnxGraph) -> int | None:
    """The ONNX element type of value ``name``, when its initializer or shape inference records it."""
    if name in graph.initializers:
        return graph.initializers[name].proto.data_type
    info = graph.value_info.get(name)
    if info is not None and info.type.HasField("tensor_type") and info.type.tensor_type.elem_type:
        return info.type.tensor_type.elem_type
    return None


def known_rank(name: str, graph: OnnxGraph) -> int | None:
    """The rank of value ``name``, when its initializer or shape inference records it."""
    if name in graph.initializers:
        return len(graph.initializers[name].proto.dims)
    info = graph.value_info.get(name)
    if info is not None and info.type.HasField("tensor_type") and info.type.tensor_type.HasField("shape"):
        return len(info.type.tensor_type.shape.dim)
    return None


def stash_dtype(node: OnnxNode) -> torch.dtype:
    """The dtype ``stash_type`` (default 1, float32) asks a normalization's statistics to be computed in."""
    dtype = torch_dtype(node.attributes.get("stash_type", 1))
    if not dtype.is_floating_point:
        raise NotImplementedError(f"{node.operation_type}: stash_type {node.attributes['stash_type']} is not a float type")
    return dtype


def normalize(
    x: torch.Tensor, axis: int, epsilon: float, rms: bool, stash: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(x normalized over axes [axis, rank) in x's dtype, mean or None if ``rms``, 1/std), the
    statistics computed in ``stash`` with the reduced axes kept."""
    dims = tuple(range(axis % x.dim(), x.dim()))
    stashed = x.to(stash)
    mean = None if rms else stashed.mean(dim=dims, keepdim=True)
    centred = stashed if mean is None else stashed - mean
    inv_std = torch.rsqrt(centred.square().mean(dim=dims, keepdim=True) + epsilon)
    return (centred * inv_std).to(x.dtype), mean, inv_std


def to_float8(x: torch.Tensor, dtype: torch.dtype, saturate: bool) -> torch.Tensor:
    """``x`` cast to the float8 ``dtype`` by ONNX Cast's tables: with ``saturate`` values beyond the
    type's range, infinities included, become its largest finite value; without it NaN, or
    infinities for float8e5m2. Values that round to the largest finite value are no overflow."""
    if not x.is_floating_point() or x.dtype in FLOAT8_DTYPES:
        # float32 holds every float8 value (torch cannot clamp or compare float8 tensors), and
        # integers beyond its exact range are out of range anyway.
        x = x.to(torch.float32)
    largest = torch.finfo(dtype).max
    if saturate:
        return x.clamp(-largest, largest).to(dtype)
    if dtype == torch.float8_e4m3fn:
        # torch saturates here; the spec wants NaN.
        return torch.where(x.abs() > _E4M3FN_OVERFLOW, torch.nan, x).to(dtype)
    return x.to(dtype)  # torch gives inf (e5m2) or NaN (FNUZ), as the spec does


def split_total_pad(total: int, upper: bool) -> tuple[int, int]:
    """(begin, end) of ``total`` padding: the odd unit goes at the end (SAME_UPPER) or the start."""
    small, large = total // 2, total - total // 2
    return (small, large) if upper else (large, small)


def same_pads(size: int, kernel: int, stride: int, dilation: int, upper: bool) -> tuple[int, int]:
    """(begin, end) padding of auto_pad SAME_UPPER (``upper``) or SAME_LOWER: ceil(size / stride)
    windows fit exactly."""
    span = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
    return split_total_pad(total, upper)


def pads_per_axis(
    auto_pad: str,
    pads: Sequence[int] | None,
    spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> list[tuple[int, int]]:
    """(begin, end) per spatial axis of Conv or pooling: computed for SAME_*, none for VALID,
    else ``pads`` ([begin..., end...]; zeros when empty)."""
    rank = len(spatial)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return [
            same_pads(size, k, stride, dilation, auto_pad == "SAME_UPPER")
            for size, k, stride, dilation in zip(spatial, kernel, strides, dilations)
        ]
    if auto_pad == "VALID" or not pads:
        return [(0, 0)] * rank
    return list(zip(pads[:rank], pads[rank:]))


def window_end(size: int, begin: int, end: int, span: int, stride: int, ceil_mode: bool) -> int:
    """The end padding after which exactly ONNX's pooling windows fit (negative: what no window
    reads). With ceil_mode a partial last window counts, unless it would start in the end padding."""
    reach = size + begin + end - span
    length = (math.ceil(reach / stride) if ceil_mode else reach // stride) + 1
    if ceil_mode and (length - 1) * stride >= size + begin:
        length -= 1
    return (length - 1) * stride + span - size - begin


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """[batch, sequence, heads * size] -> [batch, heads, sequence, size]."""
    return x.reshape(x.shape[0], x.shape[1], heads, -1).transpose(1, 2)


def rotate_pairs(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, interleaved: bool) -> torch.Tensor:
    """Rotary embedding: each feature pair of ``x`` rotated by the angle whose cos and sin are given;
    pairs are (i, i + half), or neighbours when ``interleaved``."""
    if interleaved:
        first, second = x[..., 0::2], x[..., 1::2]
    else:
        first, second = x.chunk(2, dim=-1)
    real = cos * first - sin * second
    imaginary = sin * first + cos * second
    if interleaved:
        return torch.stack((real, imaginary), dim=-1).flatten(-2)
    return torch.cat((real, imaginary), dim=-1)
