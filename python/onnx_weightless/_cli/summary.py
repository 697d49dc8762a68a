"""The line the export subcommand prints: file, size, symbolic dimensions and their ranges, nodes."""

from __future__ import annotations

import os

import sympy
import torch

__all__ = ["human_bytes", "summary_line"]


def human_bytes(size: int) -> str:
    """``85593`` -> ``"83.59 KiB"``: the C++ CLI's format."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value, unit = float(size), 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{value:.0f} {units[unit]}" if unit == 0 else f"{value:.2f} {units[unit]}"


def _bound(value: sympy.Expr) -> str:
    # torch's unbounded side is its own int_oo, a sympy Number but no Integer.
    return str(int(value)) if isinstance(value, sympy.Integer) else "inf"


def summary_line(path: str | os.PathLike, program: torch.export.ExportedProgram, names: dict[str, str]) -> str:
    """``"model.pt2: 83.59 KiB, 74 nodes; dims batch in [1, 64], seq in [2, inf]"``: each of the program's symbols by the
    model's name for it (``names``, from program_symbol_names; torch's own where it has none)."""
    dims = [f"{names.get(str(symbol), str(symbol))} in [{_bound(ranges.lower)}, {_bound(ranges.upper)}]"
            for symbol, ranges in program.range_constraints.items()]
    return (f"{os.fspath(path)}: {human_bytes(os.path.getsize(path))}, {len(program.graph.nodes)} nodes; "
            + (f"dims {', '.join(dims)}" if dims else "no symbolic dims"))
