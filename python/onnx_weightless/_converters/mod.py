"""Mod-28: as Mod-13 (wide unsigned types included), with the sign of a zero result defined
(that of the divisor, for fmod=0)."""

from __future__ import annotations

import torch
from .._adapter import OnnxMapping, OperationConverterResult
from .registry import register
from .unsigned import OnnxModUnsigned


class OnnxModSignedZero(OnnxModUnsigned):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        result = super().forward(x, y)
        if self.fmod or not result.is_floating_point():
            return result  # fmod=1 lets a zero keep either sign; integers have no signed zero
        return torch.where(result == 0, torch.copysign(torch.zeros_like(result), y), result)


@register("Mod", 28)
def _(node, graph):
    return OperationConverterResult(
        torch_module=OnnxModSignedZero(fmod=node.attributes.get("fmod", 0)),
        onnx_mapping=OnnxMapping(inputs=node.input_values, outputs=node.output_values),
    )
