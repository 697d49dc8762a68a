"""GatherElements with negative indices, which ONNX counts from the end of the axis.

onnx2torch's module hands the indices to torch.gather, which refuses negative ones.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.gather import OnnxGatherElements

from .._adapter import OnnxMapping, OperationConverterResult
from .registry import register


class OnnxGatherElementsWrapping(OnnxGatherElements):
    def forward(self, input_tensor: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        size = input_tensor.shape[self._axis]
        return super().forward(input_tensor, torch.where(indices < 0, indices + size, indices))


@register("GatherElements", 11, 13)
def _(node, graph):
    return OperationConverterResult(
        torch_module=OnnxGatherElementsWrapping(axis=node.attributes.get("axis", 0)),
        onnx_mapping=OnnxMapping(inputs=node.input_values, outputs=node.output_values),
    )
