"""The one place that touches onnx and onnx2torch internals.

Each patch point is checked before it is replaced, so an onnx2torch or onnx release that moves
or renames one fails with a message naming it rather than converting wrongly. Patches are
installed while at least one conversion or loader context is open (reference counted, under a
lock) and removed when the last one closes; importing the package patches nothing.
"""

from __future__ import annotations

import inspect
from importlib.metadata import PackageNotFoundError, version as _package_version
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import onnx
import onnx2torch
import onnx2torch.converter
import onnx2torch.onnx_graph
import onnx2torch.onnx_tensor
import onnx2torch.utils.common
from onnx2torch.node_converters import registry as _onnx2torch_registry

__all__ = [
    "AdapterError",
    "patched",
    "original",
    "check",
    "onnx2torch_converter",
    "OnnxGraph",
    "OnnxMapping",
    "OperationConverterResult",
    "ValueType",
]


class AdapterError(RuntimeError):
    """The installed onnx/onnx2torch no longer has what the adapter patches."""


# (owner, attribute, parameter names the replacement relies on)
_PATCH_POINTS: tuple[tuple[Any, str, tuple[str, ...]], ...] = (
    (onnx2torch.onnx_tensor.OnnxTensor, "to_torch", ("self",)),
    (onnx2torch.onnx_tensor.OnnxTensor, "to_numpy", ("self",)),
    (onnx2torch.converter, "safe_shape_inference", ("onnx_model_or_path",)),
    (onnx2torch.converter, "get_converter", ("domain", "operation_type", "version")),
    (onnx, "load", ("f",)),
    (onnx, "load_model", ("f",)),
)

# Used as they are (not patched): (owner, attribute, parameter or member names relied on).
_USED_POINTS: tuple[tuple[Any, str, tuple[str, ...]], ...] = (
    (_onnx2torch_registry, "get_converter", ("operation_type", "version", "domain")),
    (
        onnx2torch.onnx_graph,
        "OnnxGraph",
        ("nodes", "initializers", "value_info", "value_type", "value_as_node_output", "input_values", "output_values"),
    ),
    (onnx2torch.onnx_graph, "ValueType", ("GRAPH_INPUT", "NODE_OUTPUT", "GRAPH_INITIALIZER", "EMPTY")),
    (onnx2torch.utils.common, "OperationConverterResult", ("torch_module", "onnx_mapping")),
    (onnx2torch.utils.common, "OnnxMapping", ("inputs", "outputs")),
)

OnnxGraph = onnx2torch.onnx_graph.OnnxGraph
ValueType = onnx2torch.onnx_graph.ValueType
OperationConverterResult = onnx2torch.utils.common.OperationConverterResult
OnnxMapping = onnx2torch.utils.common.OnnxMapping

_lock = threading.RLock()
_checked = False
_users = 0
_originals: dict[tuple[int, str], Callable[..., Any]] = {}


def _installed_version(distribution: str) -> str:
    try:
        return _package_version(distribution)
    except PackageNotFoundError:
        return "unknown"


def _unsupported(message: str) -> AdapterError:
    return AdapterError(
        f"{message} (onnx {onnx.__version__}, onnx2torch {_installed_version('onnx2torch')}); "
        "onnx-weightless supports onnx2torch 1.5.x: install onnx2torch==1.5.15"
    )


def _check_used_points() -> None:
    for owner, attribute, members in _USED_POINTS:
        target = getattr(owner, attribute, None)
        if target is None:
            raise _unsupported(f"{owner.__name__}.{attribute} is missing")
        if inspect.isclass(target):
            missing = [m for m in members if not hasattr(target, m) and m not in getattr(target, "_fields", ())]
            if missing:
                raise _unsupported(f"{owner.__name__}.{attribute} lacks {missing}")
        elif not set(members) <= set(inspect.signature(target).parameters):
            raise _unsupported(f"{owner.__name__}.{attribute} no longer takes {members}")


def check() -> None:
    """Fails with AdapterError if the installed onnx2torch lacks anything this package relies on."""
    global _checked
    with _lock:
        if not _checked:
            _check_patch_points()
            _check_used_points()
            _checked = True


def onnx2torch_converter(domain: str, op_type: str, opset: int) -> Callable[..., Any] | None:
    """onnx2torch's own converter for ``op_type`` at the model's ``opset``, or None."""
    try:
        return _onnx2torch_registry.get_converter(operation_type=op_type, version=opset, domain=domain)
    except NotImplementedError:
        return None


def _check_patch_points() -> None:
    version = _installed_version("onnx2torch")
    for owner, attribute, parameters in _PATCH_POINTS:
        target = getattr(owner, attribute, None)
        owner_name = getattr(owner, "__name__", repr(owner))
        if not callable(target):
            raise AdapterError(
                f"{owner_name}.{attribute} is missing (onnx {onnx.__version__}, onnx2torch {version}); "
                "onnx-weightless supports onnx2torch 1.5.x: install onnx2torch==1.5.15"
            )
        names = tuple(inspect.signature(target).parameters)
        if not set(parameters) <= set(names):
            raise AdapterError(
                f"{owner_name}.{attribute} takes {names}, expected parameters {parameters} "
                f"(onnx {onnx.__version__}, onnx2torch {version}); onnx-weightless supports onnx2torch 1.5.x"
            )


def original(owner: Any, attribute: str) -> Callable[..., Any]:
    """The unpatched callable (valid whether or not patches are installed)."""
    with _lock:
        found = _originals.get((id(owner), attribute))
    return found if found is not None else getattr(owner, attribute)


@contextmanager
def patched(replacements: dict[tuple[Any, str], Callable[..., Any]]) -> Iterator[None]:
    """Installs ``replacements`` for the duration; nested and concurrent uses share one installation.

    The replacements must fall back to the originals when no conversion is active in the calling
    thread, since other threads may use onnx and onnx2torch directly meanwhile.
    """
    global _users
    with _lock:
        if _users == 0:
            check()
            for (owner, attribute), replacement in replacements.items():
                _originals[(id(owner), attribute)] = getattr(owner, attribute)
                setattr(owner, attribute, replacement)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                for (owner, attribute) in replacements:
                    setattr(owner, attribute, _originals.pop((id(owner), attribute)))


def patch_targets() -> tuple[tuple[Any, str], ...]:
    return tuple((owner, attribute) for owner, attribute, _ in _PATCH_POINTS)
