"""Exception types. The core's (format, limits, I/O, external data) come from the C++ extension;
the ones raised only on the Python side derive from the same base."""

from __future__ import annotations

from ._core import ExternalDataError, FormatError, LimitError, ModelReadError, WeightlessError

__all__ = [
    "WeightlessError",
    "FormatError",
    "LimitError",
    "ModelReadError",
    "ExternalDataError",
    "MissingWeightsError",
    "UnsupportedDtypeError",
]


class MissingWeightsError(WeightlessError):
    """A tensor whose *values* are needed (a shape, axes, pads...) has no bytes at hand."""


class UnsupportedDtypeError(WeightlessError, TypeError):
    """An ONNX element type that torch cannot represent element by element."""
