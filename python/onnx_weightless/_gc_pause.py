"""Pausing Python's cyclic garbage collector while a conversion allocates.

A conversion creates tens of thousands of small objects (modules, fx nodes, code), each batch
triggering a collection; once torch is imported a full collection walks about half a million
objects, and a 70B-parameter conversion triggers several. Nothing a conversion creates is garbage
until it returns, so the collector is paused meanwhile and resumed when the last conversion ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_collection"]

_lock = threading.Lock()
_active = 0  # conversions running with the collector paused
_resume = False  # whether the collector was enabled when the first of them started


@contextmanager
def paused_collection() -> Iterator[None]:
    """Pauses automatic collection until every thread's paused block has ended; leaves it disabled
    if the caller had disabled it."""
    global _active, _resume
    with _lock:
        if _active == 0:
            _resume = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _resume:
                gc.enable()
