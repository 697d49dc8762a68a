"""propagate_shapes(): the shape and dtype of every value of a converted GraphModule, without data.

The module runs on meta inputs through meta_forward's interpreter, which records what each fx node
produces. Symbolic ONNX dimensions (batch, sequence) left unbound are found as expressions, two ways:

* A module converted with integer shapes (``convert(..., integer_shapes=True)``) runs once under
  torch's symbolic shapes (``_fake_run``): every dimension is torch's exact expression in the
  symbols, floor divisions included, and each node gets the standard FX metadata ``meta["val"]``
  (a fake tensor with symbolic sizes) and ``meta["tensor_meta"]``, as ``ShapeProp`` and
  ``make_fx`` write them.
* Otherwise (and where that run fails: a size computed from tensor values), torch's symbolic
  shapes cannot follow the module, which computes shapes as tensors (Shape -> Gather -> Concat ->
  Reshape). The module runs at several sizes of the unbound symbols and each dimension is fitted
  exactly, with rational coefficients, by a polynomial of degree at most 2 in them
  (``batch*sequence``, ``past + sequence``, ``2*sequence + 1``) and checked at one more size. A
  dimension no such polynomial gives (a strided convolution's floor division, say) is None: bind
  the symbols to get numbers.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import sympy
import torch
from torch import fx
from torch.fx.passes.shape_prop import _extract_tensor_metadata

from ._builder import ONNX_INPUT, OnnxInput
from ._graphs import symbol_name
from ._dtypes import torch_dtype
from ._fake_run import INTEGER_SHAPES, Recording, expression, symbolic_run
from ._meta_forward import _MetaInterpreter, body_node_budget

__all__ = ["SHAPE", "ValueShape", "input_symbols", "propagate_shapes"]

#: fx node meta key propagate_shapes records under: a ValueShape, or a tuple of them (None for a
#: non-tensor item) for a node producing several values.
SHAPE = "shape"

Dim = int | str | None


class ValueShape(NamedTuple):
    """One tensor's shape (ints, symbolic expressions as strings, None where unresolved) and dtype."""

    shape: tuple[Dim, ...]
    dtype: torch.dtype


_MAX_DEGREE = 2
_PROBE_RANGE = (3, 61)  # sizes the unbound symbols take while probing


class _Recorder(Recording, _MetaInterpreter):
    """meta_forward's interpreter, keeping every node's result (shapes and dtypes only)."""

    def record(self, result: Any) -> Any:
        return _describe(result)


def _describe(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return ValueShape(tuple(int(d) for d in value.shape), value.dtype)
    if isinstance(value, (tuple, list)):
        return tuple(_describe(item) for item in value)
    return None


def _placeholders(module: fx.GraphModule) -> list[fx.Node]:
    return [node for node in module.graph.nodes if node.op == "placeholder"]


def _declared_shapes(
    placeholders: Sequence[fx.Node], input_shapes: Sequence[Sequence[Dim]] | Mapping[str, Sequence[Dim]] | None
) -> list[tuple[tuple[Dim, ...], torch.dtype]]:
    """Each input's (dims, dtype): from ``input_shapes`` where given, else as the ONNX graph declares."""
    specs: list[OnnxInput | None] = [node.meta.get(ONNX_INPUT) for node in placeholders]
    if isinstance(input_shapes, Mapping):
        names = {spec.name: i for i, spec in enumerate(specs) if spec is not None}
        unknown = sorted(set(input_shapes) - set(names))
        if unknown:
            raise ValueError(f"input_shapes names {unknown}, which are not graph inputs (inputs: {sorted(names)})")
        overrides: dict[int, Sequence[Dim]] = {names[name]: shape for name, shape in input_shapes.items()}
    elif input_shapes is not None:
        if len(input_shapes) != len(placeholders):
            raise ValueError(f"input_shapes has {len(input_shapes)} shapes for {len(placeholders)} graph inputs")
        overrides = dict(enumerate(input_shapes))
    else:
        overrides = {}
    declared = []
    for i, (node, spec) in enumerate(zip(placeholders, specs)):
        if spec is None:
            raise ValueError(
                f"input {node.name!r} has no ONNX declaration (the module was not built by convert()): "
                "pass inputs= with tensors"
            )
        dims = overrides.get(i, spec.dims)
        if dims is None:
            raise ValueError(f"graph input {spec.name!r} declares no shape: give it one in input_shapes")
        # An unknown, unnamed dimension becomes a symbol of its own.
        named = tuple(symbol_name(spec.name, axis, dim) if dim is None else dim for axis, dim in enumerate(dims))
        declared.append((named, torch_dtype(spec.elem_type)))
    return declared


def _run(module: fx.GraphModule, inputs: Sequence[Any]) -> dict[fx.Node, Any]:
    recorder = _Recorder(module)
    with torch.no_grad():
        recorder.run(*inputs)
    return recorder.results


def _run_at(module, declared, sizes: Mapping[str, int]) -> dict[fx.Node, Any]:
    # Every input meta, integer ones included: values matter only to data-dependent ops.
    inputs = [
        torch.empty(tuple(sizes[d] if isinstance(d, str) else d for d in dims), dtype=dtype, device="meta")
        for dims, dtype in declared
    ]
    return _run(module, inputs)


def _monomials(symbols: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
    terms = [sympy.Integer(1)]
    for degree in range(1, _MAX_DEGREE + 1):
        terms += [sympy.Mul(*combo) for combo in itertools.combinations_with_replacement(symbols, degree)]
    return terms


def _solve_exact(rows: list[list[Fraction]], values: list[int]) -> list[Fraction] | None:
    """The solution of the square system rows · x = values (Gaussian elimination over rationals)."""
    n = len(rows)
    matrix = [row[:] + [Fraction(v)] for row, v in zip(rows, values)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if matrix[r][col] != 0), None)
        if pivot is None:
            return None
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        for r in range(n):
            if r != col and matrix[r][col] != 0:
                factor = matrix[r][col] / matrix[col][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[col])]
    return [matrix[i][n] / matrix[i][i] for i in range(n)]


def _probe_points(names: Sequence[str], seed: int) -> list[dict[str, int]]:
    """Assignments of the unbound symbols, one per monomial with linearly independent monomial rows
    (the fit), then one more (the check)."""
    terms = _monomials([sympy.Symbol(name) for name in names])
    rng = random.Random(seed)
    for _ in range(100):
        points = [{name: rng.randint(*_PROBE_RANGE) for name in names} for _ in range(len(terms) + 1)]
        if _solve_exact(_rows(terms, points[:-1]), [0] * len(terms)) is not None:
            return points
    raise AssertionError("no independent probe points found")  # cannot happen for distinct random sizes


def _rows(terms: Sequence[sympy.Expr], points: Sequence[Mapping[str, int]]) -> list[list[Fraction]]:
    return [[Fraction(int(t.subs({sympy.Symbol(k): v for k, v in p.items()}))) for t in terms] for p in points]


def _fit(terms: Sequence[sympy.Expr], rows: list[list[Fraction]], values: list[int]) -> sympy.Expr | None:
    solution = _solve_exact(rows, values)
    if solution is None:
        return None
    return sympy.expand(sum(sympy.Rational(c.numerator, c.denominator) * t for c, t in zip(solution, terms)))


def _symbolic(
    module: fx.GraphModule, declared, bound: Mapping[str, int], free: Sequence[str], seed: int
) -> dict[fx.Node, Any]:
    symbols = [sympy.Symbol(name) for name in free]
    terms = _monomials(symbols)
    points = _probe_points(free, seed)
    runs = [_run_at(module, declared, {**bound, **point}) for point in points]
    check_point = points[-1]
    rows = _rows(terms, points[:-1])
    check_subs = {sympy.Symbol(k): v for k, v in check_point.items()}

    def dim(values: list[int]) -> Dim:
        if all(v == values[0] for v in values):
            return values[0]
        expression = _fit(terms, rows, values[:-1])
        if expression is None or expression.subs(check_subs) != values[-1]:
            return None
        return str(expression)

    def merge(results: list[Any]) -> Any:
        first = results[0]
        if first is None or any(r is None for r in results):
            return None
        if isinstance(first, ValueShape):
            shapes = [r.shape for r in results]
            if any(len(s) != len(first.shape) for s in shapes):
                return ValueShape(tuple(None for _ in first.shape), first.dtype)  # the rank itself varies
            return ValueShape(tuple(dim([s[axis] for s in shapes]) for axis in range(len(first.shape))), first.dtype)
        if any(len(r) != len(first) for r in results):
            return None
        return tuple(merge([r[i] for r in results]) for i in range(len(first)))

    return {node: merge([run[node] for run in runs]) for node in runs[0]}


def _torch_symbolic(module: fx.GraphModule, declared, bound: Mapping[str, int]) -> dict[fx.Node, Any] | None:
    """Each node's shapes from one run under torch's symbolic shapes, its fake results written to
    ``meta["val"]`` and ``meta["tensor_meta"]``; None where the run fails (a size computed from
    tensor values, an operator without a fake implementation), for the polynomial fit to take over."""
    try:
        values, names = symbolic_run(module, declared, bound)
    except Exception:  # noqa: BLE001 - any failure of the symbolic run falls back to the fit
        return None

    def describe(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return ValueShape(tuple(expression(d, names) for d in value.shape), value.dtype)
        if isinstance(value, (tuple, list)):
            return tuple(describe(item) for item in value)
        return None

    for node, value in values.items():
        node.meta["val"] = value
        if isinstance(value, torch.Tensor):
            node.meta["tensor_meta"] = _extract_tensor_metadata(value)
    return {node: describe(value) for node, value in values.items()}


def input_symbols(module: fx.GraphModule) -> set[str]:
    """The symbol names the ONNX graph inputs of ``module`` (from convert) declare."""
    return {
        d for node in _placeholders(module) if node.meta.get(ONNX_INPUT) is not None
        for d in (node.meta[ONNX_INPUT].dims or ()) if isinstance(d, str)
    }


def propagate_shapes(
    module: fx.GraphModule,
    inputs: Sequence[Any] | None = None,
    input_shapes: Sequence[Sequence[Dim]] | Mapping[str, Sequence[Dim]] | None = None,
    *,
    dims: Mapping[str, int] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Records the shape and dtype of every value of ``module`` (from :func:`convert`) in each fx
    node's ``meta["shape"]`` (a :class:`ValueShape`, or a tuple of them for nodes giving several
    values) and returns them by node name. No data is allocated: the module runs on meta tensors.

    The input shapes come from ``inputs`` (tensors, meta or real: every dimension concrete), else
    from ``input_shapes`` (one shape per graph input, in order or by ONNX input name; ints and
    symbol names), else from the ONNX graph's declared inputs. ``dims`` binds symbols to sizes;
    symbols left unbound stay symbolic: dimensions depending on them are expressions such as
    ``"batch*sequence"``. For a module converted with ``integer_shapes=True`` they are torch's own
    symbolic sizes, and every node also gets ``meta["val"]`` and ``meta["tensor_meta"]``;
    otherwise exact polynomials of degree ≤ 2 found by running at several sizes, or None where no
    such expression exists.
    """
    if not isinstance(module, fx.GraphModule):
        raise TypeError(f"propagate_shapes expects a torch.fx.GraphModule, got {type(module).__name__}")
    # The runs at several sizes share one budget of loop body nodes (_meta_forward.MAX_BODY_NODE_RUNS).
    with body_node_budget():
        placeholders = _placeholders(module)
        if inputs is not None:
            if input_shapes is not None or dims:
                raise ValueError("give inputs, or input_shapes and dims, not both")
            if len(inputs) != len(placeholders):
                raise ValueError(f"{len(inputs)} inputs for {len(placeholders)} graph inputs")
            results = _run(module, inputs)
        else:
            declared = _declared_shapes(placeholders, input_shapes)
            bound = dict(dims or {})
            symbols = list(dict.fromkeys(d for shape, _ in declared for d in shape if isinstance(d, str)))
            unknown = sorted(set(bound) - set(symbols))
            if unknown:
                raise ValueError(f"dims binds {unknown}, which no input uses (symbols: {symbols})")
            for name, size in bound.items():
                if not isinstance(size, int) or size < 0:
                    raise ValueError(f"dims[{name!r}] must be a non-negative int, got {size!r}")
            free = [s for s in symbols if s not in bound]
            symbolic = _torch_symbolic(module, declared, bound) if free and module.meta.get(INTEGER_SHAPES) else None
            if symbolic is not None:
                results = symbolic
            elif free:
                results = _symbolic(module, declared, bound, free, seed)
            else:
                results = _run_at(module, declared, bound)
    for node, value in results.items():
        node.meta[SHAPE] = value
    return {node.name: value for node, value in results.items()}
