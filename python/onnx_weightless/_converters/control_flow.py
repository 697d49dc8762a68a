"""If, Loop and Scan: their branches and bodies become sub-GraphModules, converted like any graph
(weightless too).

A branch or body reads values of the graphs around it by name; its GraphModule takes them as inputs
after its own (``_graphs.outer_names``), and the module passes them on. A condition known at
conversion time (an initializer or a Constant) keeps the taken If branch only. Otherwise conditions
and trip counts are read at run time. Loop and Scan iterate through ``iterate``, which takes how to
run the body and how to read a condition, so that ``meta_forward`` runs the same iteration with its
own interpreter (see _meta_forward).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from onnx import AttributeProto, GraphProto, NodeProto
from onnx2torch.onnx_node import OnnxNode
from torch import fx, nn

from .._adapter import OnnxGraph, OnnxMapping, OperationConverterResult
from .._dtypes import torch_dtype
from .._graphs import outer_names
from .._host_values import constant_host_value
from ._common import TakesPythonValues, values_list
from .registry import register

__all__ = ["LoopCounter", "OnnxIf", "OnnxLoop", "OnnxScan", "OnnxScan8", "OnnxTakenBranch", "RunBody", "body_graphs", "call_body", "loop_counter", "outputs_of"]

#: How a body is run (a GraphModule and its inputs), and how a tensor read as a value (a trip
#: count, a condition, named by the string) is had.
RunBody = Callable[[fx.GraphModule, Sequence[Any]], Any]
Read = Callable[[torch.Tensor, str], torch.Tensor]


def call_body(body: fx.GraphModule, inputs: Sequence[Any]) -> Any:
    return body(*inputs)


def _read(value: torch.Tensor, what: str) -> torch.Tensor:
    return value


def outputs_of(result: Any) -> tuple[Any, ...]:
    """A body's outputs: a tuple when it has several, else its one value (a list is one sequence)."""
    return result if isinstance(result, tuple) else (result,)


def _picks(names: Sequence[str], among: Sequence[str]) -> tuple[int, ...]:
    return tuple(among.index(name) for name in names)


class OnnxIf(nn.Module):
    """Runs the branch the condition selects. Its inputs are the condition, then the values of
    enclosing graphs either branch reads; each branch takes those it reads, picked by position."""

    def __init__(
        self, then_branch: fx.GraphModule, else_branch: fx.GraphModule, then_picks: tuple[int, ...], else_picks: tuple[int, ...],
        as_cond: bool = False,
    ) -> None:
        super().__init__()
        self.then_branch = then_branch
        self.else_branch = else_branch
        self.then_picks = then_picks
        self.else_picks = else_picks
        #: Choose with torch.cond, which torch.export keeps as both branches (integer shapes).
        self.as_cond = as_cond

    def branch(self, taken: bool, outer: Sequence[Any]) -> tuple[fx.GraphModule, list[Any]]:
        """The branch a condition of ``taken`` selects, and its inputs among ``outer``."""
        module, picks = (self.then_branch, self.then_picks) if taken else (self.else_branch, self.else_picks)
        return module, [outer[i] for i in picks]

    def forward(self, condition: torch.Tensor, *outer: Any) -> Any:
        if self.as_cond:
            return torch.cond(condition.reshape(-1)[0].to(torch.bool), self._then, self._else, tuple(outer))
        module, inputs = self.branch(bool(condition.reshape(-1)[0]), outer)
        return module(*inputs)

    def _then(self, *outer: Any) -> Any:
        return _unaliased(self.then_branch(*[outer[i] for i in self.then_picks]))

    def _else(self, *outer: Any) -> Any:
        return _unaliased(self.else_branch(*[outer[i] for i in self.else_picks]))


class OnnxTakenBranch(nn.Module):
    """The branch of an If whose condition was known at conversion time; takes what it reads."""

    def __init__(self, branch: fx.GraphModule, taken: bool) -> None:
        super().__init__()
        self.branch = branch
        self.taken = taken

    def forward(self, *outer: Any) -> Any:
        return self.branch(*outer)


def body_graphs(node: OnnxNode) -> dict[str, GraphProto]:
    return {attribute.name: attribute.g for attribute in node.proto.attribute if attribute.type == AttributeProto.GRAPH}


@register("If", 1, 11, 13, 16, 19, 21, 23, 24, 25, value_inputs=(0,), subgraphs=True)
def _(node: OnnxNode, graph: OnnxGraph, subgraphs: Any) -> OperationConverterResult:
    bodies = body_graphs(node)
    then_body, else_body = bodies["then_branch"], bodies["else_branch"]
    then_outer, else_outer = outer_names(then_body), outer_names(else_body)
    outputs = tuple(node.output_values)
    condition = node.input_values[0]
    known = subgraphs.constant(condition)
    if known is not None:
        taken = bool(known.reshape(-1)[0])
        body, outer = (then_body, then_outer) if taken else (else_body, else_outer)
        module = OnnxTakenBranch(subgraphs.build(body, outer), taken)
        return OperationConverterResult(module, OnnxMapping(inputs=tuple(outer), outputs=outputs))
    outer = list(dict.fromkeys(then_outer + else_outer))
    module = OnnxIf(
        subgraphs.build(then_body, then_outer),
        subgraphs.build(else_body, else_outer),
        _picks(then_outer, outer),
        _picks(else_outer, outer),
        as_cond=subgraphs.integer_shapes,
    )
    return OperationConverterResult(module, OnnxMapping(inputs=(condition, *outer), outputs=outputs))


def _unaliased(result: Any) -> Any:
    """A branch's or body's outputs as torch.cond and while_loop trace them: dense copies, since
    their tracing refuses an output that is an input or a constant (a branch returning a Constant's
    buffer), and two branches giving one output in different layouts (one a transposed view).
    Run eagerly, the outputs are left as they are."""
    if not torch.compiler.is_compiling():
        return result
    if isinstance(result, tuple):
        return tuple(_unaliased(value) for value in result)
    return result.clone(memory_format=torch.contiguous_format) if isinstance(result, torch.Tensor) else result


class OnnxLoop(nn.Module, TakesPythonValues):
    """ONNX Loop: runs ``body(iteration, condition, *carried, *outer)`` while the iteration is
    below the trip count (if given) and the condition holds (if given); returns the final carried
    values, then each scan output stacked along a new first axis. Its inputs are the trip count and
    the condition where the node gives them, the initial carried values, then the outer values.

    With ``as_while`` (integer shapes), a loop whose trip count is not a number known when the
    module runs, or that has a condition, runs as torch's ``while_loop``, which torch.export keeps as
    a loop; its scan outputs are written into buffers of the trip count's length."""

    def __init__(
        self,
        body: fx.GraphModule,
        has_trip_count: bool,
        has_condition: bool,
        carried: int,
        scan_outputs: Sequence[tuple[torch.dtype, tuple[int, ...] | None]],
        as_while: bool = False,
        counter: LoopCounter | None = None,
        carried_types: Sequence[torch.dtype | None] = (),
    ) -> None:
        super().__init__()
        self.body = body
        self.as_while = as_while
        #: How the loop counts, when its trip count is computed from a counter and a bound.
        self.counter = counter
        #: Each carried value's dtype, where a counter's start or bound may come as a Python number.
        self.carried_types = tuple(carried_types)
        self.has_trip_count = has_trip_count
        self.has_condition = has_condition
        self.carried = carried
        #: Each scan output's dtype and, where the body declares it fully, its per-iteration shape
        #: (what a loop of no iteration stacks to).
        self.scan_outputs = tuple(scan_outputs)

    def iterate(self, inputs: Sequence[Any], run: RunBody = call_body, read: Read = _read) -> tuple[Any, ...]:
        """The loop's outputs; ``run`` runs the body, ``read`` gives the value of a trip count or
        condition (meta_forward's refuses meta ones)."""
        rest = list(inputs)
        trip_count = rest.pop(0) if self.has_trip_count else None
        condition = rest.pop(0) if self.has_condition else None
        carried, outer = self._as_tensors(rest[: self.carried]), rest[self.carried :]
        limit = _number(trip_count, read, "trip count") if trip_count is not None else None
        # Without a condition input, the body's condition output is ignored (ONNX Loop's for loop).
        going = bool(_number(condition, read, "condition")) if condition is not None else True
        condition_in = torch.tensor(going)
        scans: list[list[Any]] = [[] for _ in self.scan_outputs]
        iteration = 0
        while going and (limit is None or iteration < limit):
            outputs = outputs_of(run(self.body, [torch.tensor(iteration, dtype=torch.int64), condition_in, *carried, *outer]))
            condition_in = outputs[0]
            carried = list(outputs[1 : 1 + self.carried])
            for collected, value in zip(scans, outputs[1 + self.carried :]):
                collected.append(value)
            if condition is not None:
                going = bool(read(condition_in, "condition its body computes").reshape(-1)[0])
            iteration += 1
        return (*carried, *(self._stacked(k, collected) for k, collected in enumerate(scans)))

    def _stacked(self, k: int, collected: list[Any]) -> torch.Tensor:
        if collected:
            return torch.stack(collected)
        dtype, dims = self.scan_outputs[k]
        if dims is None:
            raise NotImplementedError(f"Loop ran no iteration, and the body does not declare the shape of scan output {k}")
        return torch.empty((0, *dims), dtype=dtype)

    def forward(self, *inputs: Any) -> Any:
        unrolled = not self.has_condition and self.has_trip_count and isinstance(inputs[0], int)
        results = self.iterate(inputs) if unrolled or not self.as_while else self.while_loop(inputs)
        return results[0] if len(results) == 1 else results

    def _as_tensors(self, carried: Sequence[Any]) -> list[Any]:
        """The carried values, a counter's start and bound given as Python numbers (sizes) made
        tensors of their declared types, as the body takes them."""
        made = list(carried)
        for k in (self.counter.counter, self.counter.bound) if self.counter is not None else ():
            if not isinstance(made[k], torch.Tensor):
                (value,) = values_list(made[k])
                made[k] = torch.tensor(value, dtype=self.carried_types[k])
        return made

    def _counted_limit(self, condition: Any, carried: Sequence[Any]) -> Any:
        """The trip count of a counting loop (``counter``) from its starting values, if they and
        its first condition are Python numbers (sizes); else None."""
        if self.counter is None or condition is None or isinstance(condition, torch.Tensor):
            return None
        start, bound = carried[self.counter.counter], carried[self.counter.bound]
        if isinstance(start, torch.Tensor) or isinstance(bound, torch.Tensor):
            return None
        (start,), (bound,), (going,) = values_list(start), values_list(bound), values_list(condition)
        step = self.counter.step
        count = -((start - bound) // step)  # ceil((bound - start) / step)
        # The body runs once before its condition is first checked.
        running = going != 0
        if isinstance(running, bool):
            return torch.sym_max(1, count) if running else 0
        return torch.sym_ite(running, 1, 0) * torch.sym_max(1, count)

    def while_loop(self, inputs: Sequence[Any]) -> tuple[Any, ...]:
        """The loop as torch's ``while_loop``: carried are the iteration, the condition, the
        carried values and one buffer per scan output, which each iteration writes a row of."""
        rest = list(inputs)
        limit = rest.pop(0) if self.has_trip_count else None
        condition = rest.pop(0) if self.has_condition else None
        carried, outer = rest[: self.carried], rest[self.carried :]
        if limit is None:
            limit = self._counted_limit(condition, carried)
        # while_loop wants each body output laid out as its carried input: dense, not expanded.
        carried = [value.contiguous() if isinstance(value, torch.Tensor) else value for value in self._as_tensors(carried)]
        if isinstance(limit, torch.Tensor):
            limit = limit.reshape(()).to(torch.int64)
        elif isinstance(limit, list):
            (limit,) = limit
        if condition is None:
            going = torch.tensor(True)
        else:
            going = condition.reshape(()).to(torch.bool) if isinstance(condition, torch.Tensor) else torch.tensor(values_list(condition)[0] != 0)
        start = torch.zeros((), dtype=torch.int64)
        rows = self._scan_rows(start, going, carried, outer)
        buffers = [self._scan_buffer(k, limit, row) for k, row in enumerate(rows)]

        def keep_going(iteration: torch.Tensor, condition_in: torch.Tensor, *state: torch.Tensor) -> torch.Tensor:
            return _unaliased(condition_in) if limit is None else condition_in & (iteration < limit)

        def step(iteration: torch.Tensor, condition_in: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
            values, written = state[: self.carried], state[self.carried :]
            outputs = outputs_of(self.body(iteration, condition_in, *values, *outer))
            condition_out = outputs[0].reshape(()).to(torch.bool) if self.has_condition else condition_in
            values = outputs[1 : 1 + self.carried]
            rows = [buffer.index_copy(0, iteration.reshape(1), row.unsqueeze(0))
                    for buffer, row in zip(written, outputs[1 + self.carried :])]
            return _unaliased((iteration + 1, condition_out, *values, *rows))

        results = torch._higher_order_ops.while_loop(keep_going, step, (start, going, *carried, *buffers))
        return tuple(results[2:])

    def _scan_rows(self, start: torch.Tensor, going: torch.Tensor, carried: Sequence[Any], outer: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Each scan output's per-iteration shape: as the body declares it, else as one call of
        the body on the initial values gives it (traced, the call adds nothing the program keeps)."""
        rows = [dims for _, dims in self.scan_outputs]
        if any(dims is None for dims in rows):
            outputs = outputs_of(self.body(start, going, *carried, *outer))
            rows = [tuple(value.shape) if dims is None else dims for dims, value in zip(rows, outputs[1 + self.carried :])]
        return rows

    def _scan_buffer(self, k: int, limit: Any, row: tuple[Any, ...]) -> torch.Tensor:
        if limit is None or isinstance(limit, torch.Tensor):
            raise NotImplementedError(
                f"Loop scan output {k}: torch's while_loop stacks no outputs, so a scan output is written into a buffer "
                "of the trip count's length, which must be computed from shapes (it is computed from tensor values here)")
        return torch.zeros((limit, *row), dtype=self.scan_outputs[k][0])


def _number(value: Any, read: Read, what: str) -> Any:
    """A trip count or condition as a Python number: a tensor's (through ``read``) or the number
    an integer-shape conversion passed."""
    if isinstance(value, torch.Tensor):
        return read(value, what).reshape(-1)[0].item()
    return values_list(value)[0]


class OnnxScan(nn.Module):
    """ONNX Scan (9 and later): runs ``body(*states, *slices, *outer)`` once per position along the
    scan inputs' axes (in each input's direction); returns the final states, then each scan output
    stacked along its axis (in its direction).

    With ``as_while`` (integer shapes), a Scan along a symbolic length runs as torch's
    ``while_loop``, its scan outputs written into buffers of that length, so torch.export keeps it
    as a loop rather than unrolling it at one length."""

    def __init__(
        self,
        body: fx.GraphModule,
        states: int,
        input_axes: Sequence[int],
        input_reversed: Sequence[bool],
        output_axes: Sequence[int],
        output_reversed: Sequence[bool],
        as_while: bool = False,
    ) -> None:
        super().__init__()
        self.body = body
        self.as_while = as_while
        self.states = states
        self.input_axes = tuple(input_axes)
        self.input_reversed = tuple(input_reversed)
        self.output_axes = tuple(output_axes)
        self.output_reversed = tuple(output_reversed)

    def iterate(self, inputs: Sequence[Any], run: RunBody = call_body) -> tuple[Any, ...]:
        scanned = len(self.input_axes)
        states = list(inputs[: self.states])
        sequences = inputs[self.states : self.states + scanned]
        outer = list(inputs[self.states + scanned :])
        axes = [axis % sequence.dim() for axis, sequence in zip(self.input_axes, sequences)]
        lengths = {sequence.shape[axis] for sequence, axis in zip(sequences, axes)}
        if len(lengths) != 1:
            raise ValueError(f"Scan inputs have different lengths along their scan axes: {sorted(lengths)}")
        (length,) = lengths
        collected: list[list[Any]] = [[] for _ in self.output_axes]
        for step in range(int(length)):
            slices = [
                sequence.select(axis, length - 1 - step if reverse else step)
                for sequence, axis, reverse in zip(sequences, axes, self.input_reversed)
            ]
            outputs = outputs_of(run(self.body, [*states, *slices, *outer]))
            states = list(outputs[: self.states])
            for values, value in zip(collected, outputs[self.states :]):
                values.append(value)
        stacked = []
        for values, axis, reverse in zip(collected, self.output_axes, self.output_reversed):
            if not values:
                raise NotImplementedError("Scan over inputs of length 0 is not supported")
            ordered = values[::-1] if reverse else values
            stacked.append(torch.stack(ordered, dim=axis % (ordered[0].dim() + 1)))
        return (*states, *stacked)

    def forward(self, *inputs: Any) -> Any:
        sequences = inputs[self.states : self.states + len(self.input_axes)]
        symbolic = any(isinstance(s.shape[a % s.dim()], torch.SymInt) for s, a in zip(sequences, self.input_axes))
        results = self.while_loop(inputs) if self.as_while and symbolic else self.iterate(inputs)
        return results[0] if len(results) == 1 else results

    def while_loop(self, inputs: Sequence[Any]) -> tuple[Any, ...]:
        """The scan as torch's ``while_loop``: carried are the step, the states and one buffer per
        scan output, which each step writes a row of (at the end for a reversed output)."""
        scanned = len(self.input_axes)
        states = list(inputs[: self.states])
        sequences = inputs[self.states : self.states + scanned]
        outer = list(inputs[self.states + scanned :])
        axes = [axis % sequence.dim() for axis, sequence in zip(self.input_axes, sequences)]
        length = sequences[0].shape[axes[0]]
        for sequence, axis in zip(sequences[1:], axes[1:]):
            torch._check(sequence.shape[axis] == length, lambda: "Scan inputs have different lengths along their scan axes")

        def slices(step: torch.Tensor) -> list[torch.Tensor]:
            return [sequence.index_select(axis, (length - 1 - step if reverse else step).reshape(1)).squeeze(axis)
                    for sequence, axis, reverse in zip(sequences, axes, self.input_reversed)]

        start = torch.zeros((), dtype=torch.int64)
        # Each scan output's per-step shape, from one call of the body (traced, it adds nothing kept).
        rows = outputs_of(self.body(*states, *slices(start), *outer))[self.states :]
        buffers = [torch.zeros((length, *row.shape), dtype=row.dtype) for row in rows]

        def keep_going(step: torch.Tensor, *carried: torch.Tensor) -> torch.Tensor:
            return step < length

        def advance(step: torch.Tensor, *carried: torch.Tensor) -> tuple[torch.Tensor, ...]:
            outputs = outputs_of(self.body(*carried[: self.states], *slices(step), *outer))
            written = [buffer.index_copy(0, (length - 1 - step if reverse else step).reshape(1), value.unsqueeze(0))
                       for buffer, value, reverse in zip(carried[self.states :], outputs[self.states :], self.output_reversed)]
            return _unaliased((step + 1, *outputs[: self.states], *written))

        results = torch._higher_order_ops.while_loop(keep_going, advance, (start, *states, *buffers))
        finals, written = results[1 : 1 + self.states], results[1 + self.states :]
        stacked = [buffer.movedim(0, axis % buffer.dim()) for buffer, axis in zip(written, self.output_axes)]
        return (*finals, *stacked)


class OnnxScan8(OnnxScan):
    """ONNX Scan-8: every input and output has a batch axis first; each batch element is scanned
    along the axis after it, as Scan 9 scans along axis 0. ``sequence_lens``, when given, must be
    the full length for every element (shorter sequences are not supported)."""

    def iterate(self, inputs: Sequence[Any], run: RunBody = call_body) -> tuple[Any, ...]:
        lengths, rest = inputs[0], list(inputs[1:])
        batched = rest[: self.states + len(self.input_axes)]
        outer = rest[len(batched) :]
        full = batched[self.states].shape[1]
        if lengths is not None and bool((lengths.reshape(-1) != full).any()):
            raise NotImplementedError(f"Scan-8 with sequence_lens {lengths.tolist()} shorter than the scanned length {full}")
        per_element = [super(OnnxScan8, self).iterate([value[b] for value in batched] + outer, run) for b in range(batched[0].shape[0])]
        return tuple(torch.stack(values) for values in zip(*per_element))


def _declared(value: Any) -> tuple[torch.dtype, tuple[int, ...] | None]:
    tensor_type = value.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim]
    known = tensor_type.HasField("shape") and all(d is not None for d in dims)
    return torch_dtype(tensor_type.elem_type), (tuple(dims) if known else None)


@dataclass(frozen=True)
class LoopCounter:
    """A Loop with no trip count whose body's condition is ``counter + step < bound``: carried value
    ``counter`` grows by ``step`` each iteration, carried value ``bound`` is passed through
    unchanged (tf2onnx writes every ``tf.while_loop`` over a sequence so). It runs
    ``ceil((bound - start) / step)`` times (at least once if its first condition holds), a count
    computed from the starting values, so its scan outputs have a length known before it runs."""

    counter: int
    bound: int
    step: int


def _through_casts(name: str, producers: dict[str, NodeProto]) -> str:
    while name in producers and producers[name].op_type in ("Cast", "Identity"):
        name = producers[name].input[0]
    return name


def loop_counter(node: NodeProto) -> LoopCounter | None:
    """The counter of a Loop that counts to a bound without a trip count and has scan outputs,
    else None."""
    if (node.input[0] if node.input else "") or len(node.input) < 2 or not node.input[1]:
        return None
    body = next((a.g for a in node.attribute if a.name == "body" and a.type == AttributeProto.GRAPH), None)
    carried = len(node.input) - 2
    if body is None or len(body.output) <= 1 + carried or len(body.input) != 2 + carried:
        return None
    producers = {output: n for n in body.node for output in n.output}
    comparison = producers.get(_through_casts(body.output[0].name, producers))
    if comparison is None or comparison.op_type not in ("Less", "Greater") or len(comparison.input) != 2:
        return None
    grown, bound = comparison.input if comparison.op_type == "Less" else reversed(comparison.input)
    grown, bound = _through_casts(grown, producers), _through_casts(bound, producers)
    carried_in = [value.name for value in body.input[2:]]
    carried_out = [_through_casts(value.name, producers) for value in body.output[1 : 1 + carried]]
    addition = producers.get(grown)
    if (bound not in carried_in or carried_out[carried_in.index(bound)] != bound or addition is None
            or addition.op_type != "Add" or len(addition.input) != 2):
        return None
    constants = {t.name: t for t in body.initializer}
    constants.update({n.output[0]: n.attribute[0].t for n in body.node
                      if n.op_type == "Constant" and len(n.attribute) == 1 and n.attribute[0].name == "value"})
    for counter, step in (addition.input, reversed(addition.input)):
        counter = _through_casts(counter, producers)
        if counter in carried_in and step in constants and carried_out[carried_in.index(counter)] == grown:
            value = constant_host_value(constants[step])
            if isinstance(value, int) and value > 0:
                return LoopCounter(carried_in.index(counter), carried_in.index(bound), value)
    return None


def _counter_inputs(node: NodeProto) -> tuple[int, ...]:
    """A counting Loop reads its counter's start and its bound as values (inputs 2 + index)."""
    counter = loop_counter(node)
    return () if counter is None else (2 + counter.counter, 2 + counter.bound)


@register("Loop", 1, 11, 13, 16, 19, 21, 23, 24, 25, value_inputs=(0, 1), subgraphs=True, subgraph_value_outputs=(0,),
          node_value_inputs=_counter_inputs)
def _(node: OnnxNode, graph: OnnxGraph, subgraphs: Any) -> OperationConverterResult:
    body = body_graphs(node)["body"]
    outer = outer_names(body)
    names = list(node.input_values) + [""] * max(0, 2 - len(node.input_values))
    trip_count, condition, initial = names[0], names[1], names[2:]
    scan_outputs = [_declared(value) for value in body.output[1 + len(initial) :]]
    counter = loop_counter(node.proto)
    counted = (counter.counter, counter.bound) if counter else ()
    carried_types = [torch_dtype(value.type.tensor_type.elem_type) if k in counted else None for k, value in enumerate(body.input[2:])]
    module = OnnxLoop(subgraphs.build(body, outer), bool(trip_count), bool(condition), len(initial), scan_outputs,
                      as_while=subgraphs.integer_shapes, counter=counter, carried_types=carried_types)
    inputs = [name for name in (trip_count, condition) if name] + initial + outer
    return OperationConverterResult(module, OnnxMapping(inputs=tuple(inputs), outputs=tuple(node.output_values)))


@register("Scan", 9, 11, 16, 19, 21, 23, 24, 25, subgraphs=True)
def _(node: OnnxNode, graph: OnnxGraph, subgraphs: Any) -> OperationConverterResult:
    body = body_graphs(node)["body"]
    scanned = node.attributes["num_scan_inputs"]
    states = len(node.input_values) - scanned
    produced = len(body.output) - states
    attributes = node.attributes
    module = OnnxScan(
        subgraphs.build(body, outer_names(body)),
        states,
        attributes.get("scan_input_axes", [0] * scanned),
        [bool(d) for d in attributes.get("scan_input_directions", [0] * scanned)],
        attributes.get("scan_output_axes", [0] * produced),
        [bool(d) for d in attributes.get("scan_output_directions", [0] * produced)],
        as_while=subgraphs.integer_shapes,
    )
    inputs = (*node.input_values, *outer_names(body))
    return OperationConverterResult(module, OnnxMapping(inputs=tuple(inputs), outputs=tuple(node.output_values)))


@register("Scan", 8, value_inputs=(0,), subgraphs=True)
def _(node: OnnxNode, graph: OnnxGraph, subgraphs: Any) -> OperationConverterResult:
    body = body_graphs(node)["body"]
    scanned = node.attributes["num_scan_inputs"]
    states = len(node.input_values) - 1 - scanned
    directions = [bool(d) for d in node.attributes.get("directions", [0] * scanned)]
    produced = len(body.output) - states
    module = OnnxScan8(subgraphs.build(body, outer_names(body)), states, [0] * scanned, directions, [0] * produced, [False] * produced)
    inputs = (*node.input_values, *outer_names(body))
    return OperationConverterResult(module, OnnxMapping(inputs=tuple(inputs), outputs=tuple(node.output_values)))
