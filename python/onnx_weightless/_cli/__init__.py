"""The command line behind ``python -m onnx_weightless``.

Each subcommand is a module of this package with ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; adding one to ``COMMANDS`` is all it takes to offer it. Exit status: 0 on
success, 2 for a command line that cannot work as given (argparse's own status for the malformed
ones), 1 when the model cannot be read or exported or the output cannot be written. No failure
prints a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._errors import WeightlessError
from . import export
from .errors import OutputError, UsageError
from .reporting import command_line_reporting

__all__ = ["main"]

PROG = "python -m onnx_weightless"
COMMANDS = (export,)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="ONNX models without their weights.")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        subparser = subcommands.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run, parser=subparser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    parser: argparse.ArgumentParser = args.parser
    try:
        with command_line_reporting(parser.prog):
            return args.run(args)
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except (WeightlessError, OutputError) as error:
        kind = f"{type(error).__name__}: " if isinstance(error, WeightlessError) else ""
        print(f"{parser.prog}: error: {kind}{error}", file=sys.stderr)
        return 1
