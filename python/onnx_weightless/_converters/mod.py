"""Mod-28: as Mod-13 (wide unsigned types included), with the sign of a zero result defined
(that of the divisor, for fmod=0)."""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register
from .unsigned import OnnxModUnsigned


class OnnxModSignedZero(OnnxModUnsigned):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        result = super().forward(x, y)
        if self.fmod or not result.is_floating_point():
            return result  # fmod=1 lets a zero keep either sign; integers have no signed zero
        return torch.where(result == 0, torch.copysign(torch.zeros_like(result), y), result)


@register("Mod", 28)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return converted(node, OnnxModSignedZero(fmod=node.attributes.get("fmod", 0)))
