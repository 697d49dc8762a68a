"""Optional operators: an empty optional is None in the converted module, a full one its tensor or
sequence (a list)."""

from __future__ import annotations

from typing import Any

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, given
from .registry import register

__all__ = ["OnnxOptional", "OnnxOptionalGetElement", "OnnxOptionalHasElement"]


class OnnxOptional(nn.Module, OnnxToTorchModule):
    """An optional holding ``value``; without an input, the empty optional of the ``type`` attribute."""

    def forward(self, value: Any = None) -> Any:
        return value


class OnnxOptionalHasElement(nn.Module, OnnxToTorchModule):
    """Whether the optional holds a value; a tensor or sequence given as is holds one (18 and later)."""

    def forward(self, value: Any = None) -> torch.Tensor:
        return torch.tensor(value is not None)


class OnnxOptionalGetElement(nn.Module, OnnxToTorchModule):
    def forward(self, value: Any) -> Any:
        if value is None:
            raise ValueError("OptionalGetElement of an empty optional")
        return value


def _converter(module_type: type[nn.Module]):
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        del graph
        if not given(node.input_values, 0):  # no input, or an omitted one (''): the empty optional
            return OperationConverterResult(module_type(), OnnxMapping(inputs=(), outputs=tuple(node.output_values)))
        return converted(node, module_type())

    return convert


register("Optional", 15, 28)(_converter(OnnxOptional))
register("OptionalHasElement", 15, 18, 28)(_converter(OnnxOptionalHasElement))
register("OptionalGetElement", 15, 18, 28)(_converter(OnnxOptionalGetElement))
