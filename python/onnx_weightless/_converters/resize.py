"""Resize-10 (as onnxruntime computes it) and Resize-11 to 19, every mode: nearest (all
nearest_modes), linear and cubic (cubic_coeff_a, exclude_outside, antialias), every
coordinate_transformation_mode (with Resize-19's half_pixel_symmetric, tf_crop_and_resize's roi and
extrapolation_value, and Resize-11's tf_half_pixel_for_nn at every version), and Resize-18's axes
and keep_aspect_ratio_policy.

This deliberately overrides onnx2torch's Resize-11/13, which maps every case onto
torch.nn.functional.interpolate and only warns where the results differ (the default nearest
rounding, asymmetric linear, cubic_coeff_a...). Resizing is separable, so each resized axis is
resampled in turn: every output position takes a weighted sum of a few input positions (one for
nearest), with indices and weights computed from the shapes as the ONNX reference does.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import TakesPythonValues, converted, values_list
from .registry import register

_NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
_POLICIES = ("stretch", "not_larger", "not_smaller")
_COORDINATE_MODES = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize")


def _source_coordinates(
    mode: str, out_size: int, in_size: int, scale: float, roi: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Input coordinate of each output position, and (tf_crop_and_resize) which fall outside the input."""
    y = np.arange(out_size, dtype=np.float64)
    scaled_size = scale * in_size  # the output length before flooring
    if mode == "align_corners":
        return (np.zeros_like(y) if scaled_size == 1 else y * (in_size - 1) / (scaled_size - 1)), None
    if mode == "asymmetric":
        return y / scale, None
    if mode == "pytorch_half_pixel":
        return (np.full_like(y, -0.5) if scaled_size == 1 else (y + 0.5) / scale - 0.5), None
    if mode == "half_pixel":
        return (y + 0.5) / scale - 0.5, None
    if mode == "tf_half_pixel_for_nn":
        return (y + 0.5) / scale, None
    if mode == "half_pixel_symmetric":
        offset = in_size / 2 * (1 - out_size / scaled_size)
        return offset + (y + 0.5) / scale - 0.5, None
    start, end = roi  # tf_crop_and_resize
    if scaled_size == 1:
        x = np.full_like(y, (end - start) * (in_size - 1) / 2)
    else:
        x = y * (end - start) * (in_size - 1) / (scaled_size - 1)
    x = x + start * (in_size - 1)
    return x, (x < 0) | (x > in_size - 1)


def _cubic(t: np.ndarray, a: float) -> np.ndarray:
    """The cubic convolution kernel at distances ``t``."""
    t = np.abs(t)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def _weights(mode: str, ratio: np.ndarray, scale: float, cubic_a: float, antialias: bool) -> tuple[int, np.ndarray]:
    """(offset of the first tap from the pixel left of each coordinate, weights [positions, taps]).

    ``ratio`` is each coordinate's distance past that pixel, in (0, 1]. With antialias, a
    downscaling filter is stretched by 1 / scale and so spans more taps.
    """
    support = 1 if mode == "linear" else 2
    stretch = min(scale, 1.0) if antialias else 1.0
    first = math.floor(-support / stretch) + 1
    taps = np.arange(first, 2 - first, dtype=np.float64)
    distance = (taps[None, :] - ratio[:, None]) * stretch
    if mode == "linear":
        weights = np.clip(1 - np.abs(distance), 0, 1)
    else:
        weights = _cubic(distance, cubic_a)
    if antialias:
        weights = weights / weights.sum(axis=1, keepdims=True)
    return first, weights


class OnnxResizeSeparable(nn.Module, OnnxToTorchModule, TakesPythonValues):
    """ONNX Resize; ``roi``, ``scales`` and ``sizes`` are read as values."""

    def __init__(
        self,
        mode: str,
        coordinate_mode: str,
        nearest_mode: str,
        cubic_a: float,
        exclude_outside: bool,
        extrapolation_value: float,
        antialias: bool,
        axes: list[int] | None,
        policy: str,
    ) -> None:
        super().__init__()
        self.mode = mode
        self.coordinate_mode = coordinate_mode
        self.nearest_mode = nearest_mode
        self.cubic_a = cubic_a
        self.exclude_outside = exclude_outside
        self.extrapolation_value = extrapolation_value
        self.antialias = antialias
        self.axes = axes
        self.policy = policy

    def _plan(
        self, shape: tuple[int, ...], roi: torch.Tensor | None, scales: torch.Tensor | None, sizes: torch.Tensor | None
    ) -> list[tuple[int, float, int, tuple[float, float]]]:
        """(axis, scale, output size, roi) for each resized axis."""
        rank = len(shape)
        axes = [axis % rank for axis in self.axes] if self.axes is not None else list(range(rank))
        scales = values_list(scales) if scales is not None else []
        sizes = values_list(sizes) if sizes is not None else []
        roi = values_list(roi) if roi is not None else []
        if scales:
            factors = [float(s) for s in scales]
            # Not int(): a size may be symbolic (torch.export), which int() would fix to one value.
            out_sizes = [shape[axis] if factor == 1 else math.floor(shape[axis] * factor) for axis, factor in zip(axes, factors)]
        elif sizes:
            out_sizes = list(sizes)
            # An axis kept at its size has the exact factor 1 (also when the size is symbolic).
            factors = [1.0 if size == shape[axis] else size / shape[axis] for axis, size in zip(axes, out_sizes)]
            if self.policy != "stretch":
                common = min(factors) if self.policy == "not_larger" else max(factors)
                factors = [common] * len(axes)
                out_sizes = [int(common * shape[axis] + 0.5) for axis in axes]
        else:
            raise ValueError("Resize needs scales or sizes")
        if roi:
            bounds = [float(r) for r in roi]
            rois = list(zip(bounds[: len(axes)], bounds[len(axes) :]))
        else:
            rois = [(0.0, 1.0)] * len(axes)
        return [
            (axis, factor, size, box)
            for axis, factor, size, box in zip(axes, factors, out_sizes, rois)
            if not (factor == 1 and size == shape[axis] and box == (0.0, 1.0))  # identity along this axis
        ]

    def _resize_axis(self, x: torch.Tensor, axis: int, scale: float, out_size: int, roi: tuple[float, float]) -> torch.Tensor:
        in_size = x.shape[axis]
        coordinates, outside = _source_coordinates(self.coordinate_mode, out_size, in_size, scale, roi)
        left = np.floor(coordinates)
        fraction = coordinates - left
        if self.mode == "nearest":
            rounds_up = {
                "round_prefer_floor": fraction > 0.5,
                "round_prefer_ceil": fraction >= 0.5,
                "floor": np.zeros_like(fraction, dtype=bool),
                "ceil": fraction > 0,
                # Resize-10 in onnxruntime: truncate when the axis grows, round up when it shrinks.
                "resize_10": fraction > 0 if scale < 1 else np.zeros_like(fraction, dtype=bool),
            }[self.nearest_mode]
            index = np.clip(left + rounds_up, 0, in_size - 1).astype(np.int64)
            result = x.index_select(axis, torch.from_numpy(index).to(x.device))
        else:
            # An integer coordinate counts as ratio 1 past the pixel before it, as in the reference.
            on_pixel = fraction == 0
            ratio = np.where(on_pixel, 1.0, fraction)
            base = np.where(on_pixel, left - 1, left).astype(np.int64)
            first, weights = _weights(self.mode, ratio, scale, self.cubic_a, self.antialias)
            neighbours = base[:, None] + first + np.arange(weights.shape[1])[None, :]
            if self.exclude_outside:
                weights = np.where((neighbours < 0) | (neighbours >= in_size), 0.0, weights)
                total = weights.sum(axis=1, keepdims=True)
                weights = weights / np.where(total == 0, 1.0, total)
            compute = x.dtype if x.is_floating_point() else torch.float64
            index = torch.from_numpy(np.clip(neighbours, 0, in_size - 1)).to(x.device)
            moved = x.movedim(axis, -1).to(compute)
            taken = moved[..., index]  # [..., out_size, taps]
            result = (taken * torch.from_numpy(weights).to(device=x.device, dtype=compute)).sum(-1).movedim(-1, axis)
            if not x.is_floating_point():
                info = torch.iinfo(x.dtype)
                result = result.round().clamp(info.min, info.max).to(x.dtype)
        if outside is not None and outside.any():
            shape = [1] * x.dim()
            shape[axis] = out_size
            mask = torch.from_numpy(outside).to(x.device).reshape(shape)
            result = result.masked_fill(mask, self.extrapolation_value)
        return result

    def forward(
        self,
        x: torch.Tensor,
        roi: torch.Tensor | None = None,
        scales: torch.Tensor | None = None,
        sizes: torch.Tensor | None = None,
    ) -> torch.Tensor:
        for axis, scale, out_size, box in self._plan(tuple(x.shape), roi, scales, sizes):
            x = self._resize_axis(x, axis, scale, out_size, box)
        return x


class OnnxResize10(OnnxResizeSeparable):
    """Resize-10, whose only inputs are the data and ``scales`` (read as values)."""

    def forward(self, x: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x, None, scales, None)


@register("Resize", 10, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    """Resize-10 leaves the coordinate mapping unsaid; onnxruntime (and Upsample, which it
    replaces) maps output positions asymmetrically, x / scale. This overrides onnx2torch's, which
    interpolates with half-pixel centres."""
    del graph
    mode = node.attributes.get("mode", "nearest")
    if mode not in ("nearest", "linear"):
        raise NotImplementedError(f"Resize-10 mode={mode!r} is not supported (one of nearest, linear)")
    module = OnnxResize10(mode=mode, coordinate_mode="asymmetric", nearest_mode="resize_10", cubic_a=-0.75,
                          exclude_outside=False, extrapolation_value=0.0, antialias=False, axes=None,
                          policy="stretch")
    return converted(node, module)


def _resize_converter(version: int) -> Callable[[OnnxNode, OnnxGraph], OperationConverterResult]:
    # Resize-13 dropped tf_half_pixel_for_nn from the spec, but tf2onnx still writes it at opsets
    # 13 and later (for TensorFlow's nearest resizing with half_pixel_centers) and onnxruntime
    # still computes it: accepted at every version, as Resize-11 defines it.
    coordinate_modes = (_COORDINATE_MODES + ("tf_half_pixel_for_nn",)
                        + (("half_pixel_symmetric",) if version >= 19 else ()))

    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        del graph
        attributes = node.attributes
        choices = {
            "mode": (attributes.get("mode", "nearest"), ("nearest", "linear", "cubic")),
            "coordinate_transformation_mode": (
                attributes.get("coordinate_transformation_mode", "half_pixel"),
                coordinate_modes,
            ),
            "nearest_mode": (attributes.get("nearest_mode", "round_prefer_floor"), _NEAREST_MODES),
            "keep_aspect_ratio_policy": (attributes.get("keep_aspect_ratio_policy", "stretch"), _POLICIES),
        }
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise NotImplementedError(f"Resize-{version} {name}={value!r} is not supported (one of {', '.join(allowed)})")
        axes = attributes.get("axes")
        module = OnnxResizeSeparable(
            mode=choices["mode"][0],
            coordinate_mode=choices["coordinate_transformation_mode"][0],
            nearest_mode=choices["nearest_mode"][0],
            cubic_a=attributes.get("cubic_coeff_a", -0.75),
            exclude_outside=attributes.get("exclude_outside", 0) == 1,
            extrapolation_value=attributes.get("extrapolation_value", 0.0),
            antialias=attributes.get("antialias", 0) == 1,
            axes=list(axes) if axes is not None else None,
            policy=choices["keep_aspect_ratio_policy"][0],
        )
        return converted(node, module)

    return convert


for _version in (11, 13, 18, 19):
    register("Resize", _version, value_inputs=(1, 2, 3))(_resize_converter(_version))
