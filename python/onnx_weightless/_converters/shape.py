"""Shape whose output is int64 even when empty.

onnx2torch's module builds its output with torch.tensor of the selected sizes, which is float32
when none are selected (a scalar's shape, or Shape-15's ``start`` at or past ``end``). Its
selection is right: a Python slice counts negative ``start``/``end`` from the end and clamps them
to ``[0, rank]``, as Shape-15 specifies. The subclass keeps onnx2torch's class, which
meta_forward computes on a data-free stand-in so that shapes stay real.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.shape import OnnxShape
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register


class OnnxShapeInt64(OnnxShape):
    def forward(self, input_tensor: torch.Tensor) -> torch.Tensor:
        return super().forward(input_tensor).to(torch.int64)


@register("Shape", 1, 13, 15)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    module = OnnxShapeInt64(start=node.attributes.get("start", 0), end=node.attributes.get("end"))
    return converted(node, module)
