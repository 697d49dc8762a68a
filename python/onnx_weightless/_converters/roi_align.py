"""RoiAlign-10 and 16 (22, which only adds bfloat16, is their alias in versions.py) with mode=max.

onnx2torch converts mode=avg with torchvision's roi_align, which averages ONNX's samples exactly;
those nodes keep its converter. It refuses mode=max, and torchvision has no max mode to offer: ONNX's
is not the maximum of the bilinearly interpolated samples but, per sample, the largest of its four
corner values each times its bilinear weight, and then the largest over the bin's samples (as
onnxruntime and onnx's reference compute it). That is computed here, one sample position of every
bin at a time, so memory stays a few times the output's. The number of samples per bin depends on
each box's size when sampling_ratio is 0, so it is read from the boxes; on meta inputs only the
output's shape, (num_rois, C, output_height, output_width), is given.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, onnx2torch_convert
from .registry import register


def _axis_corners(coordinate: torch.Tensor, size: int) -> tuple[torch.Tensor, ...]:
    """(outside, low, high, fraction) of sample coordinates along an axis of ``size`` pixels, by
    onnxruntime's rules: beyond [-1, size] a sample reads nothing; below 0 it is moved to 0; from
    size - 1 on both neighbours are the last pixel."""
    outside = (coordinate < -1) | (coordinate > size)
    coordinate = coordinate.clamp(min=0)
    low = coordinate.floor()
    at_end = low >= size - 1
    low = torch.where(at_end, size - 1, low)
    coordinate = torch.where(at_end, low, coordinate)
    high = torch.where(at_end, low, low + 1)
    fraction = coordinate - low
    # Samples outside read pixel 0 with weight 0, as onnxruntime's do.
    low, high = (index.masked_fill(outside, 0).to(torch.int64) for index in (low, high))
    return outside, low, high, fraction


class OnnxRoiAlignMax(nn.Module, OnnxToTorchModule):
    """ONNX RoiAlign with mode=max; ``half_pixel``: coordinate_transformation_mode=half_pixel."""

    def __init__(
        self, output_height: int, output_width: int, sampling_ratio: int, spatial_scale: float, half_pixel: bool
    ) -> None:
        super().__init__()
        self.output_height, self.output_width = output_height, output_width
        self.sampling_ratio, self.spatial_scale, self.half_pixel = sampling_ratio, spatial_scale, half_pixel

    def forward(self, x: torch.Tensor, rois: torch.Tensor, batch_indices: torch.Tensor) -> torch.Tensor:
        count, channels = rois.shape[0], x.shape[1]
        out_h, out_w = self.output_height, self.output_width
        if x.is_meta or rois.is_meta or batch_indices.is_meta:
            return torch.empty((count, channels, out_h, out_w), dtype=x.dtype, device="meta")
        height, width = x.shape[2], x.shape[3]
        compute = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
        data = x.to(compute)
        boxes = rois.to(compute) * self.spatial_scale - (0.5 if self.half_pixel else 0.0)
        start_w, start_h, end_w, end_h = boxes.unbind(1)
        roi_w, roi_h = end_w - start_w, end_h - start_h
        if not self.half_pixel:  # output_half_pixel makes malformed boxes 1 x 1
            roi_w, roi_h = roi_w.clamp(min=1), roi_h.clamp(min=1)
        bin_h, bin_w = roi_h / out_h, roi_w / out_w
        if self.sampling_ratio > 0:
            grid_h = torch.full((count,), self.sampling_ratio, dtype=torch.int64, device=x.device)
            grid_w = grid_h
        else:
            grid_h = torch.ceil(bin_h).clamp(min=0).to(torch.int64)
            grid_w = torch.ceil(bin_w).clamp(min=0).to(torch.int64)
        rows = torch.arange(out_h, dtype=compute, device=x.device)
        columns = torch.arange(out_w, dtype=compute, device=x.device)
        image = batch_indices.to(torch.int64).reshape(count, 1, 1)
        best = torch.full((count, out_h, out_w, channels), -torch.inf, dtype=compute, device=x.device)
        most_h = int(grid_h.max()) if count else 0
        most_w = int(grid_w.max()) if count else 0
        # Per box, as columns: bin sizes, samples per bin (at least 1 for the division), starts.
        bin_h, bin_w = bin_h[:, None], bin_w[:, None]
        per_h, per_w = grid_h.clamp(min=1)[:, None], grid_w.clamp(min=1)[:, None]
        start_h, start_w = start_h[:, None], start_w[:, None]
        for iy in range(most_h):
            # (count, out_h): the iy-th sample row of every bin, in onnxruntime's order of operations
            y = start_h + rows * bin_h + (iy + 0.5) * bin_h / per_h
            y_outside, y_low, y_high, ly = _axis_corners(y, height)
            hy = 1 - ly
            for ix in range(most_w):
                x_pos = start_w + columns * bin_w + (ix + 0.5) * bin_w / per_w
                x_outside, x_low, x_high, lx = _axis_corners(x_pos, width)
                hx = 1 - lx
                outside = y_outside[:, :, None] | x_outside[:, None, :]
                sample = None
                for rows_at, columns_at, weight in (
                    (y_low, x_low, hy[:, :, None] * hx[:, None, :]),
                    (y_low, x_high, hy[:, :, None] * lx[:, None, :]),
                    (y_high, x_low, ly[:, :, None] * hx[:, None, :]),
                    (y_high, x_high, ly[:, :, None] * lx[:, None, :]),
                ):
                    weight = weight.masked_fill(outside, 0)
                    # (count, out_h, out_w, channels)
                    value = data[image, :, rows_at[:, :, None], columns_at[:, None, :]] * weight[..., None]
                    sample = value if sample is None else torch.maximum(sample, value)
                taken = ((iy < grid_h) & (ix < grid_w)).reshape(count, 1, 1, 1)
                best = torch.where(taken, torch.maximum(best, sample), best)
        # A bin without samples (an empty box with half_pixel) is 0.
        sampled = ((grid_h > 0) & (grid_w > 0)).reshape(count, 1, 1, 1)
        best = torch.where(sampled, best, torch.zeros_like(best))
        return best.permute(0, 3, 1, 2).to(x.dtype)


def _roi_align(version: int):
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        attributes = node.attributes
        mode = attributes.get("mode", "avg")
        if mode == "avg":
            return onnx2torch_convert(node, graph, version)
        if mode != "max":
            raise NotImplementedError(f"RoiAlign-{version} mode={mode!r} is not supported (avg or max)")
        # Version 10 has no coordinate_transformation_mode: its boxes are output_half_pixel.
        transform = "output_half_pixel"
        if version >= 16:
            transform = attributes.get("coordinate_transformation_mode", "half_pixel")
        if transform not in ("half_pixel", "output_half_pixel"):
            raise NotImplementedError(
                f"RoiAlign-{version} coordinate_transformation_mode={transform!r} is not supported"
            )
        module = OnnxRoiAlignMax(
            attributes.get("output_height", 1),
            attributes.get("output_width", 1),
            attributes.get("sampling_ratio", 0),
            attributes.get("spatial_scale", 1.0),
            transform == "half_pixel",
        )
        return converted(node, module)

    return convert


for _version in (10, 16):
    register("RoiAlign", _version)(_roi_align(_version))
