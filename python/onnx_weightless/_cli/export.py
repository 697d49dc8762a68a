"""``export MODEL.onnx -o MODEL.pt2``: the model as a torch.export program file, without its weights.

The program is ``export()``'s, saved with ``torch.export.save``; its parameters and buffers are
meta tensors, so the file holds the graph and the state's names, shapes and dtypes, no weight
bytes. ``torch.export.load`` reads it back, and ``materialize(ep.module(), "MODEL.onnx")`` gives
the module the model's weights.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from .._export import DEFAULT_EXAMPLE_SIZE, export
from .atomic import write_atomically
from .dims import MIN_EXAMPLE_SIZE, Bound, parse_dim, parse_example_dim
from .errors import OutputError, UsageError
from .summary import summary_line
from .symbols import input_symbols, program_symbol_names

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "export"
HELP = "Write the model as a torch.export program (.pt2) without its weights"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the .onnx file (its weight files may be missing)")
    parser.add_argument("-o", "--output", required=True, help="the .pt2 file to write (replaced if it exists)")
    parser.add_argument("--dim", action="append", default=[], type=parse_dim, metavar="NAME=SIZE|NAME=MIN:MAX",
                        help="fix a symbolic dimension to a size, or bound it; either bound may be left out "
                             "(seq=1:, seq=:4096). Repeatable")
    parser.add_argument("--example-dim", action="append", default=[], type=parse_example_dim, metavar="NAME=SIZE",
                        help=f"the size torch.export traces a symbolic dimension at (default {DEFAULT_EXAMPLE_SIZE}, "
                             "or the nearest size its bounds allow). Repeatable")
    parser.add_argument("--no-strict", action="store_true",
                        help="keep operators without a converter as opaque modules instead of failing up front "
                             "(tracing still stops at one the program runs)")
    parser.add_argument("--base-dir", metavar="DIR",
                        help="the folder the model's external data paths are relative to (default: the model's folder)")


def _by_name(pairs: list[tuple[str, object]], option: str) -> dict:
    found: dict = {}
    for name, value in pairs:
        if name in found:
            raise UsageError(f"{option} {name} is given twice; give each dimension once")
        found[name] = value
    return found


def _check_names(given: dict, option: str, known: set[str], model: Path) -> None:
    for name in given:
        if name not in known:
            have = f"its symbolic dimensions are {', '.join(sorted(known))}" if known else "it has none"
            raise UsageError(f"{option} {name}: {model.name} has no symbolic dimension {name!r}; {have}")


def _check_example_size(name: str, bound: Bound, given: int | None) -> None:
    """A bounded symbol's range must hold a size torch.export can trace at (export() moves its
    default example size into the range), and a given example size must lie in it."""
    low, high = bound
    if high is not None and high < MIN_EXAMPLE_SIZE:
        raise UsageError(f"--dim {name}: a range ending below {MIN_EXAMPLE_SIZE} holds only sizes torch.export fixes; "
                         f"fix the size with --dim {name}=SIZE")
    if given is not None and ((low is not None and given < low) or (high is not None and given > high)):
        allowed = f"from {low or 0} to {high}" if high is not None else f"of {low} or more"
        raise UsageError(f"--example-dim {name}={given} is outside the range --dim gives it: pick a size {allowed}")


def _check_output(output: Path, model: Path) -> None:
    if not output.parent.is_dir():
        raise UsageError(f"-o {output}: the folder {output.parent} does not exist; create it first")
    if output.is_dir():
        raise UsageError(f"-o {output} is a folder; give the path of the .pt2 file to write")
    if output.exists() and model.exists() and output.samefile(model):
        raise UsageError(f"-o {output} is the model itself; write the program to another file")
    if not os.access(output.parent, os.W_OK):
        raise UsageError(f"-o {output}: the folder {output.parent} is not writable; choose another")


def run(args: argparse.Namespace) -> int:
    model, output = Path(args.model), Path(args.output)
    _check_output(output, model)
    dims = _by_name(args.dim, "--dim")
    example_dims = _by_name(args.example_dim, "--example-dim")
    symbols = input_symbols(model)
    known = {symbol for axes in symbols for symbol in axes if symbol is not None}
    _check_names(dims, "--dim", known, model)
    _check_names(example_dims, "--example-dim", known, model)
    for name, bound in dims.items():
        if isinstance(bound, tuple):
            _check_example_size(name, bound, example_dims.get(name))

    program = export(model, dims=dims, example_dims=example_dims, strict=not args.no_strict, base_dir=args.base_dir)
    try:
        write_atomically(output, lambda path: torch.export.save(program, path))
    except OSError as error:
        raise OutputError(f"cannot write {output}: {error.strerror or error}") from error
    print(summary_line(output, program, program_symbol_names(program, symbols)))
    return 0
