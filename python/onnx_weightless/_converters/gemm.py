"""Gemm whose nn.Linear holds the model's own weight and bias tensors, not products of them.

onnx2torch's converter gives its nn.Linear ``weight * alpha`` and ``bias * beta`` even when both
factors are 1: a copy of every fully connected layer's weights (doubling them in memory when the
weights are real) that no longer shares storage with the ONNX tensor, so a weight shared by two
layers cannot be tied (_shared_tensors). With alpha = beta = 1 the module takes the tensors
themselves (transposed as a view where transB = 0); everything else is onnx2torch's conversion.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import onnx2torch_convert
from .registry import register


@register("Gemm", 1, 6, 7, 9, 11, 13, replace=True)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    result = onnx2torch_convert(node, graph, 13)  # one converter serves onnx2torch's 9, 11 and 13
    attributes = node.attributes
    if not isinstance(result.torch_module, nn.Linear) or attributes.get("alpha", 1.0) != 1.0 or attributes.get("beta", 1.0) != 1.0:
        return result
    inputs = node.input_values
    weight = graph.initializers[inputs[1]].to_torch()
    if attributes.get("transB", 0) == 0:
        weight = weight.T
    with torch.no_grad():
        result.torch_module.weight.data = weight
        if result.torch_module.bias is not None:
            result.torch_module.bias.data = graph.initializers[inputs[2]].to_torch()
    return result
