"""Operators no converter handles become OpaqueOp modules instead of aborting the conversion.

An OpaqueOp keeps what the ONNX node says (op type, domain, version, attributes, subgraphs) and
the output shapes and dtypes ONNX shape inference found, so the rest of the model converts and a
meta forward runs through it. It cannot compute values: called on real tensors it raises
UnsupportedOperatorError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union

import torch
from onnx import AttributeProto, GraphProto, TensorProto, ValueInfoProto, helper
from torch import nn

from ._converters._common import converted
from ._dtypes import torch_dtype
from ._errors import UnsupportedOperatorError

__all__ = ["OpaqueOp", "OutputSpec", "opaque_converter", "output_specs"]

# A dimension: a number, (input position, axis) to copy from an input, or the symbol nothing binds.
Dim = Union[int, tuple[int, int], str]


@dataclass(frozen=True)
class OutputSpec:
    name: str
    dtype: torch.dtype | None  # None: shape inference found no element type
    dims: tuple[Dim, ...] | None  # None: shape inference found no shape

    def shape(self, inputs: tuple[Any, ...], describe: str) -> tuple[int, ...]:
        if self.dims is None:
            raise UnsupportedOperatorError(
                f"{describe} has no converter and ONNX shape inference gives no shape for its output "
                f"{self.name!r}, so the meta forward cannot continue past it"
            )
        shape = []
        for axis, dim in enumerate(self.dims):
            if isinstance(dim, int):
                shape.append(dim)
            elif isinstance(dim, tuple):
                shape.append(int(inputs[dim[0]].shape[dim[1]]))
            else:
                raise UnsupportedOperatorError(
                    f"{describe} has no converter, and dimension {axis} ({dim!r}) of its output {self.name!r} "
                    "is not determined by its inputs' shapes"
                )
        return tuple(shape)


def _dims_of(value: ValueInfoProto | None) -> list[Any] | None:
    if value is None or not value.type.HasField("tensor_type") or not value.type.tensor_type.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in value.type.tensor_type.shape.dim]


def output_specs(
    outputs: tuple[str, ...],
    inputs: tuple[str, ...],
    value_info: Mapping[str, ValueInfoProto],
    initializer_dims: Callable[[str], list[int] | None],
) -> list[OutputSpec]:
    """Output shapes and dtypes from shape inference; symbolic dims bound to an input's dim when
    an input carries the same symbol. ``initializer_dims(name)``: an initializer's dims, or None."""
    symbols: dict[str, tuple[int, int]] = {}
    for position, name in enumerate(inputs):
        dims = initializer_dims(name)
        if dims is None:
            dims = _dims_of(value_info.get(name))
        for axis, dim in enumerate(dims or ()):
            if isinstance(dim, str):
                symbols.setdefault(dim, (position, axis))
    specs = []
    for name in outputs:
        info = value_info.get(name)
        elem_type = info.type.tensor_type.elem_type if info is not None and info.type.HasField("tensor_type") else 0
        dims = _dims_of(info)
        resolved = None
        if dims is not None:
            resolved = tuple(
                dim if isinstance(dim, int) else symbols.get(dim, dim) if dim else "?" for dim in dims
            )
        specs.append(OutputSpec(name, torch_dtype(elem_type, tensor_name=name) if elem_type else None, resolved))
    return specs


def attribute_values(attributes: list[AttributeProto], tensor: Callable[[TensorProto], torch.Tensor]) -> dict[str, Any]:
    """Python values of a node's attributes; tensors go through ``tensor`` (the value policy),
    subgraphs stay GraphProtos (with their weights already left out of the skeleton)."""
    values: dict[str, Any] = {}
    for attribute in attributes:
        if attribute.type == AttributeProto.TENSOR:
            values[attribute.name] = tensor(attribute.t)
        elif attribute.type == AttributeProto.TENSORS:
            values[attribute.name] = [tensor(t) for t in attribute.tensors]
        elif attribute.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
            values[attribute.name] = helper.get_attribute_value(attribute)
        else:
            value = helper.get_attribute_value(attribute)
            if isinstance(value, bytes):
                value = value.decode("utf-8", errors="replace")
            elif isinstance(value, list) and value and isinstance(value[0], bytes):
                value = [v.decode("utf-8", errors="replace") for v in value]
            values[attribute.name] = value
    return values


class OpaqueOp(nn.Module):
    """An ONNX operator without a converter: its description, and outputs of the inferred shapes."""

    def __init__(
        self,
        op_type: str,
        domain: str,
        version: int,
        node_name: str,
        attributes: dict[str, Any],
        outputs: list[OutputSpec],
    ) -> None:
        super().__init__()
        self.op_type = op_type
        self.domain = domain
        self.version = version
        self.node_name = node_name
        self.outputs = outputs
        self.attributes = {}
        for name, value in attributes.items():
            if isinstance(value, torch.Tensor):
                # A buffer, so the tensor follows .to() and shows up in the module's state.
                self.register_buffer(f"attribute_{name}", value)
                self.attributes[name] = f"<buffer attribute_{name}>"
            else:
                self.attributes[name] = value

    @property
    def subgraphs(self) -> dict[str, Any]:
        """Graph-valued attributes (If branches, Loop and Scan bodies), as skeleton GraphProtos."""
        return {
            name: value
            for name, value in self.attributes.items()
            if isinstance(value, GraphProto) or (isinstance(value, list) and value and isinstance(value[0], GraphProto))
        }

    def describe(self) -> str:
        domain = self.domain or "ai.onnx"
        node = f" node {self.node_name!r}" if self.node_name else ""
        return f"{domain}::{self.op_type}-{self.version}{node}"

    def extra_repr(self) -> str:
        return f"{self.describe()}, outputs={[spec.name for spec in self.outputs]}"

    def forward(self, *inputs: Any) -> Any:
        tensors = [value for value in inputs if isinstance(value, torch.Tensor)]
        if tensors and not any(t.device.type == "meta" for t in tensors):
            raise UnsupportedOperatorError(
                f"{self.describe()} has no converter: it can give output shapes but not values. "
                "Run the module on meta inputs (onnx_weightless.meta_forward), or register a converter."
            )
        results = []
        for spec in self.outputs:
            if not spec.name:  # an optional output the node does not produce
                results.append(None)
                continue
            if spec.dtype is None:
                raise UnsupportedOperatorError(
                    f"{self.describe()} has no converter and ONNX shape inference gives no element type "
                    f"for its output {spec.name!r}"
                )
            results.append(torch.empty(spec.shape(inputs, self.describe()), dtype=spec.dtype, device="meta"))
        return results[0] if len(results) == 1 else tuple(results)


def opaque_converter(version: int, tensor: Callable[[TensorProto], torch.Tensor], node: Any, graph: Any) -> Any:
    """Stands in for the converter of an operator nobody converts: an OpaqueOp for ``node`` (an
    onnx2torch OnnxNode), with the output shapes shape inference recorded in ``graph``."""
    initializers = graph.initializers
    specs = output_specs(
        node.output_values,
        node.input_values,
        graph.value_info,
        lambda name: list(initializers[name].proto.dims) if name in initializers else None,
    )
    module = OpaqueOp(
        node.operation_type,
        node.domain,
        version,
        node.name,
        attribute_values(list(node.proto.attribute), tensor),
        specs,
    )
    return converted(node, module)
