"""A sequence split off a tensor, mapped and stacked back, as the Scan it is.

``SplitToSequence(x, axis=a) -> SequenceMap(body) -> ConcatFromSequence(axis=c, new_axis=1)``
runs ``body`` on each slice of ``x`` along ``a`` and stacks the results along ``c``: a Scan (spox
and onnxscript write it so). Run as Python lists, the sequence holds as many tensors as the traced
example had, and torch.export fixes that length; run as a Scan, it is a loop along a symbolic
size. The integer-shape conversion rewrites the pattern so, when the sequences are read by nothing
else than these nodes and ``SequenceLength`` (which becomes the size of ``x`` along ``a``).
"""

from __future__ import annotations

from onnx import GraphProto, NodeProto, helper

__all__ = ["sequence_scans"]


def _attribute(node: NodeProto, name: str, default: int) -> int:
    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)


def _rewrite(graph: GraphProto, mapping: NodeProto, split: NodeProto,
             readers: dict[str, list[NodeProto]]) -> dict[int, list[NodeProto]] | None:
    """Node id -> the nodes replacing it (none: removed), if ``mapping`` maps ``split``'s sequence
    into sequences only stacked or counted; else None."""
    source, axis = split.input[0], _attribute(split, "axis", 0)
    if len(split.input) > 1 and split.input[1] or _attribute(split, "keepdims", 1) != 0 or len(mapping.input) != 1:
        return None
    outputs = {value.name for value in graph.output}
    sequences = [split.output[0], *mapping.output]
    if any(name in outputs for name in sequences):
        return None
    replaced: dict[int, list[NodeProto]] = {id(split): []}
    stacking_axes = []
    for index, name in enumerate(sequences):
        axes = set()
        for reader in readers.get(name, []):
            if reader is mapping and index == 0:
                continue
            if reader.op_type == "SequenceLength":
                # The size along the axis, 0-D: Shape's one-element slice (opset 15; SequenceMap
                # is 17), summed. No constant is added: the module's state stays the model's.
                size = f"{reader.output[0]}__size"
                window = {"start": axis} | ({"end": axis + 1} if axis != -1 else {})
                replaced[id(reader)] = [
                    helper.make_node("Shape", [source], [size], name=f"{reader.name}__size", **window),
                    helper.make_node("ReduceSum", [size], [reader.output[0]], name=reader.name, keepdims=0),
                ]
            elif index > 0 and reader.op_type == "ConcatFromSequence" and _attribute(reader, "new_axis", 0) == 1:
                axes.add(_attribute(reader, "axis", 0))
                replaced[id(reader)] = [helper.make_node("Identity", [name], [reader.output[0]], name=reader.name)]
            else:
                return None
        if index > 0:
            if len(axes) > 1:
                return None
            stacking_axes.append(axes.pop() if axes else 0)
    body = next(a.g for a in mapping.attribute if a.name == "body")
    replaced[id(mapping)] = [helper.make_node(
        "Scan", [source], list(mapping.output), name=mapping.name, body=body, num_scan_inputs=1,
        scan_input_axes=[axis], scan_output_axes=stacking_axes)]
    return replaced


def sequence_scans(graph: GraphProto) -> int:
    """Rewrites each SplitToSequence -> SequenceMap -> ConcatFromSequence of ``graph`` (not of its
    subgraphs, which are rewritten when they are built) as a Scan; returns how many."""
    nodes = list(graph.node)  # held, so that each node keeps one identity (the keys below)
    producers = {name: node for node in nodes for name in node.output}
    readers: dict[str, list[NodeProto]] = {}
    for node in nodes:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    replaced: dict[int, list[NodeProto]] = {}
    count = 0
    for node in nodes:
        split = producers.get(node.input[0]) if node.op_type == "SequenceMap" and node.domain in ("", "ai.onnx") and node.input else None
        if split is None or split.op_type != "SplitToSequence" or id(node) in replaced:
            continue
        found = _rewrite(graph, node, split, readers)
        if found is not None and not set(found) & set(replaced):
            replaced.update(found)
            count += 1
    if count:
        rewritten = [new for node in nodes for new in replaced.get(id(node), [node])]
        changed = {name for node in rewritten if node.op_type == "Scan" for name in node.output}
        kept_info = [info for info in graph.value_info if info.name not in changed]  # sequences no longer
        del graph.node[:]
        graph.node.extend(rewritten)
        del graph.value_info[:]
        graph.value_info.extend(kept_info)
    return count
