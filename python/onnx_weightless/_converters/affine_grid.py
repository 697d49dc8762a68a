"""AffineGrid-20: the sampling grid of a batch of 2-D or 3-D affine transforms.

The base grid is built here rather than by torch's affine_grid, which puts the single position of
an axis of size 1 at 0 with align_corners. ONNX leaves that case undefined (its function body steps
by 2 / (size - 1) and gives NaN; onnx's reference puts the position at -1); onnxruntime puts it at
1, the end of its linspace, and so does this converter. ``size`` (N, C, H, W) or (N, C, D, H, W) is
read as a value; ``theta`` may be a meta tensor.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register


def _positions(size: int, align_corners: bool, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Normalized coordinates of the ``size`` positions along one axis."""
    if align_corners:
        if size == 1:  # onnxruntime's choice; see above
            return torch.ones(1, dtype=dtype, device=device)
        return torch.linspace(-1, 1, size, dtype=dtype, device=device)
    # Pixel centres: -1 + (2i + 1) / size.
    return (torch.arange(size, dtype=dtype, device=device) * 2 + 1) / size - 1


class OnnxAffineGrid(nn.Module, OnnxToTorchModule):
    """ONNX AffineGrid: output[n, (d,) h, w] = theta[n] @ (x_w, y_h, (z_d,) 1)."""

    def __init__(self, align_corners: bool) -> None:
        super().__init__()
        self.align_corners = align_corners

    def forward(self, theta: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
        dims = [int(v) for v in size.reshape(-1).tolist()]
        if len(dims) not in (4, 5):
            raise ValueError(f"AffineGrid size {dims}: expected (N, C, H, W) or (N, C, D, H, W)")
        spatial = dims[2:]
        rank = len(spatial)
        if theta.dim() != 3 or tuple(theta.shape[1:]) != (rank, rank + 1):
            raise ValueError(f"AffineGrid theta of shape {list(theta.shape)} for size {dims}: expected (N, {rank}, {rank + 1})")
        if theta.shape[0] != dims[0]:
            raise ValueError(f"AffineGrid theta holds {theta.shape[0]} transforms, size asks for N={dims[0]}")
        compute = theta.dtype if theta.dtype in (torch.float32, torch.float64) else torch.float32
        # The innermost axis is x: coordinates are listed (x, y, z), axes (D, H, W).
        axes = [_positions(n, self.align_corners, compute, theta.device) for n in spatial]
        mesh = torch.meshgrid(*axes, indexing="ij")
        base = torch.stack([*reversed(mesh), torch.ones_like(mesh[0])], dim=-1).reshape(-1, rank + 1)
        grid = torch.matmul(base, theta.to(compute).transpose(1, 2))  # (N, points, rank)
        return grid.reshape(dims[0], *spatial, rank).to(theta.dtype)


@register("AffineGrid", 20, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    align_corners = node.attributes.get("align_corners", 0)
    if align_corners not in (0, 1):
        raise NotImplementedError(f"AffineGrid-20 align_corners={align_corners} is not supported (0 or 1)")
    return converted(node, OnnxAffineGrid(bool(align_corners)))
