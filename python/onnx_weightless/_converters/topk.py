"""TopK with ONNX's tie order: of equal values, the lower index comes first.

torch.topk makes no such promise (and does not keep it), so onnx2torch's module can return the
indices of equal values in any order. A stable sort, cut to k, keeps them in input order.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.topk import OnnxTopK
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import TakesPythonValues, converted, values_list
from .registry import register


class OnnxTopKStable(OnnxTopK, TakesPythonValues):
    def forward(self, input_tensor: torch.Tensor, k: torch.Tensor | int) -> tuple[torch.Tensor, torch.Tensor]:
        (count,) = values_list(k)  # k is a value input: real even in a meta forward
        values, indices = torch.sort(input_tensor, dim=self.dim, descending=self.largest, stable=True)
        return values.narrow(self.dim, 0, count), indices.narrow(self.dim, 0, count)


@register("TopK", 10, 11, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    # A sorted output is a valid result for sorted=0 too.
    module = OnnxTopKStable(dim=attributes.get("axis", -1), largest=attributes.get("largest", 1))
    return converted(node, module)
