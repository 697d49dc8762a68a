"""Our converter registry (see registry.py) and the modules that fill it.

Every module of this package other than ``registry`` holds @register'ed converters; they are
imported on the first lookup, so importing onnx_weightless stays cheap.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading

from .registry import Converter, Registration, all_registrations, register, registered, since_version

__all__ = ["Converter", "Registration", "register", "lookup", "since_version", "load_all", "all_registrations"]

_lock = threading.Lock()
_loaded = False


def load_all() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if module.name != "registry":
                importlib.import_module(f"{__name__}.{module.name}")
        _loaded = True


def lookup(domain: str, op_type: str, opset: int) -> Registration | None:
    load_all()
    return registered(domain, op_type, opset)
