"""If: its branches become sub-GraphModules, converted like any graph (weightless too).

A branch reads values of the graphs around it by name; its GraphModule takes them as inputs
(``_graphs.outer_names``), and the If module passes them on. A condition known at conversion time
(an initializer or a Constant) keeps the taken branch only. Otherwise the condition is read at run
time; ``meta_forward`` reads it when it is real, and on a meta condition runs both branches and
requires them to agree (see _meta_forward).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from onnx import AttributeProto, GraphProto
from onnx2torch.onnx_node import OnnxNode
from torch import fx, nn

from .._adapter import OnnxGraph, OnnxMapping, OperationConverterResult
from .._graphs import outer_names
from .registry import register

__all__ = ["OnnxIf", "OnnxTakenBranch"]


def _picks(names: Sequence[str], among: Sequence[str]) -> tuple[int, ...]:
    return tuple(among.index(name) for name in names)


class OnnxIf(nn.Module):
    """Runs the branch the condition selects. Its inputs are the condition, then the values of
    enclosing graphs either branch reads; each branch takes those it reads, picked by position."""

    def __init__(
        self, then_branch: fx.GraphModule, else_branch: fx.GraphModule, then_picks: tuple[int, ...], else_picks: tuple[int, ...]
    ) -> None:
        super().__init__()
        self.then_branch = then_branch
        self.else_branch = else_branch
        self.then_picks = then_picks
        self.else_picks = else_picks

    def branch(self, taken: bool, outer: Sequence[Any]) -> tuple[fx.GraphModule, list[Any]]:
        """The branch a condition of ``taken`` selects, and its inputs among ``outer``."""
        module, picks = (self.then_branch, self.then_picks) if taken else (self.else_branch, self.else_picks)
        return module, [outer[i] for i in picks]

    def forward(self, condition: torch.Tensor, *outer: Any) -> Any:
        module, inputs = self.branch(bool(condition.reshape(-1)[0]), outer)
        return module(*inputs)


class OnnxTakenBranch(nn.Module):
    """The branch of an If whose condition was known at conversion time; takes what it reads."""

    def __init__(self, branch: fx.GraphModule, taken: bool) -> None:
        super().__init__()
        self.branch = branch
        self.taken = taken

    def forward(self, *outer: Any) -> Any:
        return self.branch(*outer)


def _graphs(node: OnnxNode) -> dict[str, GraphProto]:
    return {attribute.name: attribute.g for attribute in node.proto.attribute if attribute.type == AttributeProto.GRAPH}


@register("If", 1, 11, 13, 16, 19, 21, 23, 24, 25, value_inputs=(0,), subgraphs=True)
def _(node: OnnxNode, graph: OnnxGraph, subgraphs: Any) -> OperationConverterResult:
    bodies = _graphs(node)
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
    )
    return OperationConverterResult(module, OnnxMapping(inputs=(condition, *outer), outputs=outputs))
