"""Pad, every version: pads as attributes (1, 2), as inputs (11, 13), the optional ``axes`` input
(18) and ``wrap`` mode (19); every mode on any axes (onnx2torch's reflect covers only some ranks).

torch's reflect/replicate/circular padding only covers the last few dimensions, so those modes
gather along each padded axis with computed source indices instead; negative pads crop.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import TakesPythonValues, converted, values_list
from .registry import register


def _source_indices(mode: str, size: int, begin: int, end: int, device: torch.device) -> torch.Tensor:
    """For each position along a padded axis, the input position it copies."""
    position = torch.arange(-begin, size + end, device=device)
    if mode == "edge":
        return position.clamp(0, size - 1)
    if mode == "wrap":
        return position.remainder(size)
    period = 2 * (size - 1)  # reflect: mirror about the first and last elements
    folded = position.abs().remainder(max(period, 1))
    return torch.where(folded >= size, period - folded, folded)


class OnnxPad18(nn.Module, OnnxToTorchModule, TakesPythonValues):
    """ONNX Pad; ``pads``, ``constant_value`` and ``axes`` are read as values."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(
        self,
        data: torch.Tensor,
        pads: torch.Tensor,
        constant_value: torch.Tensor | None = None,
        axes: torch.Tensor | None = None,
    ) -> torch.Tensor:
        rank = data.dim()
        amounts = values_list(pads)
        axis_list = [a % rank for a in values_list(axes)] if axes is not None else list(range(rank))
        count = len(axis_list)
        if len(amounts) != 2 * count:
            raise ValueError(f"Pad has {len(amounts)} pads for {count} axes")
        per_axis = {axis: (amounts[i], amounts[count + i]) for i, axis in enumerate(axis_list)}
        if self.mode == "constant":
            torch_pads: list[int] = []
            for axis in reversed(range(rank)):  # F.pad lists the last dimension first
                torch_pads.extend(per_axis.get(axis, (0, 0)))
            given_value = values_list(constant_value) if constant_value is not None else []
            value = given_value[0] if given_value else 0
            return F.pad(data, torch_pads, mode="constant", value=value)
        for axis, (begin, end) in per_axis.items():
            if begin or end:
                index = _source_indices(self.mode, data.shape[axis], begin, end, data.device)
                data = data.index_select(axis, index)
        return data


def _pad_converter(version: int, modes: tuple[str, ...]) -> Callable[[OnnxNode, OnnxGraph], OperationConverterResult]:
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        del graph
        mode = node.attributes.get("mode", "constant")
        if mode not in modes:
            raise NotImplementedError(f"Pad-{version} mode={mode!r} is not supported (one of {', '.join(modes)})")
        return converted(node, OnnxPad18(mode))

    return convert


register("Pad", 18, value_inputs=(1, 2, 3))(_pad_converter(18, ("constant", "reflect", "edge")))
for _version in (19, 21, 23, 24, 25):
    register("Pad", _version, value_inputs=(1, 2, 3))(_pad_converter(_version, ("constant", "reflect", "edge", "wrap")))


class OnnxPadAttributes(OnnxPad18):
    """Pad-1 and 2: pads and the constant value are attributes."""

    def __init__(self, mode: str, pads: list[int], value: float) -> None:
        super().__init__(mode)
        self.pads = pads
        self.value = value

    def forward(self, data: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(data, torch.tensor(self.pads), torch.tensor(self.value, dtype=data.dtype))


def _pad_attributes(version: int) -> Callable[[OnnxNode, OnnxGraph], OperationConverterResult]:
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        del graph
        attributes = node.attributes
        mode = attributes.get("mode", "constant")
        if mode not in ("constant", "reflect", "edge"):
            raise NotImplementedError(f"Pad-{version} mode={mode!r} is not supported (one of constant, reflect, edge)")
        pads = list(attributes["paddings" if version == 1 else "pads"])
        return converted(node, OnnxPadAttributes(mode, pads, float(attributes.get("value", 0.0))))

    return convert


for _version in (1, 2):
    register("Pad", _version)(_pad_attributes(_version))
for _version in (11, 13):
    register("Pad", _version, value_inputs=(1, 2))(_pad_converter(_version, ("constant", "reflect", "edge")))
