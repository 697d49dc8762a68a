"""The shapes of the values a Loop carries, given to its body where the exporter left them out.

ONNX shape inference sizes a Loop body's values from the types its inputs declare, and exporters
often declare a carried value's type without a shape (onnxscript), or with dimensions they named
themselves (tf2onnx's ``unk__97``, paddle2onnx's ``DynamicDimension.2``), which no input gives. A
carried value starts as the Loop's input of the same position, whose shape inference knows: this
gives that shape to the body's input (and forgets the body's own made-up dimensions), and keeps it
only if the body then hands the value back with that same shape, so that one shape holds for
every iteration. The C++ CLI does the same (cpp/cli/shape_inference.cpp).
"""

from __future__ import annotations

import copy

import onnx

__all__ = ["with_loop_shapes"]


def _input_symbols(graph: onnx.GraphProto) -> set[str]:
    return {d.dim_param for value in graph.input for d in value.type.tensor_type.shape.dim if d.dim_param}


def _sized(value: onnx.ValueInfoProto, symbols: set[str]) -> bool:
    tensor = value.type.tensor_type
    return value.type.HasField("tensor_type") and tensor.HasField("shape") and all(
        d.HasField("dim_value") or d.dim_param in symbols for d in tensor.shape.dim)


def _same_shape(a: onnx.ValueInfoProto, b: onnx.ValueInfoProto) -> bool:
    x, y = a.type.tensor_type, b.type.tensor_type
    if not (x.HasField("shape") and y.HasField("shape")) or len(x.shape.dim) != len(y.shape.dim):
        return False
    return all((p.HasField("dim_value") and q.HasField("dim_value") and p.dim_value == q.dim_value)
               or (bool(p.dim_param) and p.dim_param == q.dim_param) for p, q in zip(x.shape.dim, y.shape.dim))


def _body(node: onnx.NodeProto) -> onnx.GraphProto | None:
    return next((a.g for a in node.attribute if a.name == "body" and a.type == onnx.AttributeProto.GRAPH), None)


def with_loop_shapes(model: onnx.ModelProto, inferred: onnx.ModelProto, infer) -> onnx.ModelProto:
    """``inferred`` (``model`` after ``infer``), or ``infer`` of a copy of ``model`` whose Loops'
    bodies were given their carried values' shapes, when every one of those holds."""
    graph = inferred.graph
    symbols = _input_symbols(graph)
    types = {v.name: v for v in [*graph.input, *graph.value_info, *graph.output]}
    seeded = copy.deepcopy(model)
    seeds: list[tuple[int, int]] = []
    for index, node in enumerate(seeded.graph.node):
        body = _body(node) if node.op_type == "Loop" and node.domain in ("", "ai.onnx") else None
        if body is None:
            continue
        for k, outer in enumerate(node.input[2:]):
            if k + 2 >= len(body.input) or outer not in types:
                continue
            inner = body.input[k + 2]
            if _sized(types[outer], symbols) and not _sized(inner, symbols):
                inner.type.CopyFrom(types[outer].type)
                seeds.append((index, k))
        if seeds and seeds[-1][0] == index:
            # What the exporter declared inside the body is inferred again from the seeded inputs.
            del body.value_info[:]
            for output in body.output:
                for dim in output.type.tensor_type.shape.dim:
                    if dim.dim_param and dim.dim_param not in symbols:
                        dim.Clear()
    if not seeds:
        return inferred
    try:
        again = infer(seeded)
    except Exception:  # noqa: BLE001 - the first inference stands
        return inferred
    for index, k in seeds:
        body = _body(again.graph.node[index])
        if body is None or k + 1 >= len(body.output) or not _same_shape(body.input[k + 2], body.output[k + 1]):
            return inferred
    return again
