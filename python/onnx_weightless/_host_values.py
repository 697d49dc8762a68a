"""Values a graph computes from shapes and small integer constants, computed as Python integers.

ONNX computes shapes as tensors (``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``). Run as
tensors, a module must turn the last one back into Python numbers (``.tolist()``) to reshape with
it, which tracing compilers cannot follow (torch.export stops on a data-dependent guard). Computed
as Python integers from ``x.shape``, the same values are sizes torch's symbolic shapes can track.

A value is a *host value* when it is read as values (``_value_inputs``), is 0-D or 1-D, and is
computed by the operators of ``HOST_OPS`` from the shapes of tensors and from integer constants.
Its Python form is an ``int`` (0-D) or a ``list`` of ints (1-D); a bool or a float where ONNX has
one (a small float constant read as values, such as Resize's scales, or a size cast to float). When
the module runs, the numbers may be torch's symbolic sizes (``SymInt``/``SymFloat``): the functions
here only compute with them, never turn them into plain numbers.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from onnx import GraphProto, NodeProto, TensorProto, helper, numpy_helper

from ._graphs import INLINE_CONSTANT_FORMS

__all__ = ["HOST_OPS", "MULTI_OUTPUT_HOST_OPS", "HostValue", "constant_host_value", "host_attributes", "host_nodes"]

HostValue = Any  # int | bool | list[int | bool]

#: Constants at most this long are host values (shapes, axes, indices, scales; not tables).
MAX_CONSTANT_ELEMENTS = 64
_INTEGER_TYPES = {TensorProto.INT64, TensorProto.INT32, TensorProto.INT16, TensorProto.INT8, TensorProto.UINT8,
                  TensorProto.BOOL}
_FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16}


def _is_float(value: Any) -> bool:
    """A float or torch's symbolic float (not imported here: this module is torch-free)."""
    return isinstance(value, float) or type(value).__name__ == "SymFloat"


def attributes_of(node: NodeProto) -> dict[str, Any]:
    """A node's attributes as plain Python values (what the host functions below are given, and
    what a torch.fx graph can print): a tensor attribute becomes its single value or its list."""
    plain = {}
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if isinstance(value, TensorProto):
            array = numpy_helper.to_array(value)
            value = array.item() if array.size == 1 else array.tolist()
        plain[attribute.name] = value
    return plain


def _elementwise(function: Callable[[Any, Any], Any]) -> Callable[..., HostValue]:
    """``function`` applied with ONNX's broadcasting of a 0-D or 1-D operand."""

    def apply(attributes: dict[str, Any], a: HostValue, b: HostValue) -> HostValue:
        if isinstance(a, list) and isinstance(b, list):
            if len(a) == 1 and len(b) != 1:
                a = a * len(b)
            elif len(b) == 1 and len(a) != 1:
                b = b * len(a)
            if len(a) != len(b):
                raise ValueError(f"operands of lengths {len(a)} and {len(b)} do not broadcast")
            return [function(x, y) for x, y in zip(a, b)]
        if isinstance(a, list):
            return [function(x, b) for x in a]
        if isinstance(b, list):
            return [function(a, y) for y in b]
        return function(a, b)

    return apply


def _division(a: Any, b: Any) -> Any:
    """ONNX's Div: true division of floats; integer division rounds toward zero (C's), not toward
    minus infinity (Python's //)."""
    if _is_float(a) or _is_float(b):
        return a / b
    quotient = abs(a) // abs(b)
    negative = (a < 0) != (b < 0)
    return -quotient if negative else quotient


def _gather(attributes: dict[str, Any], data: HostValue, indices: HostValue) -> HostValue:
    if attributes.get("axis", 0) != 0 or not isinstance(data, list):
        raise ValueError("Gather of a host value: only axis 0 of a 1-D value")
    if isinstance(indices, list):
        return [data[i] for i in indices]
    return data[indices]


def _unsqueeze(attributes: dict[str, Any], data: HostValue, axes: HostValue = None) -> HostValue:
    axes = attributes.get("axes", None) if axes is None else axes
    if isinstance(data, list) or list(axes if isinstance(axes, list) else [axes]) not in ([0], [-1]):
        raise ValueError("Unsqueeze of a host value: only a 0-D value to 1-D")
    return [data]


def _squeeze(attributes: dict[str, Any], data: HostValue, axes: HostValue = None) -> HostValue:
    if not isinstance(data, list) or len(data) != 1:
        raise ValueError("Squeeze of a host value: only a 1-D value of one element")
    return data[0]


def _concat(attributes: dict[str, Any], *parts: HostValue) -> HostValue:
    joined: list[Any] = []
    for part in parts:
        if not isinstance(part, list):
            raise ValueError("Concat of host values: only 1-D values")
        joined += part
    return joined


def _slice(attributes: dict[str, Any], data: HostValue, starts: HostValue = None, ends: HostValue = None,
           axes: HostValue = None, steps: HostValue = None) -> HostValue:
    if starts is None:  # Slice-1: attributes
        starts, ends, axes = attributes.get("starts", []), attributes.get("ends", []), attributes.get("axes", None)
    if not isinstance(data, list) or len(starts) != 1 or (axes is not None and list(axes) not in ([0], [-1])):
        raise ValueError("Slice of a host value: only one axis of a 1-D value")
    step = steps[0] if steps is not None else 1
    if step == 0:
        raise ValueError("Slice step 0")
    # Python's slice clamps as ONNX does, INT64_MAX/MIN included.
    return data[starts[0]:ends[0]:step]


def _cast_one(value: Any, to: int) -> Any:
    # Arithmetic rather than bool()/int()/float(), which would make torch specialise a symbolic size.
    if to == TensorProto.BOOL:
        return value != 0
    if to in _FLOAT_TYPES:
        return value * 1.0
    return math.trunc(value) if _is_float(value) else value


def _cast(attributes: dict[str, Any], data: HostValue) -> HostValue:
    to = attributes.get("to", TensorProto.INT64)
    if to not in _INTEGER_TYPES and to not in _FLOAT_TYPES:
        raise ValueError("Cast of a host value: only to integer, bool and float types")
    return [_cast_one(v, to) for v in data] if isinstance(data, list) else _cast_one(data, to)


def _reshape(attributes: dict[str, Any], data: HostValue, shape: HostValue) -> HostValue:
    """Reshape between 0-D and 1-D (``[-1]``, ``[n]`` or ``[]``)."""
    values = data if isinstance(data, list) else [data]
    if shape == []:
        if len(values) != 1:
            raise ValueError("Reshape of a host value to 0-D: only of one element")
        return values[0]
    if not isinstance(shape, list) or len(shape) != 1 or shape[0] not in (-1, 0, len(values)):
        raise ValueError("Reshape of a host value: only to 1-D or 0-D")
    return values


def _where(attributes: dict[str, Any], condition: HostValue, a: HostValue, b: HostValue) -> HostValue:
    length = max((len(v) for v in (condition, a, b) if isinstance(v, list)), default=None)
    if length is None:
        return a if condition else b
    def spread(v: HostValue) -> list[Any]:
        return v * length if isinstance(v, list) and len(v) == 1 else v if isinstance(v, list) else [v] * length
    return [x if c else y for c, x, y in zip(spread(condition), spread(a), spread(b))]


def _reduce(function: Callable[[Sequence[Any]], Any]) -> Callable[..., HostValue]:
    def apply(attributes: dict[str, Any], data: HostValue, axes: HostValue = None) -> HostValue:
        if not isinstance(data, list):
            raise ValueError("a reduction of a host value: only of a 1-D value")
        reduced = function(data)
        return [reduced] if attributes.get("keepdims", 1) else reduced
    return apply


def _product(values: Sequence[Any]) -> Any:
    result = 1
    for value in values:
        result = result * value
    return result


def _constant_of_shape(attributes: dict[str, Any], shape: HostValue) -> HostValue:
    """A 1-D ConstantOfShape: its length is a size the graph computes (``Shape`` of a 1-D value)."""
    if not isinstance(shape, list) or len(shape) != 1 or not isinstance(shape[0], int):
        raise ValueError("ConstantOfShape as a host value: only a 1-D one of a known length")
    return [attributes.get("value", 0)] * shape[0]


def _split(attributes: dict[str, Any], data: HostValue, split: HostValue = None) -> tuple[HostValue, ...]:
    """Split of a 1-D value into its outputs (``num_outputs``: how many the node has): by the sizes
    given (input or attribute), else into equal parts, the last one smaller (Split-18)."""
    if not isinstance(data, list) or attributes.get("axis", 0) not in (0, -1):
        raise ValueError("Split of a host value: only of a 1-D value")
    sizes = split if split is not None else attributes.get("split")
    if sizes is None:
        count = attributes["num_outputs"]
        part = -(-len(data) // count)
        sizes = [min(part, max(0, len(data) - part * k)) for k in range(count)]
    sizes = sizes if isinstance(sizes, list) else [sizes]
    if sum(sizes) != len(data) or len(sizes) != attributes["num_outputs"]:
        raise ValueError(f"Split of a host value of length {len(data)} into {sizes}")
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    return tuple(data[start:start + size] for start, size in zip(starts, sizes))


def _shape_of_value(attributes: dict[str, Any], value: HostValue) -> HostValue:
    """Shape of a host value: ``[len]`` for a 1-D one, ``[]`` for a 0-D one."""
    return ([len(value)] if isinstance(value, list) else [])[attributes.get("start", 0):attributes.get("end")]


#: op_type -> host implementation: (attributes, *inputs as Python values) -> output as a Python value.
#: Shape and Size are not here: they read a tensor's shape (see the builder).
HOST_OPS: dict[str, Callable[..., HostValue]] = {
    "Identity": lambda attributes, x: x,
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": _concat,
    "Slice": _slice,
    "Cast": _cast,
    "Add": _elementwise(operator.add),
    "Sub": _elementwise(operator.sub),
    "Mul": _elementwise(operator.mul),
    "Div": _elementwise(_division),
    "Mod": _elementwise(operator.mod),
    "Min": _elementwise(min),
    "Max": _elementwise(max),
    "Equal": _elementwise(operator.eq),
    "Less": _elementwise(operator.lt),
    "Greater": _elementwise(operator.gt),
    "And": _elementwise(operator.and_),
    "Or": _elementwise(operator.or_),
    "Where": _where,
    "Reshape": _reshape,
    "Neg": lambda attributes, x: [-v for v in x] if isinstance(x, list) else -x,
    "Abs": lambda attributes, x: [abs(v) for v in x] if isinstance(x, list) else abs(x),
    "Floor": lambda attributes, x: [math.floor(v) for v in x] if isinstance(x, list) else math.floor(x),
    "Ceil": lambda attributes, x: [math.ceil(v) for v in x] if isinstance(x, list) else math.ceil(x),
    "ReduceProd": _reduce(_product),
    "ReduceSum": _reduce(sum),
    "ConstantOfShape": _constant_of_shape,
    "Shape": _shape_of_value,
    "Split": _split,
}

#: Host ops with several outputs: their host function returns a tuple, one value per output.
MULTI_OUTPUT_HOST_OPS = frozenset({"Split"})


def host_attributes(node: NodeProto) -> dict[str, Any]:
    """What a host function is given as attributes: the node's, and for an op of several outputs
    how many the node has (an equal Split divides by it)."""
    attributes = attributes_of(node)
    if node.op_type in MULTI_OUTPUT_HOST_OPS:
        attributes["num_outputs"] = len(node.output)
    return attributes


def constant_host_value(tensor: TensorProto) -> HostValue | None:
    """The Python value of a small 0-D or 1-D integer or float constant, else None."""
    if (tensor.data_type not in _INTEGER_TYPES and tensor.data_type not in _FLOAT_TYPES) or len(tensor.dims) > 1 or tensor.data_location == TensorProto.EXTERNAL:
        return None
    if len(tensor.dims) == 1 and tensor.dims[0] > MAX_CONSTANT_ELEMENTS:
        return None
    array = numpy_helper.to_array(tensor)
    return array.tolist() if array.ndim else array.item()


def _constant_node_value(node: NodeProto) -> HostValue | None:
    if len(node.attribute) != 1:
        return None
    (attribute,) = node.attribute
    if attribute.name == "value":
        return constant_host_value(attribute.t)
    if attribute.name in INLINE_CONSTANT_FORMS:
        value = helper.get_attribute_value(attribute)
        if not isinstance(value, (list, tuple)):
            return value
        return list(value) if len(value) <= MAX_CONSTANT_ELEMENTS else None
    return None


def _computable_when_run(node: NodeProto, inputs: list[HostValue], producers: dict[str, NodeProto],
                         found: dict[str, HostValue], ranks: Mapping[str, int]) -> bool:
    """Whether ``node``, some of whose inputs are known only when the module runs, gives a 0-D or
    1-D value whatever those inputs are (else its converter computes it as a tensor)."""
    if node.op_type == "Reshape":  # to a shape known now, of at most one axis
        return inputs[1] is not None and len(inputs[1] if isinstance(inputs[1], list) else [inputs[1]]) <= 1
    if node.op_type == "ConstantOfShape":  # of a shape of one axis: the Shape of a 1-D value
        producer = producers.get(node.input[0])
        return (producer is not None and producer.op_type == "Shape"
                and (producer.input[0] in found or ranks.get(producer.input[0]) == 1))
    return True


def host_nodes(graph: GraphProto, read_as_values: set[str], ranks: Mapping[str, int] | None = None) -> dict[str, HostValue]:
    """The names of ``graph``'s values (of its own nodes and initializers) that are host values,
    mapped to their value where known at conversion time (constants), else to None.

    A value qualifies when read as values (``read_as_values``: the value-use analysis) and computed
    by Shape/Size or ``HOST_OPS`` from other host values. ``ranks`` (value name -> rank, from shape
    inference) tells which Shapes give one-element values."""
    ranks = ranks or {}
    found: dict[str, HostValue] = {}
    producers = {name: node for node in graph.node for name in node.output}
    for initializer in graph.initializer:
        if initializer.name in read_as_values:
            value = constant_host_value(initializer)
            if value is not None:
                found[initializer.name] = value
    for node in graph.node:
        several = node.op_type in MULTI_OUTPUT_HOST_OPS
        if (node.domain not in ("", "ai.onnx") or (len(node.output) != 1 and not several)
                or not any(name in read_as_values for name in node.output)):
            continue
        if node.op_type == "Constant":
            value = _constant_node_value(node)
            if value is not None:
                found[node.output[0]] = value
        elif node.op_type in HOST_OPS and all(name in found for name in node.input if name):
            inputs = [found[name] if name else None for name in node.input]
            if any(value is None for value, name in zip(inputs, node.input) if name):
                if _computable_when_run(node, inputs, producers, found, ranks):
                    found.update(dict.fromkeys(name for name in node.output if name))  # computed when the module runs
                continue
            try:  # every input known at conversion time: folded into a constant
                folded = HOST_OPS[node.op_type](host_attributes(node), *inputs)
            except (ValueError, IndexError, TypeError, ZeroDivisionError, KeyError):
                continue  # not a host value: its converter computes it as a tensor
            found.update({name: part for name, part in zip(node.output, folded) if name} if several else {node.output[0]: folded})
        elif node.op_type in ("Shape", "Size"):
            found[node.output[0]] = None
    return found
