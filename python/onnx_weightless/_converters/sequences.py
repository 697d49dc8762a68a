"""Sequence operators: an ONNX sequence is a Python list of tensors in the converted module.

Lists are never changed in place (SequenceInsert and SequenceErase return new ones), since one
ONNX value may feed several nodes. Positions are read as values; the tensors may be meta.
SequenceMap runs its body per position, like Loop and Scan (see control_flow.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule
from torch import fx, nn

from .._adapter import OnnxGraph, OperationConverterResult
from .._graphs import outer_names
from ._common import converted
from .control_flow import RunBody, body_graphs, call_body, outputs_of
from .registry import register

__all__ = [
    "OnnxConcatFromSequence",
    "OnnxSequenceAt",
    "OnnxSequenceConstruct",
    "OnnxSequenceEmpty",
    "OnnxSequenceErase",
    "OnnxSequenceInsert",
    "OnnxSequenceLength",
    "OnnxSequenceMap",
    "OnnxSplitToSequence",
]

_SEQUENCE_VERSION = 11


def _position(position: torch.Tensor | None, length: int, default: int, inserting: bool = False) -> int:
    """ONNX's position rule: negative counts from the back; valid in [-n, n-1], or [-n, n] to insert."""
    if position is None:
        return default
    index = int(position.reshape(-1)[0])
    upper = length if inserting else length - 1
    if not -length <= index <= upper:
        raise IndexError(f"sequence position {index} is out of range for a sequence of {length} tensors")
    return index + length if index < 0 else index


class OnnxSequenceEmpty(nn.Module, OnnxToTorchModule):
    def forward(self) -> list[torch.Tensor]:
        return []


class OnnxSequenceConstruct(nn.Module, OnnxToTorchModule):
    def forward(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        return list(tensors)


class OnnxSequenceAt(nn.Module, OnnxToTorchModule):
    def forward(self, sequence: list[torch.Tensor], position: torch.Tensor) -> torch.Tensor:
        return sequence[_position(position, len(sequence), 0)]


class OnnxSequenceInsert(nn.Module, OnnxToTorchModule):
    """Inserts before ``position``; without one, at the back."""

    def forward(self, sequence: list[torch.Tensor], tensor: torch.Tensor, position: torch.Tensor | None = None) -> list[torch.Tensor]:
        index = _position(position, len(sequence), len(sequence), inserting=True)
        return [*sequence[:index], tensor, *sequence[index:]]


class OnnxSequenceErase(nn.Module, OnnxToTorchModule):
    """Removes the tensor at ``position``; without one, the last."""

    def forward(self, sequence: list[torch.Tensor], position: torch.Tensor | None = None) -> list[torch.Tensor]:
        if not sequence:
            raise IndexError("SequenceErase on an empty sequence")
        index = _position(position, len(sequence), len(sequence) - 1)
        return [*sequence[:index], *sequence[index + 1 :]]


class OnnxSequenceLength(nn.Module, OnnxToTorchModule):
    def forward(self, sequence: list[torch.Tensor]) -> torch.Tensor:
        return torch.tensor(len(sequence), dtype=torch.int64)


class OnnxSplitToSequence(nn.Module, OnnxToTorchModule):
    """Without ``split``: one piece per position along ``axis``, that axis removed unless
    ``keepdims``. A scalar ``split``: pieces of that length, the last shorter. A 1-D ``split``: the
    lengths of the pieces."""

    def __init__(self, axis: int, keepdims: bool) -> None:
        super().__init__()
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, data: torch.Tensor, split: torch.Tensor | None = None) -> list[torch.Tensor]:
        axis = self.axis % data.dim()
        if split is None:
            pieces = torch.split(data, 1, dim=axis)
            return list(pieces) if self.keepdims else [piece.squeeze(axis) for piece in pieces]
        lengths = split.reshape(-1).tolist() if split.dim() == 1 else int(split)
        if isinstance(lengths, list) and sum(lengths) != data.shape[axis]:
            raise ValueError(f"SplitToSequence lengths {lengths} do not add up to the axis length {data.shape[axis]}")
        return list(torch.split(data, lengths, dim=axis))


class OnnxConcatFromSequence(nn.Module, OnnxToTorchModule):
    """Concatenates along ``axis``, or stacks along a new axis at ``axis`` with ``new_axis``."""

    def __init__(self, axis: int, new_axis: bool) -> None:
        super().__init__()
        self.axis = axis
        self.new_axis = new_axis

    def forward(self, sequence: list[torch.Tensor]) -> torch.Tensor:
        if not sequence:
            raise ValueError("ConcatFromSequence of an empty sequence: ONNX gives it no shape")
        rank = sequence[0].dim() + int(self.new_axis)
        return (torch.stack if self.new_axis else torch.cat)(sequence, dim=self.axis % rank)


class OnnxSequenceMap(nn.Module):
    """Runs ``body`` once per position of the first input (a sequence); further inputs that are
    sequences (lists) of the same length are read at that position, tensors are given to every run.
    Each body output is gathered into a sequence. Outer values the body reads come last, as for Loop."""

    def __init__(self, body: fx.GraphModule, mapped: int, produced: int) -> None:
        super().__init__()
        self.body = body
        self.mapped = mapped
        self.produced = produced

    def iterate(self, inputs: Sequence[Any], run: RunBody = call_body) -> tuple[list[Any], ...]:
        mapped, outer = list(inputs[: self.mapped]), list(inputs[self.mapped :])
        lengths = {len(value) for value in mapped if isinstance(value, list)}
        if len(lengths) != 1:
            raise ValueError(f"SequenceMap's sequences have different lengths: {sorted(lengths)}")
        (length,) = lengths
        gathered: list[list[Any]] = [[] for _ in range(self.produced)]
        for position in range(length):
            arguments = [value[position] if isinstance(value, list) else value for value in mapped]
            for values, value in zip(gathered, outputs_of(run(self.body, [*arguments, *outer]))):
                values.append(value)
        return tuple(gathered)

    def forward(self, *inputs: Any) -> Any:
        results = self.iterate(inputs)
        return results[0] if len(results) == 1 else results


def _simple(module_type: type[nn.Module]):
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        del graph
        return converted(node, module_type())

    return convert


register("SequenceEmpty", _SEQUENCE_VERSION)(_simple(OnnxSequenceEmpty))
register("SequenceConstruct", _SEQUENCE_VERSION)(_simple(OnnxSequenceConstruct))
register("SequenceAt", _SEQUENCE_VERSION, value_inputs=(1,))(_simple(OnnxSequenceAt))
register("SequenceInsert", _SEQUENCE_VERSION, value_inputs=(2,))(_simple(OnnxSequenceInsert))
register("SequenceErase", _SEQUENCE_VERSION, value_inputs=(1,))(_simple(OnnxSequenceErase))
register("SequenceLength", _SEQUENCE_VERSION)(_simple(OnnxSequenceLength))


@register("SplitToSequence", 11, 24, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    attributes = node.attributes
    return converted(node, OnnxSplitToSequence(attributes.get("axis", 0), bool(attributes.get("keepdims", 1))))


@register("ConcatFromSequence", 11)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    attributes = node.attributes
    if "axis" not in attributes:
        raise ValueError("ConcatFromSequence needs its axis attribute")
    return converted(node, OnnxConcatFromSequence(attributes["axis"], bool(attributes.get("new_axis", 0))))


@register("SequenceMap", 17, subgraphs=True)
def _(node: OnnxNode, graph: OnnxGraph, subgraphs: Any) -> OperationConverterResult:
    del graph
    body = body_graphs(node)["body"]
    outer = outer_names(body)
    module = OnnxSequenceMap(subgraphs.build(body, outer), len(node.input_values), len(body.output))
    return OperationConverterResult(module, OnnxMapping(inputs=(*node.input_values, *outer), outputs=tuple(node.output_values)))
