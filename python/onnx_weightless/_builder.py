"""Builds the torch.fx GraphModule of an ONNX graph, node by node, with onnx2torch's converters,
ours, and opaque modules for operators neither has.

The graph is laid out as onnx2torch lays it out (one submodule per node, named after it;
initializers as buffers ``initializers.onnx_initializer_<k>`` numbered in order of first use), with
two differences: an initializer used by several nodes is one buffer, not a copy per use, and the
outputs are the graph's output values in order (a tuple when there are several).
"""

from __future__ import annotations

import inspect
import re
from operator import getitem
from typing import Any, NamedTuple

from collections.abc import Mapping, Sequence

import onnx
from onnx import GraphProto, ModelProto
from torch import fx, nn

from . import _adapter
from ._converters import lookup
from ._converters._common import TakesPythonValues
from ._converters.registry import normalize_domain
from ._dtypes import torch_dtype
from ._errors import FormatError, UnsupportedOperatorError
from ._graph_module import graph_module
from ._graphs import constants_as_tensors, walk_graphs
from ._host_values import MULTI_OUTPUT_HOST_OPS, attributes_of, host_attributes, host_nodes
from ._integer_forms import INTEGER_FORMS, host_apply, host_shape, host_size, host_tensor, integer_apply
from ._progress import Progress
from ._session import Conversion
from ._shared_tensors import TENSORS_NOT_HELD, not_held, onnx_tensors, tie
from ._sequence_scans import sequence_scans
from ._shape_inference import infer_shapes
from ._value_inputs import value_uses

__all__ = ["ONNX_INPUT", "ONNX_NODE", "ONNX_OUTPUTS", "OnnxInput", "build_graph_module", "build_subgraph"]

#: fx node meta keys: a placeholder's ONNX graph input (an OnnxInput); a module call's ONNX node
#: name (onnx2torch's unique name when the node has none) and output names.
ONNX_INPUT = "onnx_input"
ONNX_NODE = "onnx_node"
ONNX_OUTPUTS = "onnx_outputs"


class OnnxInput(NamedTuple):
    """An ONNX graph input as declared: ``dims`` holds an int per fixed dimension, the symbol's
    name for a symbolic one, None where the dimension is unknown (``dims`` is None without a shape)."""

    name: str
    elem_type: int
    dims: tuple[int | str | None, ...] | None


def _input_spec(value: onnx.ValueInfoProto) -> OnnxInput:
    tensor_type = value.type.tensor_type
    if not tensor_type.HasField("shape"):
        return OnnxInput(value.name, tensor_type.elem_type, None)
    dims = tuple(
        dim.dim_value if dim.HasField("dim_value") else dim.dim_param if dim.HasField("dim_param") else None
        for dim in tensor_type.shape.dim
    )
    return OnnxInput(value.name, tensor_type.elem_type, dims)


class _Initializers(nn.Module):
    """Holds the graph's initializers as buffers."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the initializer container is not callable")


def _infer_shapes(model: ModelProto) -> ModelProto:
    try:
        return infer_shapes(model)
    except Exception:  # noqa: BLE001 - as onnx2torch does: convert without inferred shapes
        inferred = ModelProto()
        inferred.CopyFrom(model)
        return inferred


#: Characters a submodule name may not hold: fx writes ``getattr(self, "<name>")`` into the
#: code it generates, unescaped, so a quote, a backslash or a control character would break it.
_NOT_IN_MODULE_NAMES = re.compile(r'["\\\x00-\x1f\x7f]')


def _module_name(name: str, taken: set[str]) -> str:
    """``name`` as a submodule name: torch refuses dots, which domains such as com.microsoft
    bring into onnx2torch's node names, and fx's code generation what _NOT_IN_MODULE_NAMES holds."""
    base = _NOT_IN_MODULE_NAMES.sub("_", name.replace(".", "/"))
    candidate, suffix = base, 0
    while candidate in taken:
        suffix += 1
        candidate = f"{base}_{suffix}"
    taken.add(candidate)
    return candidate


def _strict_error(unsupported: dict[str, list[str]]) -> UnsupportedOperatorError:
    lines = []
    for operator, nodes in sorted(unsupported.items()):
        shown = ", ".join(repr(n) for n in nodes[:3]) + (f" and {len(nodes) - 3} more" if len(nodes) > 3 else "")
        lines.append(f"  {operator}: {len(nodes)} node(s), {shown}")
    return UnsupportedOperatorError(
        f"{len(unsupported)} operator(s) have no converter:\n" + "\n".join(lines) + "\n"
        "Convert with strict=False to keep them as opaque modules (shapes from ONNX shape inference), "
        "or register a converter.",
        tuple(sorted(unsupported)),
    )


def build_graph_module(
    model: ModelProto,
    conversion: Conversion,
    *,
    strict: bool = False,
    save_input_names: bool = False,
    attach_onnx_mapping: bool = False,
    progress: bool | None = None,
    module_class: type[fx.GraphModule] | None = None,
) -> fx.GraphModule:
    """``conversion`` supplies tensors under the value policy and runs each converter in the mode
    its operator's record asks for. ``progress``: see _progress.Progress. ``module_class``: the
    GraphModule class of the result (a subclass of ``GraphModuleBase``; its branches and bodies are
    plain ones)."""
    conversion.share_tensors = True
    if model.ir_version < 3:
        raise FormatError(f"ir_version {model.ir_version}: convert reads ONNX IR version 3 (ONNX 1.0) and newer")
    model = _infer_shapes(model)
    unsupported = _unsupported(model.graph, conversion.opsets)
    if strict and unsupported:
        raise _strict_error(unsupported)
    gm = _build_graph(model.graph, conversion, save_input_names, attach_onnx_mapping, progress, module_class)
    gm.meta[TENSORS_NOT_HELD] = not_held(gm, onnx_tensors(model.graph), conversion.storages())
    return gm


def build_subgraph(
    conversion: Conversion, body: GraphProto, outer: Sequence[str], outer_info: Mapping[str, onnx.ValueInfoProto]
) -> fx.GraphModule:
    """An If branch or a Loop/Scan body as a GraphModule taking its own inputs, then the values of
    enclosing graphs it reads (``outer``), in that order."""
    graph = GraphProto()
    graph.CopyFrom(body)
    for name in outer:
        graph.input.append(outer_info[name] if name in outer_info else onnx.ValueInfoProto(name=name))
    return _build_graph(graph, conversion, save_input_names=False, attach_onnx_mapping=False, progress=False)


def _unsupported(graph: GraphProto, opsets: Mapping[str, int]) -> dict[str, list[str]]:
    """Operator -> the nodes (of the graph and its subgraphs) no converter handles."""
    unsupported: dict[str, list[str]] = {}
    for held in walk_graphs(graph):
        for position, node in enumerate(held.node):
            domain = normalize_domain(node.domain)
            if domain not in opsets:
                # An ONNX rule (the checker's too): without it, which version of the operator is meant is unknown.
                raise FormatError(
                    f"node {node.name or position!r} ({node.op_type}) is in domain {domain or 'ai.onnx'!r}, "
                    "which the model's opset_import does not list"
                )
            record = lookup(domain, node.op_type, opsets[domain])
            if record.converter is None:
                unsupported.setdefault(str(record.op), []).append(node.name or f"#{position}")
    return unsupported


_HOST_DTYPES = {onnx.TensorProto.INT32: "int32", onnx.TensorProto.BOOL: "bool", onnx.TensorProto.FLOAT: "float32",
                onnx.TensorProto.DOUBLE: "float64", onnx.TensorProto.FLOAT16: "float16"}


def _host_dtype(value_name: str, onnx_graph: Any) -> str:
    info = onnx_graph.value_info.get(value_name)
    elem_type = info.type.tensor_type.elem_type if info is not None else onnx.TensorProto.INT64
    return _HOST_DTYPES.get(elem_type, "int64")


def _integer_attributes(node: Any, onnx_graph: Any) -> dict[str, Any]:
    """The node's attributes as the integer forms take them: plain Python values and dtypes."""
    attributes = attributes_of(node.proto)
    if node.operation_type == "ConstantOfShape":
        tensor = next((a.t for a in node.proto.attribute if a.name == "value"), None)
        attributes.setdefault("value", 0.0)
        attributes["dtype"] = torch_dtype(tensor.data_type if tensor is not None else onnx.TensorProto.FLOAT)
    elif node.operation_type == "Range":
        info = onnx_graph.value_info.get(node.output_values[0])
        attributes["dtype"] = torch_dtype(info.type.tensor_type.elem_type if info is not None else onnx.TensorProto.INT64)
    return attributes


def _emit_integer_form(node: Any, onnx_graph: Any, record: Any, host: Mapping[str, Any], host_value: Any, value: Any,
                       torch_graph: fx.Graph, nodes: dict[str, fx.Node], host_forms: dict[str, fx.Node]) -> bool:
    """Emits ``node`` computing with Python integers, if it is a host op producing a host value or
    an operator with an integer form reading one; returns whether it did."""
    inputs = node.input_values
    op_type = node.operation_type
    if op_type in MULTI_OUTPUT_HOST_OPS and any(name in host and host[name] is None for name in node.output_values):
        results = torch_graph.call_function(host_apply, (op_type, host_attributes(node.proto),
                                                         *(host_value(name) if name else None for name in inputs)))
        for index, name in enumerate(node.output_values):
            if name:
                host_forms[name] = torch_graph.call_function(getitem, (results, index))
        return True
    output = node.output_values[0] if len(node.output_values) == 1 else None
    if output in host and host[output] is None:
        if op_type == "Shape" and inputs[0] not in host:
            attributes = attributes_of(node.proto)
            host_forms[output] = torch_graph.call_function(
                host_shape, (value(inputs[0]), attributes.get("start"), attributes.get("end")))
        elif op_type == "Size":
            host_forms[output] = torch_graph.call_function(host_size, (value(inputs[0]),))
        else:
            arguments = tuple(host_value(name) if name else None for name in inputs)
            host_forms[output] = torch_graph.call_function(host_apply, (op_type, host_attributes(node.proto), *arguments))
        return True
    if op_type not in INTEGER_FORMS or node.domain not in ("", "ai.onnx"):
        return False
    positions = record.traits.value_inputs
    if not any(position < len(inputs) and inputs[position] in host for position in positions):
        return False
    arguments = tuple(host_value(name) if position in positions and name in host else value(name) if name else None
                      for position, name in enumerate(inputs))
    nodes[node.unique_name] = torch_graph.call_function(
        integer_apply, (op_type, _integer_attributes(node, onnx_graph), *arguments))
    nodes[node.unique_name].meta[ONNX_NODE] = node.name or node.unique_name
    nodes[node.unique_name].meta[ONNX_OUTPUTS] = tuple(node.output_values)
    return True


def _python_value_positions(module: nn.Module, record: Any, node: Any, mapping: Any, host: Mapping[str, Any]) -> set[int]:
    """The input positions at which ``module`` is given a host value as Python numbers: its value
    inputs that are host values, if it takes them so (``TakesPythonValues``)."""
    if not host or not isinstance(module, TakesPythonValues):
        return set()
    value_inputs = record.traits.value_inputs_of(node.proto)
    names = [node.input_values[p] for p in value_inputs if p < len(node.input_values)]
    if tuple(mapping.inputs) == tuple(node.input_values):
        positions = [p for p in value_inputs if p < len(mapping.inputs)]
    else:  # the module takes other inputs too (a Loop's outer values): the first place each is given
        positions = [list(mapping.inputs).index(name) for name in names if name in mapping.inputs]
    return {position for position in positions if mapping.inputs[position] in host}


def _ranks(onnx_graph: Any) -> dict[str, int]:
    """Value name -> rank, where shape inference gave one."""
    return {name: len(info.type.tensor_type.shape.dim) for name, info in onnx_graph.value_info.items()
            if info.type.HasField("tensor_type") and info.type.tensor_type.HasField("shape")}


def _takes_varargs(module: nn.Module) -> bool:
    return any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in inspect.signature(module.forward).parameters.values())


def _build_graph(
    graph_proto: GraphProto,
    conversion: Conversion,
    save_input_names: bool,
    attach_onnx_mapping: bool,
    progress: bool | None,
    module_class: type[fx.GraphModule] | None = None,
) -> fx.GraphModule:
    opsets = conversion.opsets
    initializer_names = {initializer.name for initializer in graph_proto.initializer}
    kept_inputs = [value for value in graph_proto.input if value.name not in initializer_names]
    del graph_proto.input[:]
    graph_proto.input.extend(kept_inputs)
    constants_as_tensors(graph_proto)
    if conversion.integer_shapes:
        sequence_scans(graph_proto)
    onnx_graph = _adapter.OnnxGraph(graph_proto)
    records = {
        name: lookup(node.domain, node.operation_type, opsets[normalize_domain(node.domain)])
        for name, node in onnx_graph.nodes.items()
    }

    torch_graph = fx.Graph()
    root = nn.Module()
    initializers = _Initializers()
    root.add_module("initializers", initializers)
    value_type = _adapter.ValueType
    nodes: dict[str, fx.Node] = {}  # onnx node unique name -> its fx node
    outputs_of: dict[tuple[str, int], fx.Node] = {}  # (node, output index) -> getitem node
    buffers: dict[str, fx.Node] = {}  # initializer name -> get_attr node

    placeholders: dict[str, fx.Node] = {}
    for position, name in enumerate(onnx_graph.input_values, 1):
        if save_input_names and not name.isidentifier():
            raise ValueError(f"input name {name!r} cannot name a placeholder of a torch.fx.GraphModule")
        placeholders[name] = torch_graph.placeholder(name if save_input_names else f"input_{position}")
        placeholders[name].meta[ONNX_INPUT] = _input_spec(graph_proto.input[position - 1])

    def initializer(value_name: str) -> fx.Node:
        # The buffer itself is registered once every converter has run (conversion.buffer).
        found = buffers.get(value_name)
        if found is None:
            found = buffers[value_name] = torch_graph.get_attr(f"initializers.onnx_initializer_{len(buffers)}")
        return found

    def node_output(value_name: str) -> fx.Node:
        producer, index = onnx_graph.value_as_node_output(value_name)
        produced = nodes.get(producer.unique_name)
        if produced is None:
            raise FormatError(
                f"value {value_name!r} is read before node {producer.unique_name!r} ({producer.operation_type}) "
                "produces it: an ONNX graph lists its nodes in topological order"
            )
        if len(producer.output_values) == 1:
            return produced
        key = (producer.unique_name, index)
        if key not in outputs_of:
            outputs_of[key] = torch_graph.call_function(getitem, args=(produced, index))
        return outputs_of[key]

    # Integer shapes (Conversion.integer_shapes): values computed as Python integers, by name.
    host = host_nodes(graph_proto, set(value_uses(graph_proto, opsets)), _ranks(onnx_graph)) if conversion.integer_shapes else {}
    host_forms: dict[str, fx.Node] = {}  # host value -> the fx node computing its Python form
    host_tensors: dict[str, fx.Node] = {}  # host value -> its tensor form, for operators computing with it

    def host_value(value_name: str) -> Any:
        if value_name in host_forms:
            return host_forms[value_name]
        if host[value_name] is None:
            raise FormatError(f"value {value_name!r} is read before the node computing it")
        return host[value_name]

    def value(value_name: str) -> fx.Node | None:
        if not value_name:  # a skipped optional input (onnx2torch would look for a node output "")
            return None
        if value_name in host_forms:
            if value_name not in host_tensors:
                host_tensors[value_name] = torch_graph.call_function(
                    host_tensor, (host_forms[value_name], _host_dtype(value_name, onnx_graph)))
            return host_tensors[value_name]
        kind = onnx_graph.value_type(value_name)
        if kind == value_type.GRAPH_INPUT:
            return placeholders[value_name]
        if kind == value_type.NODE_OUTPUT:
            return node_output(value_name)
        if kind == value_type.GRAPH_INITIALIZER:
            return initializer(value_name)
        if kind == value_type.EMPTY:
            return None
        raise FormatError(f"value {value_name!r} is read but is no graph input, initializer or node output")

    module_names: set[str] = {"initializers"}
    shown = Progress("converting", len(onnx_graph.nodes), "nodes", progress)
    for done, (name, node) in enumerate(onnx_graph.nodes.items()):
        shown.update(done)
        torch_module, mapping = conversion.run(records[name], node, onnx_graph)
        if host and _emit_integer_form(node, onnx_graph, records[name], host, host_value, value, torch_graph, nodes, host_forms):
            # The module and the initializers it would read are registered all the same, in its
            # order, so that state names are those of the default conversion (materialize matches
            # by name); the forward computes with the integer form.
            module_name = _module_name(name, module_names)
            root.add_module(module_name, torch_module)
            for state_name, _ in [*torch_module.named_parameters(), *torch_module.named_buffers()]:
                torch_graph.get_attr(f"{module_name}.{state_name}")  # kept in the GraphModule, not read
            for input_name in mapping.inputs:
                if input_name and onnx_graph.value_type(input_name) == value_type.GRAPH_INITIALIZER:
                    initializer(input_name)
            continue
        if attach_onnx_mapping:
            torch_module.onnx_mapping = mapping
        module_name = _module_name(name, module_names)
        root.add_module(module_name, torch_module)
        as_python = _python_value_positions(torch_module, records[name], node, mapping, host)
        for input_name in (mapping.inputs[position] for position in as_python):
            if onnx_graph.value_type(input_name) == value_type.GRAPH_INITIALIZER:
                initializer(input_name)  # registered as in the default conversion, not read
        args = [host_value(input_name) if position in as_python else value(input_name)
                for position, input_name in enumerate(mapping.inputs)]
        kwargs = {}
        if None in args and not _takes_varargs(torch_module):
            # Skipped optional inputs: pass the rest by keyword (a module taking *inputs gets None).
            first = args.index(None)
            parameters = tuple(inspect.signature(torch_module.forward).parameters)[first : len(args)]
            kwargs = {key: arg for key, arg in zip(parameters, args[first:]) if arg is not None}
            args = args[:first]
        nodes[name] = torch_graph.call_module(module_name, args=tuple(args), kwargs=kwargs)
        nodes[name].meta[ONNX_NODE] = node.name or node.unique_name
        nodes[name].meta[ONNX_OUTPUTS] = tuple(mapping.outputs)

    shown.close()
    results = [value(output_name) for output_name in onnx_graph.output_values]
    for value_name, get_attr in buffers.items():
        proto = onnx_graph.initializers[value_name].proto
        initializers.register_buffer(get_attr.target.rpartition(".")[2], conversion.buffer(proto))
    torch_graph.output(results[0] if len(results) == 1 else tuple(results))
    torch_graph.lint()
    tie(root)
    return graph_module(root, torch_graph, module_class)

