"""A converted module run under torch's symbolic shapes: FakeTensorMode with a ShapeEnv.

A module converted with integer shapes (``convert(..., integer_shapes=True)``) computes its sizes
as Python arithmetic on ``x.shape``, so torch's symbolic sizes flow through it: run on fake inputs
whose symbolic dimensions are SymInts, every value it computes has its dimensions as exact
expressions in those symbols. ``export`` traces the same way; ``propagate_shapes`` reads the
expressions. The module's state is swapped for fake CPU tensors for the run (one device, nothing
allocated) and put back afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sympy
import torch
from torch import fx
from torch._dynamo.source import ConstantSource
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.symbolic_shapes import DimDynamic, ShapeEnv

__all__ = ["INTEGER_SHAPES", "Recording", "expression", "fake_state", "symbolic_run"]

#: GraphModule meta key: the module was converted with integer shapes.
INTEGER_SHAPES = "integer_shapes"

# Sizes the symbols are traced at: distinct primes, none 0 or 1 (which torch would fix) and no two
# equal, so that no comparison of two symbols holds by coincidence.
_HINTS = (7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83)


@contextmanager
def fake_state(module: torch.nn.Module, fake_mode: FakeTensorMode) -> Iterator[dict[str, torch.Tensor]]:
    """Within: every parameter and buffer of ``module`` is a fake CPU tensor of ``fake_mode``.
    Yields meta tensors of the same names, shapes and dtypes (an exported program's state); the
    module's own tensors are back on exit."""
    meta: dict[str, torch.Tensor] = {}
    saved: list[tuple[dict[str, Any], str, torch.Tensor]] = []
    for owner_name, owner in module.named_modules():
        for slots in (owner._parameters, owner._buffers):
            for name, tensor in list(slots.items()):
                if tensor is None:
                    continue
                saved.append((slots, name, tensor))
                is_parameter = isinstance(tensor, torch.nn.Parameter)
                with fake_mode:
                    fake = torch.empty(tensor.shape, dtype=tensor.dtype, device="cpu")
                slots[name] = torch.nn.Parameter(fake, tensor.requires_grad) if is_parameter else fake
                empty = torch.empty(tensor.shape, dtype=tensor.dtype, device="meta")
                meta[f"{owner_name}.{name}" if owner_name else name] = (
                    torch.nn.Parameter(empty, tensor.requires_grad) if is_parameter else empty)
    try:
        yield meta
    finally:
        for slots, name, tensor in saved:
            slots[name] = tensor


class Recording:
    """Mixed into an fx.Interpreter (before it): keeps what ``record`` makes of each node's result."""

    def __init__(self, module: fx.GraphModule) -> None:
        super().__init__(module)  # type: ignore[call-arg]
        self.results: dict[fx.Node, Any] = {}

    def record(self, result: Any) -> Any:
        return result

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)  # type: ignore[misc]
        if n.op != "output":
            self.results[n] = self.record(result)
        return result


class _Recorder(Recording, fx.Interpreter):
    """Keeps every node's fake result."""


def symbolic_run(
    module: fx.GraphModule, declared: Sequence[tuple[tuple[int | str, ...], torch.dtype]], bound: Mapping[str, int]
) -> tuple[dict[fx.Node, Any], dict[sympy.Symbol, str]]:
    """Runs ``module`` on fake inputs of the ``declared`` shapes (ints and symbol names), the symbols
    of ``bound`` at their sizes and the others as SymInts; returns each node's result (fake tensors
    with symbolic sizes) and the name of each symbol torch made. Raises what the run raises (a
    data-dependent size, an operator without a fake implementation)."""
    shape_env = ShapeEnv()
    fake_mode = FakeTensorMode(shape_env=shape_env, allow_non_fake_inputs=True)
    sizes: dict[str, Any] = dict(bound)
    names: dict[sympy.Symbol, str] = {}

    def size(dim: int | str) -> Any:
        if isinstance(dim, int):
            return dim
        if dim not in sizes:
            hint = _HINTS[len(names) % len(_HINTS)] + len(_HINTS) * (len(names) // len(_HINTS))
            source = ConstantSource(re.sub(r"\W", "_", dim))
            symbol = shape_env.create_symbol(hint, source=source, dynamic_dim=DimDynamic.DYNAMIC)
            names[symbol] = dim
            sizes[dim] = shape_env.create_symintnode(symbol, hint=hint, source=source)
        return sizes[dim]

    recorder = _Recorder(module)
    with fake_state(module, fake_mode), fake_mode, torch.no_grad():
        inputs = [torch.empty([size(d) for d in dims], dtype=dtype) for dims, dtype in declared]
        recorder.run(*inputs)
    return recorder.results, names


def expression(size: Any, names: Mapping[sympy.Symbol, str]) -> int | str | None:
    """A dimension as an int or an expression in the ONNX symbols (``"2*sequence + 1"``); None
    where it depends on a value torch could not know (a data-dependent size)."""
    if isinstance(size, int):
        return size
    expr = size.node.expr
    if not isinstance(expr, sympy.Expr):
        return None
    if expr.is_Integer:
        return int(expr)
    if not expr.free_symbols <= set(names):
        return None
    return str(expr.xreplace({symbol: sympy.Symbol(name) for symbol, name in names.items()}))
