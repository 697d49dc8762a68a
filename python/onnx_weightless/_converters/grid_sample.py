"""GridSample-16, 20 and 22.

torch's grid_sample computes ONNX's linear and cubic modes as onnxruntime does: the same
unnormalization of the grid, the same padding of each tap. Its nearest mode does not: ONNX rounds
the unnormalized coordinate half to even *first* and then pads the integer index (onnxruntime and
onnx's reference reflect the rounded index), where torch reflects the continuous coordinate and
rounds after, so a tie outside the image picks another pixel. Nearest is therefore gathered here,
for every rank and element type. Linear and cubic go to torch, which has bilinear for 4-D and 5-D
inputs and bicubic for 4-D ones; a 3-D input (one spatial axis) is sampled as a 4-D one of height 1,
whose single row the grid's added coordinate 0 hits exactly. Other ranks are refused.

Version 20 renamed the modes bilinear and bicubic to linear and cubic; at 20 and 22 the old names
are accepted too (they mean the same), at 16 only the names of 16.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, known_rank
from .registry import register

# ONNX mode name -> torch's, per version.
_MODES_16 = {"bilinear": "bilinear", "nearest": "nearest", "bicubic": "bicubic"}
_MODES_20 = {**_MODES_16, "linear": "bilinear", "cubic": "bicubic"}
_PADDING_MODES = ("zeros", "border", "reflection")
# Input ranks torch's grid_sample serves, per torch mode (3: as a 4-D input of height 1).
_TORCH_RANKS = {"bilinear": (3, 4, 5), "bicubic": (3, 4)}


def _unsupported_rank(mode: str, onnx_mode: str, rank: int) -> str | None:
    """Why an input of ``rank`` cannot be sampled in ``mode`` (None: it can)."""
    if rank < 3:
        return f"GridSample input of rank {rank}: ONNX needs (N, C, D1, ...), at least 3 dimensions"
    if mode != "nearest" and rank not in _TORCH_RANKS[mode]:
        ranks = " and ".join(f"{r}-D" for r in _TORCH_RANKS[mode])
        return f"GridSample mode={onnx_mode!r} on a {rank}-D input is not supported ({ranks} inputs only)"
    return None


def _unnormalize(coordinate: torch.Tensor, size: int, align_corners: bool) -> torch.Tensor:
    """Grid coordinate in [-1, 1] -> pixel coordinate, in onnxruntime's order of operations (a
    different order moves a value off a rounding tie)."""
    if align_corners:
        return (coordinate + 1) / 2 * (size - 1)
    return ((coordinate + 1) * size - 1) / 2


def _reflect_index(index: torch.Tensor, size: int, align_corners: bool) -> torch.Tensor:
    """Integer-valued ``index`` reflected into [0, size): about -0.5 and size - 0.5 without
    align_corners, about 0 and size - 1 with it."""
    if align_corners:
        if size == 1:
            return torch.zeros_like(index)
        period = 2 * (size - 1)
        folded = torch.remainder(index, period)
        return torch.where(folded > size - 1, period - folded, folded)
    folded = torch.remainder(index, 2 * size)
    return torch.where(folded >= size, 2 * size - 1 - folded, folded)


def _nearest(x: torch.Tensor, grid: torch.Tensor, padding_mode: str, align_corners: bool) -> torch.Tensor:
    batch, channels, *spatial = x.shape
    rank = len(spatial)
    points = grid.reshape(batch, -1, rank)
    compute = grid.dtype if grid.dtype in (torch.float32, torch.float64) else torch.float32
    flat_index = torch.zeros(points.shape[:2], dtype=torch.int64, device=x.device)
    inside = torch.ones(points.shape[:2], dtype=torch.bool, device=x.device)
    stride = 1
    for axis in reversed(range(rank)):
        size = spatial[axis]
        # The grid's last dimension lists coordinates innermost axis first: (x, y, z).
        index = torch.round(_unnormalize(points[..., rank - 1 - axis].to(compute), size, align_corners))
        if padding_mode == "zeros":
            inside &= (index >= 0) & (index <= size - 1)
        elif padding_mode == "reflection":
            index = _reflect_index(index, size, align_corners)
        # Border padding clamps; for the other modes the clamp only keeps the gather in bounds
        # (zeros masks those points; NaN coordinates land on 0).
        index = torch.nan_to_num(index, nan=0.0).clamp(0, size - 1).to(torch.int64)
        flat_index += index * stride
        stride *= size
    gathered = x.reshape(batch, channels, -1).gather(2, flat_index.unsqueeze(1).expand(batch, channels, -1))
    if padding_mode == "zeros":
        gathered = gathered.masked_fill(~inside.unsqueeze(1), 0)
    return gathered.reshape(batch, channels, *grid.shape[1:-1])


class OnnxGridSample(nn.Module, OnnxToTorchModule):
    """ONNX GridSample. ``mode`` is torch's name (bilinear, bicubic, nearest); ``onnx_mode`` the
    node's, for messages."""

    def __init__(self, mode: str, onnx_mode: str, padding_mode: str, align_corners: bool) -> None:
        super().__init__()
        self.mode, self.onnx_mode = mode, onnx_mode
        self.padding_mode, self.align_corners = padding_mode, align_corners

    def forward(self, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        problem = _unsupported_rank(self.mode, self.onnx_mode, x.dim())
        if problem is not None:  # the rank was unknown at conversion
            raise NotImplementedError(problem)
        if self.mode == "nearest":
            return _nearest(x, grid, self.padding_mode, self.align_corners)
        if not x.is_floating_point():
            raise NotImplementedError(
                f"GridSample mode={self.onnx_mode!r} on {x.dtype} input: only float inputs are interpolated"
            )
        # torch samples float32/float64 with a grid of the input's type; float16 and bfloat16
        # are computed in float32.
        compute = torch.float64 if torch.float64 in (x.dtype, grid.dtype) else torch.float32
        data, points = x.to(compute), grid.to(compute)
        one_axis = x.dim() == 3
        if one_axis:
            data = data.unsqueeze(2)
            points = torch.stack((points[..., 0], torch.zeros_like(points[..., 0])), dim=-1).unsqueeze(1)
        out = F.grid_sample(
            data, points, mode=self.mode, padding_mode=self.padding_mode, align_corners=self.align_corners
        )
        if one_axis:
            out = out.squeeze(2)
        return out.to(x.dtype)


def _grid_sample(version: int):
    modes = _MODES_20 if version >= 20 else _MODES_16
    default_mode = "linear" if version >= 20 else "bilinear"

    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        attributes = node.attributes
        onnx_mode = attributes.get("mode", default_mode)
        if onnx_mode not in modes:
            raise NotImplementedError(f"GridSample-{version} mode={onnx_mode!r} is not supported ({', '.join(modes)})")
        padding_mode = attributes.get("padding_mode", "zeros")
        if padding_mode not in _PADDING_MODES:
            raise NotImplementedError(
                f"GridSample-{version} padding_mode={padding_mode!r} is not supported ({', '.join(_PADDING_MODES)})"
            )
        align_corners = attributes.get("align_corners", 0)
        if align_corners not in (0, 1):
            raise NotImplementedError(f"GridSample-{version} align_corners={align_corners} is not supported (0 or 1)")
        mode = modes[onnx_mode]
        x_rank = known_rank(node.input_values[0], graph)
        grid_rank = known_rank(node.input_values[1], graph)
        rank = x_rank if x_rank is not None else grid_rank  # both are spatial rank + 2
        problem = None if rank is None else _unsupported_rank(mode, onnx_mode, rank)
        if problem is not None:
            raise NotImplementedError(problem)
        return converted(node, OnnxGridSample(mode, onnx_mode, padding_mode, bool(align_corners)))

    return convert


for _version in (16, 20, 22):
    register("GridSample", _version)(_grid_sample(_version))
