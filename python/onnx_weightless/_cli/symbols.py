"""The symbolic dimensions a model's inputs declare, by the names export() gives them, and the
program symbols (``s0``, ``s1``...) they became.

A symbol is named as export() names it (``symbol_name``). The inputs are the graph's, less its
initializers, in order: the program's user inputs.
"""

from __future__ import annotations

import os

import torch

from .._graphs import symbol_name
from .._skeleton import load

__all__ = ["input_symbols", "program_symbol_names"]


def input_symbols(path: str | os.PathLike) -> list[tuple[str | None, ...]]:
    """Per graph input, per axis: the symbol's name, None for a fixed size. Reads the model's
    structure only, not its tensors."""
    graph = load(path).graph
    initializers = {tensor.name for tensor in graph.initializer}
    symbols = []
    for value in graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        symbols.append(tuple(None if dim.HasField("dim_value") else symbol_name(value.name, axis, dim.dim_param)
                             for axis, dim in enumerate(dims)))
    return symbols


def program_symbol_names(program: torch.export.ExportedProgram, symbols: list[tuple[str | None, ...]]) -> dict[str, str]:
    """The model's name of each symbol the program's input sizes are (``{"s33": "batch"}``): the
    program's symbols are torch's own, export() keeps no record of the names."""
    user_inputs = program.graph_signature.user_inputs
    placeholders = {node.name: node for node in program.graph.find_nodes(op="placeholder")}
    names: dict[str, str] = {}
    for input_name, axes in zip(user_inputs, symbols):
        value = placeholders[input_name].meta.get("val")
        if not isinstance(value, torch.Tensor):
            continue
        for size, symbol in zip(value.shape, axes):
            if isinstance(size, torch.SymInt) and symbol is not None:
                names.setdefault(str(size), symbol)
    return names
