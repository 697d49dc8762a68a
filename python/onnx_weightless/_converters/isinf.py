"""IsInf honouring ``detect_positive`` and ``detect_negative``.

onnx2torch's module detects both infinities whatever the attributes say. Nodes that keep both
defaults (1) keep onnx2torch's converter.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.isinf import OnnxIsInf
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, onnx2torch_convert
from .registry import register


class OnnxIsInfSigned(OnnxIsInf):
    def __init__(self, detect_positive: bool, detect_negative: bool) -> None:
        super().__init__()
        self.detect_positive = detect_positive
        self.detect_negative = detect_negative

    def forward(self, input_tensor: torch.Tensor) -> torch.Tensor:
        if self.detect_positive:
            return torch.isposinf(input_tensor)
        if self.detect_negative:
            return torch.isneginf(input_tensor)
        return torch.zeros_like(input_tensor, dtype=torch.bool)


@register("IsInf", 10)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    positive = bool(node.attributes.get("detect_positive", 1))
    negative = bool(node.attributes.get("detect_negative", 1))
    if positive and negative:
        return onnx2torch_convert(node, graph, 10)
    return converted(node, OnnxIsInfSigned(positive, negative))
