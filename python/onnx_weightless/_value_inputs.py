"""Inputs that operators read as *values* (a shape, axes, pads, scales...) rather than compute
with. Their tensors must be real: converters read them when building modules, or modules read
them in forward."""

from __future__ import annotations

from dataclasses import dataclass

from onnx import GraphProto

from ._converters import lookup
from ._converters.registry import normalize_domain

__all__ = ["VALUE_INPUTS", "ValueUse", "value_positions", "value_uses"]

# op_type -> positions of inputs read as values (ONNX operator specs, all versions).
VALUE_INPUTS: dict[str, tuple[int, ...]] = {
    # Gather: onnx2torch indexes with a scalar index's value.
    "Gather": (1,),
    "Reshape": (1,),
    "Slice": (1, 2, 3, 4),
    "Pad": (1, 2, 3),
    "Resize": (1, 2, 3),
    "Upsample": (1,),
    "Split": (1,),
    "Tile": (1,),
    "Expand": (1,),
    "TopK": (1,),
    "Range": (0, 1, 2),
    "CumSum": (1,),
    "ConstantOfShape": (0,),
    "Unsqueeze": (1,),
    "Squeeze": (1,),
    "ReduceSum": (1,),
    "ReduceMean": (1,),
    "ReduceMax": (1,),
    "ReduceMin": (1,),
    "ReduceProd": (1,),
    "ReduceL1": (1,),
    "ReduceL2": (1,),
    "ReduceLogSum": (1,),
    "ReduceLogSumExp": (1,),
    "ReduceSumSquare": (1,),
    "Clip": (1, 2),
    "OneHot": (1,),
    "NonMaxSuppression": (2, 3, 4),
    "Trilu": (1,),
    "CenterCropPad": (1,),
    "Col2Im": (1, 2),
}


@dataclass(frozen=True)
class ValueUse:
    """A node reading one of its inputs as values."""

    op_type: str
    node_name: str
    input_index: int
    #: The node's first output, which identifies it (names may be empty or repeated).
    node_output: str = ""

    def describe(self) -> str:
        name = f" {self.node_name!r}" if self.node_name else ""
        return f"{self.op_type} node{name} (input {self.input_index})"


def value_positions(domain: str, op_type: str, opset: int) -> tuple[int, ...]:
    """Input positions ``op_type`` reads as values: onnx's specs, plus what our converter declares."""
    positions = VALUE_INPUTS.get(op_type, ()) if normalize_domain(domain) == "" else ()
    registration = lookup(domain, op_type, opset)
    if registration is not None and registration.value_inputs:
        positions = tuple(sorted(set(positions) | set(registration.value_inputs)))
    return positions


# Ops whose outputs depend on their inputs' shapes only, never on their values.
_SHAPE_ONLY = frozenset({"Shape", "Size"})


def value_uses(graph: GraphProto, opsets: dict[str, int]) -> dict[str, list[ValueUse]]:
    """Value name -> the nodes of ``graph`` reading it as values (``opsets``: domain -> version).

    Values are needed all the way up: the inputs of a node computing a value read as values are
    read as values too (a Reshape's shape computed as Concat(Shape(x)[0], Constant - 1)), up to a
    Shape or Size, which read shapes only. They keep the readers of the value they lead to.
    """
    uses: dict[str, list[ValueUse]] = {}
    positions_of: dict[tuple[str, str], tuple[int, ...]] = {}
    for node in graph.node:
        key = (node.domain, node.op_type)
        if key not in positions_of:
            positions_of[key] = value_positions(node.domain, node.op_type, opsets.get(normalize_domain(node.domain), 1))
        positions = positions_of[key]
        for index in positions:
            if index < len(node.input) and node.input[index]:
                uses.setdefault(node.input[index], []).append(
                    ValueUse(node.op_type, node.name, index, node.output[0] if node.output else "")
                )
    producers = {output: node for node in graph.node for output in node.output if output}
    pending = list(uses)
    while pending:
        name = pending.pop()
        producer = producers.get(name)
        if producer is None or (producer.op_type in _SHAPE_ONLY and normalize_domain(producer.domain) == ""):
            continue
        for source in producer.input:
            if source and source not in uses:
                uses[source] = uses[name]
                pending.append(source)
    return uses
