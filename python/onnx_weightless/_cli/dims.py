"""Parsing ``--dim NAME=SIZE``, ``--dim NAME=MIN:MAX`` and ``--example-dim NAME=SIZE``.

The values are what ``export(dims=..., example_dims=...)`` takes: a size binds a symbol, a
``(min, max)`` pair bounds it, with None for a side left open (``seq=1:``, ``seq=:4096``).
"""

from __future__ import annotations

from argparse import ArgumentTypeError

__all__ = ["Bound", "MIN_EXAMPLE_SIZE", "parse_dim", "parse_example_dim"]

Bound = tuple[int | None, int | None]

#: torch.export specialises a dimension whose example size is 0 or 1: the program would take that
#: size only, silently.
MIN_EXAMPLE_SIZE = 2

_DIM_FORMS = "NAME=SIZE or NAME=MIN:MAX (either side may be left out, as in seq=1: or seq=:4096)"


def _split(text: str, forms: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name or not value:
        raise ArgumentTypeError(f"expected {forms}, got {text!r}")
    return name, value


def _size(value: str, text: str, forms: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise ArgumentTypeError(f"expected {forms} with non-negative integer sizes, got {text!r}")
    return int(value)


def parse_dim(text: str) -> tuple[str, int | Bound]:
    """``NAME=SIZE`` -> (name, size); ``NAME=MIN:MAX`` -> (name, (min, max)), None for an empty
    side. A range of one size is that size."""
    name, value = _split(text, _DIM_FORMS)
    if ":" not in value:
        return name, _size(value, text, _DIM_FORMS)
    low_text, _, high_text = value.partition(":")
    low = _size(low_text, text, _DIM_FORMS) if low_text else None
    high = _size(high_text, text, _DIM_FORMS) if high_text else None
    if low is not None and high is not None:
        if low > high:
            raise ArgumentTypeError(f"{text!r}: MIN is above MAX; write {name}={high}:{low}?")
        if low == high:  # torch.export.Dim refuses min == max; that range is a bound size
            return name, low
    return name, (low, high)


def parse_example_dim(text: str) -> tuple[str, int]:
    """``NAME=SIZE`` -> (name, size), the size at least MIN_EXAMPLE_SIZE."""
    forms = "NAME=SIZE"
    name, value = _split(text, forms)
    size = _size(value, text, forms)
    if size < MIN_EXAMPLE_SIZE:
        raise ArgumentTypeError(f"{text!r}: torch.export would fix {name} to an example size below "
                                f"{MIN_EXAMPLE_SIZE}; give {MIN_EXAMPLE_SIZE} or more, or --dim {name}={size} to fix it")
    return name, size
