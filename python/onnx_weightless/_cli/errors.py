"""The command line's own errors, each with its exit status."""

from __future__ import annotations

__all__ = ["OutputError", "UsageError"]


class UsageError(Exception):
    """Arguments that parse but cannot work together or with the model (a --dim naming no symbol
    of the model, an output folder that does not exist): exit status 2, the message says what to
    pass instead."""


class OutputError(Exception):
    """The output file could not be written (a full disk): exit status 1, as for a model error."""
