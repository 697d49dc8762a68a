"""Range-11, and Range-27's float16/bfloat16 inputs with ``stash_type``.

This deliberately overrides onnx2torch's Range-11, whose torch.arange call ignores the inputs'
type: int32 inputs gave int64 and float64 inputs float32. Here the output has the inputs' type, and
Range-27 computes float16/bfloat16 ranges in ``stash_type`` (float32 by default) before casting back.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from onnx import TensorProto
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from .._dtypes import onnx_dtype_name
from ._common import converted
from .registry import register

_STASH_TYPES = {TensorProto.FLOAT: torch.float32, TensorProto.DOUBLE: torch.float64}
_LOW_PRECISION = (torch.float16, torch.bfloat16)


class OnnxRangeTyped(nn.Module, OnnxToTorchModule):
    """ONNX Range; its scalar inputs are read as values. ``stash`` is the type float16/bfloat16
    ranges are computed in (None: Range-11, where those types are not allowed)."""

    def __init__(self, stash: torch.dtype | None) -> None:
        super().__init__()
        self.stash = stash

    def forward(self, start: torch.Tensor, limit: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        first, last, step = start.item(), limit.item(), delta.item()
        if start.is_floating_point():
            count = max(math.ceil((last - first) / step), 0)
            compute = self.stash if self.stash is not None and start.dtype in _LOW_PRECISION else torch.float64
        else:
            count = max(-((first - last) // step), 0)  # ceil((last - first) / step) in integers
            compute = torch.int64
        steps = torch.arange(count, dtype=compute, device=start.device)
        return (steps * step + first).to(start.dtype)


def _range_converter(version: int) -> Callable[[OnnxNode, OnnxGraph], OperationConverterResult]:
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        del graph
        stash = None
        if version >= 27:
            stash_type = node.attributes.get("stash_type", TensorProto.FLOAT)
            if stash_type not in _STASH_TYPES:
                raise NotImplementedError(
                    f"Range-{version} stash_type={onnx_dtype_name(stash_type)} is not supported (FLOAT or DOUBLE)"
                )
            stash = _STASH_TYPES[stash_type]
        return converted(node, OnnxRangeTyped(stash))

    return convert


for _version in (11, 27):
    register("Range", _version, value_inputs=(0, 1, 2))(_range_converter(_version))
