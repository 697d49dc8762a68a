"""Walking ONNX graphs that hold graphs: If's branches, Loop's and Scan's bodies.

A subgraph may read values of the graphs around it (outer scope) by name; ONNX names are unique
across a graph and all its subgraphs, so one name means one value wherever it is read.
"""

from __future__ import annotations

from collections.abc import Iterator

from onnx import AttributeProto, GraphProto, NodeProto

__all__ = ["node_subgraphs", "outer_names", "walk_graphs"]


def node_subgraphs(node: NodeProto) -> Iterator[GraphProto]:
    """The graphs ``node``'s attributes hold, in attribute order."""
    for attribute in node.attribute:
        if attribute.type == AttributeProto.GRAPH:
            yield attribute.g
        elif attribute.type == AttributeProto.GRAPHS:
            yield from attribute.graphs


def walk_graphs(graph: GraphProto) -> Iterator[GraphProto]:
    """``graph`` and every graph nested in it, depth first."""
    yield graph
    for node in graph.node:
        if node.attribute:  # most nodes have none: no generator for them (this walk runs per conversion)
            for subgraph in node_subgraphs(node):
                yield from walk_graphs(subgraph)


def outer_names(graph: GraphProto) -> list[str]:
    """The values ``graph`` (or a subgraph of it) reads but does not define, in order of first use."""
    defined = {value.name for value in graph.input}
    defined.update(initializer.name for initializer in graph.initializer)
    defined.update(sparse.values.name for sparse in graph.sparse_initializer)
    found: dict[str, None] = {}
    for node in graph.node:
        read = list(node.input)
        for subgraph in node_subgraphs(node):
            read += outer_names(subgraph)
        found.update((name, None) for name in read if name and name not in defined)
        defined.update(output for output in node.output if output)
    found.update((value.name, None) for value in graph.output if value.name not in defined)
    return list(found)
