"""Per-thread conversion state and the replacements the adapter installs.

A Session is opened by ``convert`` and by ``weightless_onnx_loader``; it lives in a ContextVar,
so each thread (and each nested context) sees only its own. Replacements fall back to the
originals when the calling thread has no session.
"""

from __future__ import annotations

import contextvars
import os
from contextlib import contextmanager
from functools import partial
from dataclasses import dataclass, field
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Iterator

import onnx
import onnx2torch.converter
import onnx2torch.onnx_tensor
import torch
from onnx import GraphProto, ModelProto, TensorProto
from torch import fx

from . import _adapter, _core
from ._converters import OpRecord, lookup
from ._converters.registry import normalize_domain, opsets_of
from ._errors import ConversionError, ExternalDataError, FormatError, MissingWeightsError, WeightlessError
from ._graphs import INLINE_CONSTANT_FORMS, structure_bytes, unbounded_function_calls, walk_graphs
from ._onnx_op import ONNX_OP_ATTRIBUTE
from ._opaque import opaque_converter
from ._shape_inference import empty_required_input, infer_shapes
from ._skeleton import Skeleton, load_skeleton, skeleton_from_bytes
from ._tensors import TensorResolver, external_entries
from ._value_inputs import value_uses

__all__ = ["Conversion", "Session", "SubgraphBuilder", "Subgraphs", "session"]

_current: contextvars.ContextVar[Session | None] = contextvars.ContextVar("onnx_weightless_session", default=None)


@dataclass
class Conversion:
    """The model one conversion is converting, and the mode its converters run in."""

    resolver: TensorResolver
    value_initializers: frozenset[str]
    value_constant_outputs: frozenset[str]
    #: Nodes (by first output) reading a Constant's output as values: onnx2torch's converters read
    #: those through the Constant node's tensor, so everything they read must be real.
    constant_value_readers: frozenset[str] = frozenset()
    #: Read every tensor (the reference conversion with weights) instead of following the policy.
    with_weights: bool = False
    #: The model's opset imports (domain -> version), which its subgraphs share.
    opsets: dict[str, int] = field(default_factory=dict)
    #: Builds a subgraph as a GraphModule (the builder's build_subgraph, which the session is given).
    subgraph_builder: SubgraphBuilder | None = None
    #: Compute shapes as Python integers (_host_values): what torch.export can trace.
    integer_shapes: bool = False
    force_meta: bool = False
    need_values: bool = False

    #: Hand out one tensor per ONNX tensor (below). Set by convert()'s builder only: onnx2torch's
    #: own loop (the seed loader) numbers its buffers by counting distinct ones, so it must get a
    #: new tensor for every use, as without this package.
    share_tensors: bool = False
    #: Tensors handed out, by (id(proto), form): one ONNX tensor is one torch tensor per form
    #: ("values", "meta" for the layers built on the meta device, "policy" otherwise), however many
    #: converters read it, so layers sharing an initializer share its storage (_shared_tensors).
    #: The proto is kept so its id stays its own.
    handed_out: dict[tuple[int, str], tuple[TensorProto, torch.Tensor]] = field(default_factory=dict)

    def tensor(self, proto: TensorProto) -> torch.Tensor:
        if self.with_weights or (not self.force_meta and (self.need_values or proto.name in self.value_initializers)):
            form = "values"
        else:
            form = "meta" if self.force_meta else "policy"
        found = self.handed_out.get((id(proto), form)) if self.share_tensors else None
        if found is None:
            if form == "meta":
                tensor = self.resolver.meta(proto)
            else:
                tensor = self.resolver.tensor(proto, need_values=form == "values")
            found = self.handed_out[(id(proto), form)] = (proto, tensor)
        return found[1]

    def buffer(self, proto: TensorProto) -> torch.Tensor:
        """The tensor of an initializer the graph reads as a buffer, asked for once every converter
        has run: a layer's meta weight if a layer holds it (one tensor, not a meta and a real one)."""
        held = self.handed_out.get((id(proto), "meta"))
        if held is not None and not self.with_weights and proto.name not in self.value_initializers:
            return held[1]
        return self.tensor(proto)

    def storages(self) -> dict[int, set[int]]:
        """id(proto) -> the storages of the tensors handed out for it."""
        found: dict[int, set[int]] = {}
        for (proto_id, _values), (_proto, tensor) in self.handed_out.items():
            found.setdefault(proto_id, set()).add(tensor.untyped_storage()._cdata)
        return found

    def run(self, record: OpRecord, node: Any, graph: Any) -> Any:
        """Runs the converter of ``record`` on ``node`` (an onnx2torch OnnxNode) in the mode its
        traits ask for: weight layers are built on the meta device with meta weights; a Constant
        whose output is read as values gets real values. Any failure is raised naming the node and
        its operator: a ConversionError chaining the converter's exception, or, if that already
        is one of this package's typed errors, that error with the node added as a note."""
        converter = record.converter
        if converter is None:
            converter = partial(opaque_converter, record.op.version, self.tensor)
        layer = record.traits.weight_layer and not self.with_weights
        self.force_meta = layer
        if node.operation_type == "Constant" and record.op.domain == "":
            self.need_values = any(output in self.value_constant_outputs for output in node.output_values)
        elif record.traits.value_attribute:
            self.need_values = True
        else:
            self.need_values = bool(node.output_values) and node.output_values[0] in self.constant_value_readers
        arguments = (node, graph, Subgraphs(self, graph)) if record.traits.subgraphs else (node, graph)
        try:
            if layer:
                with torch.device("meta"):
                    result = converter(*arguments)
            else:
                result = converter(*arguments)
        except WeightlessError as error:
            if hasattr(error, "add_note"):  # Python 3.11+
                error.add_note(f"while converting node {node.name or node.unique_name!r} ({record.op})")
            raise
        except Exception as error:  # noqa: BLE001 - named and chained, whatever the converter raised
            name = node.name or node.unique_name
            raise ConversionError(
                f"while converting node {name!r} ({record.op}): {type(error).__name__}: {error}{_unranked(node, graph)}",
                name, record.op,
            ) from error
        finally:
            self.force_meta = self.need_values = False
        # A plain attribute: nn.Module.__setattr__'s checks for parameters and submodules cost more
        # than the whole assignment, once per node.
        result.torch_module.__dict__[ONNX_OP_ATTRIBUTE] = record.op
        return result


def _unranked(node: Any, graph: Any) -> str:
    """What a failed converter may have lacked: the node's inputs whose rank shape inference could
    not determine (most converters read their inputs' ranks), as a sentence to add; else ""."""
    missing = []
    for position, value in enumerate(node.input_values):
        if not value or value in graph.initializers:
            continue
        info = graph.value_info.get(value)
        if info is None or not info.type.tensor_type.HasField("shape"):
            missing.append(f"input {position} {value!r}")
    if not missing:
        return ""
    name = node.name or node.unique_name
    return f"; node {name!r} needs the rank of {', '.join(missing)}, which shape inference could not determine"


@dataclass
class Subgraphs:
    """What the converter of an operator holding graphs (If, Loop, Scan) is given besides the node
    and its graph: building those graphs, and the values known at conversion time."""

    conversion: Conversion
    graph: Any  # the onnx2torch OnnxGraph holding the node

    @property
    def integer_shapes(self) -> bool:
        """Whether the conversion computes shapes as integers (for torch.export)."""
        return self.conversion.integer_shapes

    def build(self, body: GraphProto, outer: Sequence[str]) -> fx.GraphModule:
        """``body`` as a GraphModule whose inputs are its own, then the ``outer`` values it reads."""
        if self.conversion.subgraph_builder is None:
            raise NotImplementedError("this conversion cannot build subgraphs")
        outer_info = {name: self.graph.value_info[name] for name in outer if name in self.graph.value_info}
        return self.conversion.subgraph_builder(self.conversion, body, outer, outer_info)

    def constant(self, name: str) -> torch.Tensor | None:
        """The value of ``name`` if it is known at conversion time: an initializer, or a Constant
        node's ``value`` (None otherwise)."""
        proto = None
        if name in self.graph.initializers:
            proto = self.graph.initializers[name].proto
        elif self.graph.value_type(name) == _adapter.ValueType.NODE_OUTPUT:
            producer, _ = self.graph.value_as_node_output(name)
            if producer.operation_type == "Constant" and normalize_domain(producer.domain) == "":
                proto = next((a.t for a in producer.proto.attribute if a.name == "value" and a.HasField("t")), None)
        if proto is None:
            return None
        return self.conversion.resolver.tensor(proto, need_values=True)


#: (conversion, subgraph, outer value names, their ValueInfoProtos where known) -> GraphModule
SubgraphBuilder = Callable[[Conversion, GraphProto, Sequence[str], Mapping[str, Any]], fx.GraphModule]


@dataclass
class Session:
    size_threshold: int
    #: Where external data resolves for models given as ModelProtos this session did not load.
    data_folder: _core.DataFolder | None = None
    with_weights: bool = False
    subgraph_builder: SubgraphBuilder | None = None
    # Models this session's onnx.load returned, by id (ModelProto has no weakrefs); held until
    # the session closes so ids stay unique.
    loaded: dict[int, Skeleton] = field(default_factory=dict)
    conversion: Conversion | None = None

    def load(self, path: str | os.PathLike) -> ModelProto:
        skeleton = load_skeleton(path, self.size_threshold)
        self.loaded[id(skeleton.model)] = skeleton
        return skeleton.model

    def begin_conversion(self, model_or_path: Any) -> ModelProto:
        if isinstance(model_or_path, ModelProto):
            model = model_or_path
            known = self.loaded.get(id(model))
            folder = known.data_folder if known is not None else self.data_folder
        else:
            model = self.load(model_or_path)
            folder = self.loaded[id(model)].data_folder
        # The structure the converters rely on, checked first: a fault is a FormatError naming the
        # node and the field, not an exception from inside a converter.
        structure = structure_bytes(model)
        _core.validate_graph(structure)
        unbounded = unbounded_function_calls(model)
        if unbounded:
            raise FormatError(f"[validate] {unbounded}: a conversion cannot follow them")
        empty = empty_required_input(model, structure)
        if empty is not None:
            raise FormatError(f"[validate] {empty}")
        resolver = TensorResolver(folder, self.size_threshold)
        self.conversion = _plan(model, resolver, self.with_weights)
        self.conversion.subgraph_builder = self.subgraph_builder
        return model


def _plan(model: ModelProto, resolver: TensorResolver, with_weights: bool) -> Conversion:
    """Finds tensors read as values and fails early, naming tensor, op and file, if one is unreadable."""
    graph = model.graph
    opsets = opsets_of(model)
    uses = value_uses(graph, opsets)
    initializers: dict[str, TensorProto] = {}
    constants: dict[str, TensorProto] = {}
    inline: set[str] = set()  # Constants given as value_int(s)/value_float(s): their data is the node's
    for held in walk_graphs(graph):  # subgraphs included: names are unique across them
        initializers.update((init.name, init) for init in held.initializer)
        for node in held.node:
            if node.op_type == "Constant" and normalize_domain(node.domain) == "" and node.output:
                for attribute in node.attribute:
                    if attribute.name == "value" and attribute.HasField("t"):
                        constants[node.output[0]] = attribute.t
                    elif attribute.name in INLINE_CONSTANT_FORMS:
                        inline.add(node.output[0])
    value_initializers = set()
    value_constants = set()
    readers = set()
    for name, users in uses.items():
        proto = initializers.get(name)
        if proto is not None:
            value_initializers.add(name)
        elif name in constants:
            proto = constants[name]
            value_constants.add(name)
            readers.update(use.node_output for use in users)
        elif name in inline:
            value_constants.add(name)
            readers.update(use.node_output for use in users)
            continue
        else:
            continue
        state, reason = resolver.available(proto)
        if state != "present":
            location = external_entries(proto).get("location", "?")
            described = ", ".join(use.describe() for use in users)
            message = f"tensor {name!r} is read as values by {described}, but its data is in {location!r}, which "
            if state == "refused":
                raise ExternalDataError(f"{message}is refused: {reason}")
            raise MissingWeightsError(f"{message}cannot be read: {reason}. Provide that file next to the model.")
    return Conversion(
        resolver, frozenset(value_initializers), frozenset(value_constants), frozenset(readers), with_weights,
        opsets=opsets,
    )


def current() -> Session | None:
    return _current.get()


# --- replacements installed by the adapter ------------------------------------------------------


def _to_torch(self: onnx2torch.onnx_tensor.OnnxTensor) -> torch.Tensor:
    active = _current.get()
    if active is None or active.conversion is None:
        return _adapter.original(onnx2torch.onnx_tensor.OnnxTensor, "to_torch")(self)
    return active.conversion.tensor(self.proto)


def _to_numpy(self: onnx2torch.onnx_tensor.OnnxTensor) -> Any:
    active = _current.get()
    if active is None or active.conversion is None:
        return _adapter.original(onnx2torch.onnx_tensor.OnnxTensor, "to_numpy")(self)
    return active.conversion.resolver.numpy(self.proto)


def _safe_shape_inference(onnx_model_or_path: Any, **kwargs: Any) -> ModelProto:
    active = _current.get()
    if active is None:
        return _adapter.original(onnx2torch.converter, "safe_shape_inference")(onnx_model_or_path, **kwargs)
    model = active.begin_conversion(onnx_model_or_path)
    # The skeleton is small, so shape inference runs in memory: no temporary copy next to the model.
    return infer_shapes(model, **kwargs)


def _get_converter(domain: str, operation_type: str, version: int) -> Any:
    active = _current.get()
    if active is None or active.conversion is None:
        return _adapter.original(onnx2torch.converter, "get_converter")(
            domain=domain, operation_type=operation_type, version=version
        )
    return partial(active.conversion.run, lookup(domain, operation_type, version))


def _onnx_load(f: Any, format: Any = None, load_external_data: bool = True) -> ModelProto:  # noqa: A002
    active = _current.get()
    if active is None:
        return _adapter.original(onnx, "load")(f, format=format, load_external_data=load_external_data)
    if isinstance(f, (str, os.PathLike)):
        return active.load(f)
    skeleton = skeleton_from_bytes(f.read(), active.size_threshold)
    active.loaded[id(skeleton.model)] = skeleton
    return skeleton.model


_REPLACEMENTS = {
    (onnx2torch.onnx_tensor.OnnxTensor, "to_torch"): _to_torch,
    (onnx2torch.onnx_tensor.OnnxTensor, "to_numpy"): _to_numpy,
    (onnx2torch.converter, "safe_shape_inference"): _safe_shape_inference,
    (onnx2torch.converter, "get_converter"): _get_converter,
    (onnx, "load"): _onnx_load,
    (onnx, "load_model"): _onnx_load,
}
assert set(_REPLACEMENTS) == set(_adapter.patch_targets())


@contextmanager
def session(
    size_threshold: int,
    data_folder: _core.DataFolder | None = None,
    with_weights: bool = False,
    subgraph_builder: SubgraphBuilder | None = None,
) -> Iterator[Session]:
    """Opens a session in the calling context, with the adapter's patches installed.
    ``subgraph_builder`` converts the graphs that If, Loop and Scan nodes hold."""
    state = Session(size_threshold, data_folder, with_weights, subgraph_builder=subgraph_builder)
    with _adapter.patched(_REPLACEMENTS):
        token = _current.set(state)
        try:
            yield state
        finally:
            _current.reset(token)
