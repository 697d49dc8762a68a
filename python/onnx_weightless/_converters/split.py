"""Split-13 and Split-18: the parts' sizes from the ``split`` input, or (18) ``num_outputs`` parts of
ceil(n / k) elements with a smaller last one, or (neither given) as many equal parts as the node has
outputs."""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import TakesPythonValues, converted, given, values_list
from .registry import register


class OnnxSplit18(nn.Module, OnnxToTorchModule, TakesPythonValues):
    """ONNX Split into ``parts`` outputs; ``split`` (sizes) is read as values."""

    def __init__(self, axis: int, parts: int, ceil_parts: bool) -> None:
        super().__init__()
        self.axis = axis
        self.parts = parts
        self.ceil_parts = ceil_parts

    def forward(self, x: torch.Tensor, split: torch.Tensor | list[int] | None = None) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if split is not None:
            sizes: int | list[int] = values_list(split)
        elif self.ceil_parts:
            sizes = -(-x.shape[self.axis] // self.parts)
        else:
            sizes = x.shape[self.axis] // self.parts
        outputs = torch.split(x, sizes, dim=self.axis)
        if len(outputs) != self.parts:
            raise ValueError(f"Split of {x.shape[self.axis]} elements gives {len(outputs)} parts, not {self.parts}")
        return outputs[0] if self.parts == 1 else outputs


@register("Split", 18, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    num_outputs = node.attributes.get("num_outputs")
    if num_outputs is not None and given(node.input_values, 1):
        raise ValueError(f"Split node {node.name!r} has both the split input and num_outputs")
    module = OnnxSplit18(node.attributes.get("axis", 0), len(node.output_values), ceil_parts=num_outputs is not None)
    return converted(node, module)


@register("Split", 13, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    """Split-13: the sizes as an input, or equal parts; through the module above, which takes the
    sizes as Python numbers in an integer-shape conversion (onnx2torch's reads them from a tensor)."""
    return converted(node, OnnxSplit18(node.attributes.get("axis", 0), len(node.output_values), ceil_parts=False))
