"""Walking ONNX graphs that hold graphs: If's branches, Loop's and Scan's bodies.

A subgraph may read values of the graphs around it (outer scope) by name; ONNX names are unique
across a graph and all its subgraphs, so one name means one value wherever it is read.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from onnx import AttributeProto, GraphProto, ModelProto, NodeProto, helper, numpy_helper

__all__ = ["INLINE_CONSTANT_FORMS", "constants_as_tensors", "name_unnamed_dims", "node_subgraphs", "outer_names",
           "symbol_name", "walk_graphs"]

#: Constant's scalar and list attributes, and the tensor each stands for.
INLINE_CONSTANT_FORMS = {"value_int": np.int64, "value_ints": np.int64, "value_float": np.float32, "value_floats": np.float32}


def symbol_name(input_name: str, axis: int, dim_param: str | None) -> str:
    """The symbol of an input's symbolic dimension (inspect's, propagate_shapes', export()'s): its
    ``dim_param``, or ``<input>_<axis>`` where the model leaves the dimension unnamed."""
    return dim_param if dim_param else f"{input_name}_{axis}"


def name_unnamed_dims(graph: GraphProto) -> int:
    """Gives each dimension of ``graph``'s inputs that is neither a number nor named its
    ``symbol_name``, so that shape inference carries it as a symbol; returns how many."""
    initializers = {initializer.name for initializer in graph.initializer}
    named = 0
    for value in graph.input:
        if value.name in initializers or not value.type.tensor_type.HasField("shape"):
            continue
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if not dim.HasField("dim_value") and not dim.dim_param:
                dim.dim_param = symbol_name(value.name, axis, None)
                named += 1
    return named


def node_subgraphs(node: NodeProto) -> Iterator[GraphProto]:
    """The graphs ``node``'s attributes hold, in attribute order."""
    for attribute in node.attribute:
        if attribute.type == AttributeProto.GRAPH:
            yield attribute.g
        elif attribute.type == AttributeProto.GRAPHS:
            yield from attribute.graphs


def walk_graphs(graph: GraphProto) -> Iterator[GraphProto]:
    """``graph`` and every graph nested in it, depth first."""
    yield graph
    for node in graph.node:
        if node.attribute:  # most nodes have none: no generator for them (this walk runs per conversion)
            for subgraph in node_subgraphs(node):
                yield from walk_graphs(subgraph)


def outer_names(graph: GraphProto) -> list[str]:
    """The values ``graph`` (or a subgraph of it) reads but does not define, in order of first use."""
    defined = {value.name for value in graph.input}
    defined.update(initializer.name for initializer in graph.initializer)
    defined.update(sparse.values.name for sparse in graph.sparse_initializer)
    found: dict[str, None] = {}
    for node in graph.node:
        read = list(node.input)
        for subgraph in node_subgraphs(node):
            read += outer_names(subgraph)
        found.update((name, None) for name in read if name and name not in defined)
        defined.update(output for output in node.output if output)
    found.update((value.name, None) for value in graph.output if value.name not in defined)
    return list(found)


def constants_as_tensors(graph: GraphProto) -> None:
    """Rewrites, in place, each Constant node of ``graph`` (not of its subgraphs) given as
    ``value_int(s)``/``value_float(s)`` as the same constant given as a ``value`` tensor: onnx2torch's
    converters read a constant input as a tensor (``axes.tolist()``) whatever form it has."""
    for node in graph.node:
        if node.op_type != "Constant" or node.domain not in ("", "ai.onnx") or len(node.attribute) != 1:
            continue
        (attribute,) = node.attribute
        dtype = INLINE_CONSTANT_FORMS.get(attribute.name)
        if dtype is None:
            continue
        tensor = numpy_helper.from_array(np.asarray(helper.get_attribute_value(attribute), dtype=dtype))
        del node.attribute[:]
        node.attribute.append(AttributeProto(name="value", type=AttributeProto.TENSOR, t=tensor))


#: Models serialized whole for a structural check up to this size; past it (weights held in the
#: proto), the check reads a copy without the tensors' payloads.
_WHOLE_UP_TO = 64 << 20


def structure_bytes(model: ModelProto) -> bytes:
    """``model`` serialized for the C++ structural check: whole when small (a skeleton), else its
    graph with each initializer reduced to name, type and dims."""
    if model.ByteSize() <= _WHOLE_UP_TO:
        return model.SerializeToString()
    light = ModelProto()
    light.ir_version = model.ir_version
    light.opset_import.extend(model.opset_import)
    light.functions.extend(model.functions)
    graph, source = light.graph, model.graph
    graph.name = source.name
    for field in ("node", "input", "output", "value_info"):
        getattr(graph, field).extend(getattr(source, field))
    for tensor in source.initializer:
        graph.initializer.add(name=tensor.name, data_type=tensor.data_type, dims=tensor.dims)
    return light.SerializeToString()


#: Model-local functions may call one another at most this deep (onnx's own inliner's limit).
MOST_NESTED_CALLS = 100


def unbounded_function_calls(model: ModelProto) -> str | None:
    """Why the model's local functions cannot be followed: one calls itself through others, or
    calls nest deeper than MOST_NESTED_CALLS (older onnx releases crash inlining or inferring
    through them, and a conversion would never end); None when they can."""
    local = {(f.domain, f.name): f for f in model.functions}
    calls = {}
    for key, function in local.items():
        nodes = [n for n in function.node]
        nodes += [inner for n in function.node for g in node_subgraphs(n) for held in walk_graphs(g) for inner in held.node]
        calls[key] = sorted({(n.domain, n.op_type) for n in nodes} & local.keys())
    depth: dict[tuple[str, str], int] = {}
    for root in local:
        # Depth-first, without recursion: (function, index of its next call, the path to it).
        stack, on_path = [(root, 0)], {root}
        while stack:
            key, next_call = stack[-1]
            if key in depth:
                stack.pop()
                on_path.discard(key)
                continue
            if next_call < len(calls[key]):
                stack[-1] = (key, next_call + 1)
                callee = calls[key][next_call]
                if callee in on_path:
                    return f"the model-local function {callee[0]}::{callee[1]} calls itself"
                if callee not in depth:
                    stack.append((callee, 0))
                    on_path.add(callee)
                continue
            depth[key] = 1 + max((depth[c] for c in calls[key]), default=0)
            if depth[key] > MOST_NESTED_CALLS:
                return f"model-local functions call one another more than {MOST_NESTED_CALLS} deep"
            stack.pop()
            on_path.discard(key)
    return None
