"""The operator registry (see registry.py) and the modules that fill it.

Every module of this package other than ``registry`` is imported on the first lookup (so importing
onnx_weightless stays cheap); all declare traits or hold @register'ed converters but ``_common``,
their shared helpers.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading

from .registry import Converter, OpRecord, OpTraits, all_registrations, record, register, since_version

__all__ = [
    "Converter",
    "OpRecord",
    "OpTraits",
    "register",
    "register_converter",
    "lookup",
    "since_version",
    "load_all",
    "all_registrations",
]

_lock = threading.Lock()
_loaded = False


def load_all() -> None:
    global _loaded
    if _loaded:  # once loaded, never unloaded: no lock needed to see it
        return
    with _lock:
        if _loaded:
            return
        for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if module.name != "registry":
                importlib.import_module(f"{__name__}.{module.name}")
        _loaded = True


def lookup(domain: str, op_type: str, opset: int) -> OpRecord:
    """The record of ``op_type`` at the model's ``opset`` of ``domain`` (registry.record), once
    every converter module has registered."""
    load_all()
    return record(domain, op_type, opset)


def register_converter(
    op_type: str,
    *versions: int,
    domain: str = "",
    value_inputs: tuple[int, ...] = (),
    weight_layer: bool = False,
    replace: bool = False,
):
    """Decorator: use ``converter(node, graph)`` for ``op_type`` in conversions this package runs.

    The converter has onnx2torch's signature (an ``onnx2torch.onnx_node.OnnxNode`` and
    ``OnnxGraph`` in, an ``OperationConverterResult`` out). ``versions`` are the operator's
    ``since_version`` values (ai.onnx) or the versions of its custom ``domain``; a model whose
    domain opset is newer than every registered version uses the newest one. ``value_inputs``
    are the input positions the converter or its module reads as values (they stay real tensors
    in a weightless conversion). ``weight_layer=True`` says the converter builds layers holding
    the weights it reads (as nn.Linear does): it then runs on the meta device with meta weights.
    Built-in converters are replaced only with ``replace=True``.

    >>> @register_converter("Frobnicate", 1, domain="acme")
    ... def _(node, graph):
    ...     return OperationConverterResult(MyModule(), onnx_mapping_from_node(node))
    """
    load_all()
    return register(op_type, *versions, domain=domain, value_inputs=value_inputs, weight_layer=weight_layer,
                    replace=replace)
