"""Running a weightless GraphModule on meta inputs.

torch refuses to mix meta and CPU tensors in one op, while a weightless module holds both: meta
weights, and small real constants some of which are read as values (Reshape's shape, Slice's
starts). The interpreter below runs node by node: values derived from shapes stay real (Shape of a
meta tensor is computed on its size, not on its data), and an op that mixes devices is re-run with
its real operands moved to meta, which is exact for anything that only computes with them.

The module convert() returns is a :class:`MetaCallingGraphModule`: called on meta inputs, it runs
this interpreter, so ``gm(*meta_inputs)`` and ``meta_forward(gm, *meta_inputs)`` are one call.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import chain
from typing import Any

import torch
from torch import fx
from torch._subclasses.fake_tensor import FakeTensor
from torch.func import functional_call
from torch.utils._pytree import tree_flatten, tree_map

from ._builder import ONNX_INPUT, ONNX_NODE
from ._converters import lookup
from ._converters.control_flow import OnnxIf, OnnxLoop, OnnxScan, OnnxTakenBranch
from ._converters.sequences import OnnxSequenceMap
from ._errors import LimitError, MetaForwardError, ValueNeededError, WeightlessError
from ._graph_module import GraphModuleBase
from ._onnx_op import ONNX_OP_ATTRIBUTE

__all__ = ["MAX_BODY_NODE_RUNS", "MetaCallingGraphModule", "body_node_budget", "meta_forward"]


def _to_meta(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.device.type != "meta":
        return value.to("meta")
    return value


def _mixes_devices(values: list[Any]) -> bool:
    devices = {v.device.type for v in values if isinstance(v, torch.Tensor)}
    return "meta" in devices and len(devices) > 1


def _shape_only(module: Any) -> bool:
    op = getattr(module, ONNX_OP_ATTRIBUTE, None)
    return op is not None and lookup(op.domain, op.op_type, op.version).traits.shape_only


def _signature(result: Any) -> list[Any]:
    flat, _ = tree_flatten(result)
    return [(tuple(v.shape), v.dtype) if isinstance(v, torch.Tensor) else v for v in flat]


def _graph_inputs(node: fx.Node) -> list[str]:
    """The graph inputs ``node``'s value is computed from (ONNX names where known)."""
    seen, pending, found = set(), [node], []
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        if current.op == "placeholder":
            spec = current.meta.get(ONNX_INPUT)
            found.append(spec.name if spec is not None else current.name)
        pending.extend(current.all_input_nodes)
    return sorted(found)


def _run_body(body: fx.GraphModule, inputs: Any) -> Any:
    return _MetaInterpreter(body).run(*inputs)


def _one_or_tuple(results: tuple[Any, ...]) -> Any:
    return results[0] if len(results) == 1 else results


#: Iterations of one Loop, Scan or SequenceMap a meta run follows: each runs the body, so a
#: hostile trip count (2^62) would otherwise never end.
MAX_ITERATIONS = 1 << 16
#: Body nodes one meta run follows in all its Loops, Scans and SequenceMaps (nested ones included):
#: a body node costs 30 to 150 µs in a meta run, so this bounds the loops at seconds (room for an
#: RNN of 1,000 steps of 60 nodes), where MAX_ITERATIONS alone lets a 12-node body run 90 s.
MAX_BODY_NODE_RUNS = 1 << 16
_body_node_budget: ContextVar[list[int] | None] = ContextVar("_body_node_budget", default=None)


@contextmanager
def body_node_budget() -> Iterator[None]:
    """One budget of MAX_BODY_NODE_RUNS for the meta runs inside (a shape propagation's several
    runs share one); inside another, the outer budget holds."""
    if _body_node_budget.get() is not None:
        yield
        return
    token = _body_node_budget.set([MAX_BODY_NODE_RUNS])
    try:
        yield
    finally:
        _body_node_budget.reset(token)
#: Elements of a real tensor an operator may make from real inputs (shapes, counts) in a meta run;
#: past this its result is a meta tensor, since only small tensors are ever read as values.
MAX_REAL_ELEMENTS = 1 << 24
#: Operators whose output size is read from their inputs' values: checked on meta before they run.
_SIZED_BY_VALUES = {"OnnxConstantOfShape", "OnnxExpand", "OnnxTile", "OnnxRange", "OnnxRangeTyped"}


def _oversized(module: Any, args: tuple) -> torch.Tensor | None:
    """A meta tensor of the result of ConstantOfShape, Expand, Tile or Range on real inputs when it
    would have more than MAX_REAL_ELEMENTS elements; None when it would not, or cannot be told."""
    kind = type(module).__name__
    try:
        values = [int(v) for v in args[-1].reshape(-1)] if not kind.startswith("OnnxRange") else []
        if kind == "OnnxConstantOfShape":
            dims, dtype = values, module.value.dtype
        elif kind == "OnnxExpand":
            dims, dtype = list(torch.broadcast_shapes(tuple(args[0].shape), tuple(values))), args[0].dtype
        elif kind == "OnnxTile":
            dims, dtype = [size * repeat for size, repeat in zip(args[0].shape, values)], args[0].dtype
        else:
            start, limit, delta = (float(torch.as_tensor(a).reshape(-1)[0]) for a in args)
            dims, dtype = [max(0, math.ceil((limit - start) / delta))], torch.as_tensor(args[0]).dtype
    except (RuntimeError, ValueError, TypeError, ZeroDivisionError, OverflowError, AttributeError, IndexError):
        return None  # the operator itself says what is wrong
    if any(d < 0 for d in dims) or math.prod(dims) <= MAX_REAL_ELEMENTS:
        return None
    return torch.empty(dims, dtype=dtype, device="meta")


def _all_real(values: list[Any]) -> bool:
    return all(not isinstance(v, torch.Tensor) or v.device.type != "meta" for v in values)


def _counted(name: str) -> Any:
    """_run_body, refusing with a LimitError past MAX_ITERATIONS runs."""
    runs = 0

    def run(body: fx.GraphModule, inputs: Any) -> Any:
        nonlocal runs
        runs += 1
        if runs > MAX_ITERATIONS:
            raise LimitError(f"node {name!r} runs its body more than {MAX_ITERATIONS} times, more than meta_forward follows")
        budget = _body_node_budget.get()
        if budget is not None:
            budget[0] -= len(body.graph.nodes)
            if budget[0] < 0:
                raise LimitError(f"node {name!r}: after {runs} runs of its body, the loops of this meta run have run more "
                                 f"than {MAX_BODY_NODE_RUNS} body nodes, more than meta_forward follows")
        return _run_body(body, inputs)

    return run


def _node_op(interpreter: fx.Interpreter, n: fx.Node) -> Any:
    """The ONNX operator a node's module runs, or None."""
    return getattr(interpreter.fetch_attr(n.target), ONNX_OP_ATTRIBUTE, None) if n.op == "call_module" else None


class _MetaInterpreter(fx.Interpreter):
    def __init__(self, module: fx.GraphModule) -> None:
        super().__init__(module)
        # fx would add "While executing %node" to the message of every error, typed ones included;
        # the errors raised here name the node themselves.
        self.extra_traceback = False

    def run_node(self, n: fx.Node) -> Any:
        self.current = n
        try:
            return super().run_node(n)
        except Exception as error:
            op, name = _node_op(self, n), n.meta.get(ONNX_NODE, n.name)
            where = f"while running node {name!r}" + (f" ({op})" if op else "") + " in meta_forward"
            if isinstance(error, WeightlessError):  # typed already (a LimitError, a body's MetaForwardError)
                if hasattr(error, "add_note"):  # Python 3.11+
                    error.add_note(where)
                raise
            lines = str(error).strip().splitlines()
            raise MetaForwardError(f"{where}: {type(error).__name__}: {lines[0] if lines else ''}", name, op) from error

    def call_module(self, target: str, args: Any, kwargs: Any) -> Any:
        module = self.fetch_attr(target)
        if isinstance(module, OnnxTakenBranch):
            return _MetaInterpreter(module.branch).run(*args)
        if isinstance(module, OnnxIf):
            return self._run_if(module, *args)
        if isinstance(module, OnnxLoop):
            return _one_or_tuple(module.iterate(args, _counted(self.current.name), self._reader(module)))
        if isinstance(module, (OnnxScan, OnnxSequenceMap)):
            return _one_or_tuple(module.iterate(args, _counted(self.current.name)))
        if _shape_only(module):
            # It reads sizes only: give it a data-free CPU stand-in so the shape stays real.
            (source,) = args
            stand_in = torch.empty((), dtype=source.dtype).expand(source.shape)
            return module(stand_in)
        if type(module).__name__ in _SIZED_BY_VALUES and not kwargs and _all_real(list(args)):
            # Sized by its inputs' values: a hostile shape would make it allocate without bound.
            oversized = _oversized(module, args)
            if oversized is not None:
                return oversized
        try:
            return module(*args, **kwargs)
        except (RuntimeError, NotImplementedError, TypeError) as first:
            if "can't allocate memory" in str(first):
                raise LimitError(f"node {self.current.name!r} would allocate more memory than there is for real "
                                 "values in a meta run") from first
            state = dict(module.named_parameters()) | dict(module.named_buffers())
            flat, _ = tree_flatten((args, kwargs))
            if not _mixes_devices(flat + list(state.values())):
                raise
            meta_state = {name: _to_meta(value) for name, value in state.items()}
            meta_args, meta_kwargs = tree_map(_to_meta, (args, kwargs))
            try:
                return functional_call(module, meta_state, meta_args, meta_kwargs, strict=False)
            except Exception:  # noqa: BLE001 - the retry failing says nothing new: the first error stands
                raise first from None

    def _reader(self, module: OnnxLoop) -> Any:
        """Reads a Loop's trip count or condition: real ones only."""
        node = self.current

        def read(value: torch.Tensor, what: str) -> torch.Tensor:
            if value.device.type != "meta":
                if what == "trip count" and int(value.reshape(-1)[0]) > MAX_ITERATIONS:
                    # Refused before the first iteration rather than after 65,536 of them.
                    raise LimitError(f"node {node.name!r}: a Loop of {int(value.reshape(-1)[0])} iterations, more than "
                                     f"the {MAX_ITERATIONS} meta_forward follows")
                return value
            position = {"trip count": 0, "condition": int(module.has_trip_count)}.get(what)
            depends_on = _graph_inputs(node.args[position]) if position is not None else []
            raise ValueNeededError(
                f"the Loop's {what} is not known on meta inputs, so neither is how often it runs; "
                + (f"pass {', '.join(repr(n) for n in depends_on)} as real tensors" if depends_on
                   else "it is computed from meta tensors (weights, or values the body derives from meta inputs)")
            )

        return read

    def _run_if(self, module: OnnxIf, condition: torch.Tensor, *outer: Any) -> Any:
        """The branch a real condition selects; on a meta condition both, which must agree."""
        if condition.device.type != "meta":
            branch, inputs = module.branch(bool(condition.reshape(-1)[0]), outer)
            return _MetaInterpreter(branch).run(*inputs)
        results = [_MetaInterpreter(branch).run(*inputs) for branch, inputs in (module.branch(t, outer) for t in (True, False))]
        if _signature(results[0]) == _signature(results[1]):
            return results[0]
        depends_on = _graph_inputs(self.current.args[0])
        raise ValueNeededError(
            f"the If's condition is not known on meta inputs and its branches give different outputs "
            f"(then: {_signature(results[0])}, else: {_signature(results[1])}); "
            + (f"pass {', '.join(repr(n) for n in depends_on)} as real tensors" if depends_on
               else "it is computed from meta tensors only (weights): convert with a larger size_threshold")
        )

    def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
        try:
            return super().call_function(target, args, kwargs)
        except (RuntimeError, NotImplementedError) as first:
            flat, _ = tree_flatten((args, kwargs))
            if not _mixes_devices(flat):
                raise
            meta_args, meta_kwargs = tree_map(_to_meta, (args, kwargs))
            try:
                return super().call_function(target, meta_args, meta_kwargs)
            except Exception:  # noqa: BLE001 - as in call_module
                raise first from None


def meta_forward(module: fx.GraphModule, *inputs: Any) -> Any:
    """Runs ``module`` (from :func:`convert`) on ``inputs`` (meta or real tensors) without
    allocating activations; returns what ``module(*inputs)`` would, with meta tensors.

    Inputs whose values matter (token ids feeding a Gather, say) may be given as real tensors;
    everything else may be ``torch.empty(shape, dtype=..., device="meta")``.
    """
    if not isinstance(module, fx.GraphModule):
        raise TypeError(f"meta_forward expects a torch.fx.GraphModule, got {type(module).__name__}")
    with torch.no_grad(), body_node_budget():
        result = _MetaInterpreter(module).run(*inputs)
    return tree_map(_to_meta, result)




def _meta_call(module: fx.GraphModule, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a call is a weightless run: some input is a meta tensor, or the module holds meta
    weights (its inputs may all be real: token ids read as values). Not when traced (fake tensors,
    torch.fx proxies, dynamo)."""
    if kwargs or torch.compiler.is_compiling():
        return False
    flat, _ = tree_flatten(args)
    if any(isinstance(v, (FakeTensor, fx.Proxy)) for v in flat):
        return False
    if any(isinstance(v, torch.Tensor) and v.is_meta for v in flat):
        return True
    return any(t.is_meta for t in chain(module.parameters(), module.buffers()))


class MetaCallingGraphModule(GraphModuleBase):  # type: ignore[misc, valid-type]
    """The GraphModule :func:`convert` returns. Called on meta inputs, or while it holds meta
    weights, it runs :func:`meta_forward`: a weightless module holds meta weights and the small
    real constants its operators read as values, which no single torch op could mix. Materialised
    and called on real inputs, or traced (torch.export, torch.compile, torch.fx), it is a
    GraphModule like any."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _meta_call(self, args, kwargs):
            return meta_forward(self, *args)
        return super().__call__(*args, **kwargs)
