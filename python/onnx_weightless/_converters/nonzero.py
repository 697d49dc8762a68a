"""NonZero with ONNX's output layout, ``[rank, count]``.

onnx2torch's module returns torch.nonzero's ``[count, rank]``. The input is declared a value input:
the output's shape depends on its values, so it must be real in a meta forward (a constant feeding
NonZero stays real in a weightless conversion).
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.nonzero import OnnxNonZero

from .._adapter import OnnxMapping, OperationConverterResult
from .registry import register


class OnnxNonZeroTransposed(OnnxNonZero):
    def forward(self, input_tensor: torch.Tensor) -> torch.Tensor:
        return super().forward(input_tensor).transpose(0, 1)


@register("NonZero", 13, value_inputs=(0,))
def _(node, graph):
    return OperationConverterResult(
        torch_module=OnnxNonZeroTransposed(),
        onnx_mapping=OnnxMapping(inputs=node.input_values, outputs=node.output_values),
    )
