"""One record per operator version: everything this package knows about it, in one place.

An :class:`OpRecord` holds the converter of an operator version (this package's, else onnx2torch's,
else none: an opaque module) and its traits: which inputs it reads as values, whether it builds a
layer holding the weights it is given, whether its tensor attribute is read as values, whether its
outputs depend on its inputs' shapes only. The value policy, the conversion session, the meta
forward and the builder all ask :func:`record` and nothing else.

Traits come from two kinds of declarations, merged per version:

* ``declare(op_type, ...)``: what holds for every version of an operator, whoever converts it (the
  ONNX specs, and the layers onnx2torch's converters build); see onnx_traits.py;
* ``@register(op_type, *versions, ...)``: a converter of this package's, with what it adds.

Our converters have onnx2torch's signature, ``(OnnxNode, OnnxGraph) -> OperationConverterResult``,
but live here rather than in onnx2torch's global registry: only conversions this package runs
consult them, so a plain ``onnx2torch.convert`` elsewhere in the process is unaffected::

    @register("Pad", 18, 19, value_inputs=(1, 2, 3))
    def _(node, graph): ...

``versions`` are the operator's ``since_version`` values (ai.onnx) or domain opset versions (custom
domains).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from onnx import ModelProto, NodeProto, defs

from .._adapter import onnx2torch_converter
from .._onnx_op import OnnxOp, normalize_domain

__all__ = [
    "Converter",
    "OpRecord",
    "OpTraits",
    "all_registrations",
    "declare",
    "normalize_domain",
    "opsets_of",
    "record",
    "register",
    "since_version",
    "unregister",
]

Converter = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class OpTraits:
    #: Input positions read as values (a shape, axes, pads...): real tensors even when weightless.
    value_inputs: tuple[int, ...] = ()
    #: Builds nn layers holding the weights it is given (nn.Conv*, nn.Linear, norms): converted on
    #: the meta device with meta weights, so that building allocates nothing.
    weight_layer: bool = False
    #: Its tensor attribute is a value its module reads (ConstantOfShape's fill value).
    value_attribute: bool = False
    #: Its outputs depend on its inputs' shapes only, never on their values (Shape, Size).
    shape_only: bool = False
    #: It holds graphs (If's branches, Loop's and Scan's bodies): its converter is called as
    #: ``converter(node, graph, subgraphs)`` and builds them as sub-GraphModules with
    #: ``subgraphs.build`` (see _session.Subgraphs).
    subgraphs: bool = False
    #: Output positions of its subgraphs it reads as values (Loop's body condition).
    subgraph_value_outputs: tuple[int, ...] = ()
    #: More input positions a node reads as values, found from the node itself (a Loop counting
    #: to a bound reads the counter's start and the bound to know its trip count).
    node_value_inputs: Callable[[NodeProto], tuple[int, ...]] | None = None

    def merged(self, other: OpTraits) -> OpTraits:
        return OpTraits(
            tuple(sorted(set(self.value_inputs) | set(other.value_inputs))),
            self.weight_layer or other.weight_layer,
            self.value_attribute or other.value_attribute,
            self.shape_only or other.shape_only,
            self.subgraphs or other.subgraphs,
            tuple(sorted(set(self.subgraph_value_outputs) | set(other.subgraph_value_outputs))),
            other.node_value_inputs or self.node_value_inputs,
        )

    def value_inputs_of(self, node: NodeProto) -> tuple[int, ...]:
        """The input positions ``node`` reads as values: the op's, and those found from the node."""
        if self.node_value_inputs is None:
            return self.value_inputs
        return tuple(sorted(set(self.value_inputs) | set(self.node_value_inputs(node))))


@dataclass(frozen=True)
class OpRecord:
    op: OnnxOp
    #: None: neither this package nor onnx2torch converts it (an opaque module stands in).
    converter: Converter | None
    #: "onnx-weightless", "onnx2torch", or None.
    source: str | None
    traits: OpTraits


@dataclass(frozen=True)
class _Registration:
    converter: Converter
    traits: OpTraits


_lock = threading.Lock()
_REGISTERED: dict[tuple[str, str, int], _Registration] = {}  # (domain, op_type, version)
_DECLARED: dict[tuple[str, str], OpTraits] = {}  # (domain, op_type): every version


def _changed() -> None:
    record.cache_clear()


def declare(
    op_type: str,
    *,
    domain: str = "",
    value_inputs: tuple[int, ...] = (),
    weight_layer: bool = False,
    value_attribute: bool = False,
    shape_only: bool = False,
) -> None:
    """Traits every version of ``op_type`` has, whichever converter serves it."""
    key = (normalize_domain(domain), op_type)
    traits = OpTraits(tuple(sorted(value_inputs)), weight_layer, value_attribute, shape_only)
    with _lock:
        _DECLARED[key] = _DECLARED.get(key, OpTraits()).merged(traits)
        _changed()


def register(
    op_type: str,
    *versions: int,
    domain: str = "",
    value_inputs: tuple[int, ...] = (),
    weight_layer: bool = False,
    value_attribute: bool = False,
    subgraphs: bool = False,
    subgraph_value_outputs: tuple[int, ...] = (),
    node_value_inputs: Callable[[NodeProto], tuple[int, ...]] | None = None,
    replace: bool = False,
) -> Callable[[Converter], Converter]:
    """Decorator: ``converter`` serves ``op_type`` at each of ``versions`` in this package's conversions."""
    if not versions:
        raise ValueError(f"register({op_type!r}) needs at least one version")
    domain = normalize_domain(domain)
    traits = OpTraits(tuple(sorted(value_inputs)), weight_layer, value_attribute, subgraphs=subgraphs,
                      subgraph_value_outputs=tuple(sorted(subgraph_value_outputs)), node_value_inputs=node_value_inputs)

    def decorate(converter: Converter) -> Converter:
        with _lock:
            for version in versions:
                key = (domain, op_type, version)
                if key in _REGISTERED and not replace:
                    raise ValueError(
                        f"{OnnxOp(domain, op_type, version)} already has a converter; pass replace=True to use yours instead"
                    )
            for version in versions:
                _REGISTERED[(domain, op_type, version)] = _Registration(converter, traits)
            _changed()
        return converter

    return decorate


def unregister(op_type: str, *versions: int, domain: str = "") -> None:
    with _lock:
        for version in versions:
            _REGISTERED.pop((normalize_domain(domain), op_type, version), None)
        _changed()


@functools.lru_cache(maxsize=4096)
def since_version(domain: str, op_type: str, opset: int) -> int | None:
    """The version of ``op_type`` in force at ``opset`` (None if onnx has no schema for it)."""
    try:
        return defs.get_schema(op_type, max_inclusive_version=opset, domain=domain).since_version
    except (RuntimeError, defs.SchemaError):
        return None


@functools.lru_cache(maxsize=4096)
def record(domain: str, op_type: str, opset: int) -> OpRecord:
    """The record of ``op_type`` at the model's ``opset`` of ``domain``.

    ai.onnx ops resolve to the version in force at that opset. Custom domains without onnx schemas
    resolve to the newest registered version not above the opset.
    """
    domain = normalize_domain(domain)
    version = since_version(domain, op_type, opset)
    if version is None:
        candidates = [v for (d, op, v) in _REGISTERED if d == domain and op == op_type and v <= opset]
        version = max(candidates) if candidates else opset
    ours = _REGISTERED.get((domain, op_type, version))
    traits = _DECLARED.get((domain, op_type), OpTraits())
    if ours is not None:
        return OpRecord(OnnxOp(domain, op_type, version), ours.converter, "onnx-weightless", traits.merged(ours.traits))
    theirs = onnx2torch_converter(domain, op_type, opset)
    return OpRecord(OnnxOp(domain, op_type, version), theirs, "onnx2torch" if theirs else None, traits)


def opsets_of(model: ModelProto) -> dict[str, int]:
    """Domain (normalized) -> the version the model imports."""
    return {normalize_domain(entry.domain): entry.version for entry in model.opset_import}


def all_registrations() -> dict[tuple[str, str, int], Converter]:
    """This package's converters, by (domain, op_type, version)."""
    return {key: registration.converter for key, registration in _REGISTERED.items()}
