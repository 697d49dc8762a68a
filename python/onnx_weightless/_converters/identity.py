"""Identity-14 and 16 (and the versions aliased to 16), which pass sequences and optionals too: a
tensor is copied, as onnx2torch's module does, and a sequence (a list, never changed in place) or
an empty optional (None) is passed on; onnx2torch's module calls ``clone`` on them."""

from __future__ import annotations

from typing import Any

from onnx2torch.node_converters.identity import OnnxCopyIdentity
from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register


class OnnxAnyIdentity(OnnxCopyIdentity):
    def forward(self, x: Any) -> Any:
        return x if x is None or isinstance(x, list) else x.clone()


@register("Identity", 14, 16)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    return converted(node, OnnxAnyIdentity())
