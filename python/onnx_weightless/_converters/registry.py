"""Converters onnx-weightless adds to onnx2torch's: newer op versions, ops onnx2torch lacks, and
common custom-domain ops.

They have onnx2torch's converter signature, ``(OnnxNode, OnnxGraph) -> OperationConverterResult``,
but live in a registry of our own rather than in onnx2torch's global one: they are consulted only by
conversions this package runs, so a plain ``onnx2torch.convert`` elsewhere in the process (another
thread, say) is unaffected, and nothing needs unregistering afterwards.

Register with::

    @register("Pad", 18, 19, value_inputs=(1, 2, 3))
    def _(node, graph): ...

``versions`` are the operator's ``since_version`` values (for ai.onnx) or domain opset versions
(for custom domains) the converter implements; ``value_inputs`` are the input positions it reads as
values (a shape, axes, pads...), which must be real tensors even in a weightless conversion.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from onnx import defs

__all__ = ["Converter", "Registration", "register", "registered", "since_version", "normalize_domain"]

Converter = Callable[[Any, Any], Any]

_ONNX_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class Registration:
    converter: Converter
    value_inputs: tuple[int, ...]


_REGISTRY: dict[tuple[str, str, int], Registration] = {}


def normalize_domain(domain: str) -> str:
    return "" if domain in _ONNX_DOMAINS else domain


def register(
    op_type: str, *versions: int, domain: str = "", value_inputs: tuple[int, ...] = (), replace: bool = False
) -> Callable[[Converter], Converter]:
    if not versions:
        raise ValueError(f"register({op_type!r}) needs at least one version")
    domain = normalize_domain(domain)

    def decorate(converter: Converter) -> Converter:
        for version in versions:
            key = (domain, op_type, version)
            if key in _REGISTRY and not replace:
                raise ValueError(
                    f"{domain or 'ai.onnx'}::{op_type} version {version} already has a converter; "
                    "pass replace=True to use yours instead"
                )
            _REGISTRY[key] = Registration(converter, tuple(value_inputs))
        return converter

    return decorate


@functools.lru_cache(maxsize=4096)
def since_version(domain: str, op_type: str, opset: int) -> int | None:
    """The version of ``op_type`` in force at ``opset`` (None if onnx has no schema for it)."""
    try:
        return defs.get_schema(op_type, max_inclusive_version=opset, domain=domain).since_version
    except (RuntimeError, defs.SchemaError):
        return None


def registered(domain: str, op_type: str, opset: int) -> Registration | None:
    """Our registration for ``op_type`` at the model's ``opset`` of ``domain``, if any.

    ai.onnx ops resolve to the version in force at that opset. Custom domains without onnx schemas
    resolve to the newest registered version not above the opset.
    """
    domain = normalize_domain(domain)
    version = since_version(domain, op_type, opset)
    if version is not None:
        return _REGISTRY.get((domain, op_type, version))
    candidates = [v for (d, op, v) in _REGISTRY if d == domain and op == op_type and v <= opset]
    return _REGISTRY[(domain, op_type, max(candidates))] if candidates else None


def all_registrations() -> dict[tuple[str, str, int], Registration]:
    return dict(_REGISTRY)
