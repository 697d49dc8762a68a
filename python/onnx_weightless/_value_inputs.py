"""Inputs that operators read as *values* (a shape, axes, pads, scales...) rather than compute
with. Their tensors must be real: converters read them when building modules, or modules read
them in forward."""

from __future__ import annotations

from dataclasses import dataclass

from onnx import GraphProto, NodeProto

from ._converters import OpTraits, lookup
from ._converters.registry import normalize_domain
from ._graphs import node_subgraphs, walk_graphs

__all__ = ["ValueUse", "value_positions", "value_uses"]


@dataclass(frozen=True)
class ValueUse:
    """A node reading one of its inputs as values."""

    op_type: str
    node_name: str
    input_index: int
    #: The node's first output, which identifies it (names may be empty or repeated).
    node_output: str = ""
    #: ``input_index`` counts the outputs of the node's subgraph (Loop's body condition).
    subgraph_output: bool = False

    def describe(self) -> str:
        name = f" {self.node_name!r}" if self.node_name else ""
        return f"{self.op_type} node{name} ({'body output' if self.subgraph_output else 'input'} {self.input_index})"


def value_positions(domain: str, op_type: str, opset: int) -> tuple[int, ...]:
    """Input positions ``op_type`` reads as values (its registry record's traits)."""
    return lookup(domain, op_type, opset).traits.value_inputs


def value_uses(graph: GraphProto, opsets: dict[str, int]) -> dict[str, list[ValueUse]]:
    """Value name -> the nodes of ``graph`` reading it as values (``opsets``: domain -> version).

    Values are needed all the way up: the inputs of a node computing a value read as values are
    read as values too (a Reshape's shape computed as Concat(Shape(x)[0], Constant - 1)), up to a
    Shape or Size, which read shapes only; so are the outputs of the branches or body of an If or
    Loop computing one. They keep the readers of the value they lead to. Nodes of subgraphs count
    like the graph's own (ONNX names are unique across them).
    """
    uses: dict[str, list[ValueUse]] = {}
    traits_of: dict[tuple[str, str], OpTraits] = {}  # a graph has far fewer op types than nodes

    def traits(node: NodeProto) -> OpTraits:
        key = (node.domain, node.op_type)
        if key not in traits_of:
            traits_of[key] = lookup(node.domain, node.op_type, opsets.get(normalize_domain(node.domain), 1)).traits
        return traits_of[key]

    nodes = [node for held in walk_graphs(graph) for node in held.node]
    for node in nodes:
        first_output = node.output[0] if node.output else ""
        for index in traits(node).value_inputs_of(node):
            if index < len(node.input) and node.input[index]:
                uses.setdefault(node.input[index], []).append(ValueUse(node.op_type, node.name, index, first_output))
        for index in traits(node).subgraph_value_outputs:
            for subgraph in node_subgraphs(node):
                if index < len(subgraph.output):
                    uses.setdefault(subgraph.output[index].name, []).append(
                        ValueUse(node.op_type, node.name, index, first_output, subgraph_output=True)
                    )
    producers = {output: node for node in nodes for output in node.output if output}
    pending = list(uses)
    while pending:
        name = pending.pop()
        producer = producers.get(name)
        if producer is None or traits(producer).shape_only:
            continue
        sources = list(producer.input)
        for subgraph in node_subgraphs(producer):
            sources += [output.name for output in subgraph.output]
        for source in sources:
            if source and source not in uses:
                uses[source] = uses[name]
                pending.append(source)
    return uses
