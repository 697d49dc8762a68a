"""Sampling operators: GridSample, AffineGrid, DeformConv, and RoiAlign's max mode, checked against
onnxruntime (onnx's reference evaluator where onnxruntime lacks a case), with weights, weightless,
and through meta_forward."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.conftest import make_model
from tests.converter_checks import check_converter, conversion_refused, reference_outputs

FLOAT, DOUBLE, INT64 = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64


def _model(op_type, inputs: dict, opset: int, initializers=(), output_type=FLOAT, **attributes) -> onnx.ModelProto:
    """One node ``op_type`` over graph ``inputs`` (name -> (element type, shape or None)), then
    ``initializers``, with one output ``y``."""
    names = [*inputs, *(i.name for i in initializers)]
    node = helper.make_node(op_type, names, ["y"], name="node", **attributes)
    model = make_model(
        [node],
        [helper.make_tensor_value_info(name, kind, shape) for name, (kind, shape) in inputs.items()],
        [helper.make_tensor_value_info("y", output_type, None)],
        list(initializers),
        opset=opset,
    )
    model.ir_version = 10
    return model


def _normal(rng, *shape, dtype=np.float32) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------- GridSample


def _grid_sample(opset, x_shape, grid_shape, kind=FLOAT, grid_kind=None, **attributes) -> onnx.ModelProto:
    """Shapes None: the ranks are unknown when converting."""
    inputs = {
        "x": (kind, list(x_shape) if x_shape else None),
        "grid": (grid_kind or kind, list(grid_shape) if grid_shape else None),
    }
    return _model("GridSample", inputs, opset, output_type=kind, **attributes)


def _grid(rng, *shape, spread=1.6) -> np.ndarray:
    """Points inside and outside [-1, 1]: beyond it each padding mode decides."""
    return rng.uniform(-spread, spread, shape).astype(np.float32)


def _ties(size: int, align_corners: int, points: int = 33) -> np.ndarray:
    """Grid coordinates of every half and whole pixel from -4 to size + 3 (exact in float32 for
    power-of-two sizes, and for size - 1 a power of two with align_corners)."""
    pixels = np.arange(-8, 2 * size + 7) / 2
    if align_corners:
        coordinates = pixels / (size - 1) * 2 - 1
    else:
        coordinates = (2 * pixels + 1) / size - 1
    assert np.all(coordinates.astype(np.float32) == coordinates)
    return coordinates.astype(np.float32)[:points]


@pytest.mark.parametrize("mode", ["linear", "cubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [0, 1])
def test_gridsample_interpolates_4d_inputs_with_each_padding_mode(mode, padding_mode, align_corners, rng):
    x, grid = _normal(rng, 2, 3, 5, 6), _grid(rng, 2, 4, 7, 2, spread=3.5)
    model = _grid_sample(20, x.shape, grid.shape, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    check_converter(model, {"x": x, "grid": grid})


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
def test_gridsample_16_takes_the_mode_names_of_16(mode, rng):
    x, grid = _normal(rng, 1, 2, 4, 5), _grid(rng, 1, 3, 6, 2)
    check_converter(_grid_sample(16, x.shape, grid.shape, mode=mode, padding_mode="border"), {"x": x, "grid": grid})


@pytest.mark.parametrize("old, new", [("bilinear", "linear"), ("bicubic", "cubic")])
def test_gridsample_20_also_accepts_the_mode_names_of_16(old, new, rng):
    x, grid = _normal(rng, 1, 2, 4, 5), _grid(rng, 1, 3, 6, 2)
    expected = reference_outputs(_grid_sample(20, x.shape, grid.shape, mode=new), {"x": x, "grid": grid})[0]
    module = ow.convert(_grid_sample(20, x.shape, grid.shape, mode=old), with_weights=True, strict=True)
    got = module(torch.from_numpy(x), torch.from_numpy(grid))
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5, rtol=1e-5)


def test_gridsample_16_refuses_the_mode_names_of_20():
    with conversion_refused(r"GridSample-16 mode='cubic'"):
        ow.convert(_grid_sample(16, (1, 1, 4, 4), (1, 2, 2, 2), mode="cubic"), strict=True)


def test_gridsample_refuses_an_unknown_padding_mode():
    with conversion_refused(r"padding_mode='wrap'"):
        ow.convert(_grid_sample(20, (1, 1, 4, 4), (1, 2, 2, 2), padding_mode="wrap"), strict=True)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners, size", [(0, 4), (0, 8), (1, 5), (1, 9)])
def test_gridsample_nearest_rounds_half_to_even_before_padding(padding_mode, align_corners, size):
    """ONNX rounds the unnormalized coordinate (ties to even), then pads the integer index; these
    grids put every point on a half or whole pixel, inside and outside the image."""
    x = np.arange(2 * size * size, dtype=np.float32).reshape(1, 2, size, size)
    coordinates = _ties(size, align_corners)
    gx, gy = np.meshgrid(coordinates, coordinates[::-1])
    grid = np.stack([gx, gy], axis=-1)[None]
    model = _grid_sample(20, x.shape, grid.shape, mode="nearest", padding_mode=padding_mode, align_corners=align_corners)
    check_converter(model, {"x": x, "grid": grid}, atol=0, rtol=0)
    if padding_mode == "reflection" and not align_corners:
        # torch reflects before rounding: these ties are where it and ONNX part.
        expected = reference_outputs(model, {"x": x, "grid": grid})[0]
        torch_nearest = F.grid_sample(
            torch.from_numpy(x), torch.from_numpy(grid), mode="nearest", padding_mode=padding_mode, align_corners=False
        )
        assert not np.array_equal(torch_nearest.numpy(), expected)


@pytest.mark.parametrize("mode", ["linear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [0, 1])
def test_gridsample_samples_5d_inputs_in_linear_and_nearest_modes(mode, padding_mode, align_corners, rng):
    x, grid = _normal(rng, 2, 2, 3, 4, 5), _grid(rng, 2, 3, 2, 4, 3, spread=3.0)
    model = _grid_sample(20, x.shape, grid.shape, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    check_converter(model, {"x": x, "grid": grid})


def test_gridsample_cubic_on_a_5d_input_is_refused():
    with conversion_refused(r"mode='cubic' on a 5-D input"):
        ow.convert(_grid_sample(20, (1, 1, 3, 4, 5), (1, 2, 2, 2, 3), mode="cubic"), strict=True)


def test_gridsample_cubic_on_a_5d_input_of_unknown_rank_is_refused_when_run(rng):
    module = ow.convert(_grid_sample(20, None, None, mode="cubic"), with_weights=True, strict=True)
    with pytest.raises(NotImplementedError, match=r"mode='cubic' on a 5-D input"):
        module(torch.zeros(1, 1, 3, 4, 5), torch.zeros(1, 2, 2, 2, 3))


@pytest.mark.parametrize("mode", ["linear", "nearest", "cubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [0, 1])
def test_gridsample_samples_one_spatial_axis_as_a_row_of_height_one(mode, padding_mode, align_corners, rng):
    """onnxruntime takes 4-D and 5-D inputs only: a 3-D input is checked against onnxruntime on the
    same data as an image of height 1 sampled on its row, and against onnx's reference, except for
    cubic with border padding, where the reference clamps the coordinate before taking the cubic's
    taps and onnxruntime (and torch) clamp each tap."""
    x, grid = _normal(rng, 2, 2, 5), _grid(rng, 2, 7, 1, spread=3.0)
    attributes = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    model = _grid_sample(20, x.shape, grid.shape, **attributes)
    if not (mode == "cubic" and padding_mode == "border"):
        check_converter(model, {"x": x, "grid": grid}, use_onnxruntime=False)
    row = np.stack([grid[..., 0], np.zeros_like(grid[..., 0])], axis=-1)[:, None]  # (N, 1, 7, 2)
    image = x[:, :, None]
    expected = reference_outputs(_grid_sample(20, image.shape, row.shape, **attributes), {"x": image, "grid": row})[0]
    got = ow.convert(model, with_weights=True, strict=True)(torch.from_numpy(x), torch.from_numpy(grid))
    np.testing.assert_allclose(got.numpy(), expected[:, :, 0], atol=1e-5, rtol=1e-5)


def test_gridsample_computes_double_inputs_in_double(rng):
    x, grid = _normal(rng, 1, 2, 4, 5, dtype=np.float64), _grid(rng, 1, 3, 6, 2).astype(np.float64)
    check_converter(_grid_sample(20, x.shape, grid.shape, kind=DOUBLE, mode="cubic"), {"x": x, "grid": grid}, atol=1e-12, rtol=1e-12)


def test_gridsample_nearest_copies_integer_elements_exactly(rng):
    """T1 admits integer types from version 20; onnxruntime samples floats only."""
    x = rng.integers(-2**40, 2**40, (1, 2, 4, 4), dtype=np.int64)
    coordinates = _ties(4, 0)
    grid = np.stack(np.meshgrid(coordinates, coordinates), axis=-1)[None]
    model = _grid_sample(20, x.shape, grid.shape, kind=INT64, grid_kind=FLOAT, mode="nearest", padding_mode="reflection")
    check_converter(model, {"x": x, "grid": grid}, use_onnxruntime=False, atol=0, rtol=0)


# ---------------------------------------------------------------- AffineGrid


def _affine_grid(size, align_corners) -> onnx.ModelProto:
    rank = len(size) - 2
    size_tensor = numpy_helper.from_array(np.array(size, np.int64), "size")
    return _model("AffineGrid", {"theta": (FLOAT, [size[0], rank, rank + 1])}, 20, [size_tensor], align_corners=align_corners)


@pytest.mark.parametrize("size", [[2, 3, 4, 5], [2, 3, 4, 5, 6]], ids=["2d", "3d"])
@pytest.mark.parametrize("align_corners", [0, 1])
def test_affine_grid_transforms_the_normalized_positions(size, align_corners, rng):
    theta = _normal(rng, size[0], len(size) - 2, len(size) - 1)
    check_converter(_affine_grid(size, align_corners), {"theta": theta})


@pytest.mark.parametrize("size", [[1, 2, 1, 5], [1, 2, 4, 1], [2, 1, 1, 1], [1, 1, 1, 3, 1]])
@pytest.mark.parametrize("align_corners", [0, 1])
def test_affine_grid_places_a_single_position_as_onnxruntime_does(size, align_corners, rng):
    """An axis of size 1 sits at 0 without align_corners. With it, ONNX's definition divides by
    zero (its function body gives NaN, onnx's reference -1, torch's affine_grid 0): onnxruntime
    puts it at 1, and so do we."""
    theta = _normal(rng, size[0], len(size) - 2, len(size) - 1)
    check_converter(_affine_grid(size, align_corners), {"theta": theta})


# ---------------------------------------------------------------- DeformConv

# (name, X shape, W shape, attributes); offsets are scaled to reach outside the image.
_DEFORM_CASES = [
    ("plain", (1, 2, 6, 7), (3, 2, 3, 3), {}),
    ("strides_dilations", (2, 2, 9, 8), (4, 2, 3, 2), {"strides": [2, 1], "dilations": [1, 2]}),
    ("symmetric_pads", (1, 3, 5, 5), (2, 3, 3, 3), {"pads": [1, 1, 1, 1]}),
    ("asymmetric_pads", (1, 2, 5, 6), (2, 2, 2, 3), {"pads": [0, 2, 1, 1], "strides": [1, 2]}),
    ("group", (1, 4, 6, 6), (6, 2, 3, 3), {"group": 2}),
    ("offset_group", (2, 4, 6, 5), (2, 4, 2, 2), {"offset_group": 2}),
    ("group_and_offset_group", (1, 6, 5, 5), (4, 3, 3, 3), {"group": 2, "offset_group": 3, "pads": [1, 0, 1, 0]}),
]


def _out_size(size, begin, end, kernel, stride, dilation):
    return (size + begin + end - (kernel - 1) * dilation - 1) // stride + 1


def _deform_case(rng, x_shape, w_shape, attributes, bias: bool, mask: bool, opset: int = 22):
    """(model with W and B as initializers, feeds of X, offset and mask)."""
    pads = attributes.get("pads", [0, 0, 0, 0])
    strides, dilations = attributes.get("strides", [1, 1]), attributes.get("dilations", [1, 1])
    out_h = _out_size(x_shape[2], pads[0], pads[2], w_shape[2], strides[0], dilations[0])
    out_w = _out_size(x_shape[3], pads[1], pads[3], w_shape[3], strides[1], dilations[1])
    points = attributes.get("offset_group", 1) * w_shape[2] * w_shape[3]
    feeds = {
        "x": _normal(rng, *x_shape),
        "offset": _normal(rng, x_shape[0], 2 * points, out_h, out_w) * 2,
    }
    initializers = [numpy_helper.from_array(_normal(rng, *w_shape), "W")]
    if bias:
        initializers.append(numpy_helper.from_array(_normal(rng, w_shape[0]), "B"))
    if mask:
        feeds["mask"] = rng.uniform(0, 1, (x_shape[0], points, out_h, out_w)).astype(np.float32)
    inputs = ["x", "W", "offset", "B" if bias else "", "mask" if mask else ""]  # '': omitted
    node = helper.make_node("DeformConv", inputs, ["y"], name="node", **attributes)
    graph_inputs = [helper.make_tensor_value_info(name, FLOAT, list(value.shape)) for name, value in feeds.items()]
    model = make_model([node], graph_inputs, [helper.make_tensor_value_info("y", FLOAT, None)], initializers, opset=opset)
    model.ir_version = 10
    return model, feeds


@pytest.mark.parametrize("name, x_shape, w_shape, attributes", _DEFORM_CASES, ids=[c[0] for c in _DEFORM_CASES])
@pytest.mark.parametrize("bias, mask", [(False, False), (True, True)], ids=["plain", "bias_mask"])
def test_deform_conv_samples_at_the_offset_kernel_positions(name, x_shape, w_shape, attributes, bias, mask, rng):
    model, feeds = _deform_case(rng, x_shape, w_shape, attributes, bias, mask)
    check_converter(model, feeds)


@pytest.mark.parametrize("opset", [19, 22])
def test_deform_conv_takes_a_mask_without_a_bias(opset, rng):
    model, feeds = _deform_case(rng, (1, 2, 5, 5), (2, 2, 3, 3), {"pads": [1, 1, 1, 1]}, bias=False, mask=True, opset=opset)
    check_converter(model, feeds)


def test_deform_conv_weightless_holds_w_on_meta_and_gives_the_output_shape(rng):
    attributes = {"group": 2, "offset_group": 2, "pads": [0, 1, 2, 1], "strides": [2, 1]}
    model, feeds = _deform_case(rng, (2, 4, 7, 6), (6, 2, 3, 2), attributes, bias=True, mask=True)
    weightless = ow.convert(model, strict=True, size_threshold=0)
    state = weightless.state_dict()
    assert state and all(t.is_meta for t in state.values())
    meta = {name: torch.empty(value.shape, device="meta") for name, value in feeds.items()}
    out = ow.meta_forward(weightless, meta["x"], meta["offset"], meta["mask"])
    assert out.is_meta and tuple(out.shape) == reference_outputs(model, feeds)[0].shape == (2, 6, 4, 7)


def test_deform_conv_offset_must_have_the_output_size_on_meta_too(rng):
    model, feeds = _deform_case(rng, (1, 2, 6, 6), (2, 2, 3, 3), {}, bias=False, mask=False)
    weightless = ow.convert(model, strict=True, size_threshold=0)
    with pytest.raises(ow.MetaForwardError, match=r"offset of shape \[1, 18, 3, 3\], expected \[1, 18, 4, 4\]") as raised:
        ow.meta_forward(weightless, torch.empty(1, 2, 6, 6, device="meta"), torch.empty(1, 18, 3, 3, device="meta"))
    assert isinstance(raised.value.__cause__, ValueError)


def test_deform_conv_on_3d_images_is_refused():
    node_inputs = {"x": (FLOAT, [1, 1, 4, 4, 4]), "W": (FLOAT, [1, 1, 2, 2, 2]), "offset": (FLOAT, [1, 24, 3, 3, 3])}
    with conversion_refused(r"DeformConv-22 with 3 spatial dimensions"):
        ow.convert(_model("DeformConv", node_inputs, 22), strict=True)


# ---------------------------------------------------------------- RoiAlign mode=max
# The converter these check is proposed, not yet in the package (onnx2torch's refuses mode=max):
# delete this marker once _converters/roi_align.py is added.


def _roi_align(opset, x_shape, boxes, **attributes):
    """RoiAlign over graph input ``x`` with ``boxes`` (x1, y1, x2, y2) and their batch indices as
    initializers (onnxruntime needs them to agree in count)."""
    rois = numpy_helper.from_array(np.array([b[1:] for b in boxes], np.float32), "rois")
    indices = numpy_helper.from_array(np.array([b[0] for b in boxes], np.int64), "batch_indices")
    return _model("RoiAlign", {"x": (FLOAT, list(x_shape))}, opset, [rois, indices], **attributes)


# (image, x1, y1, x2, y2) in input pixels before spatial_scale: inside, across the borders,
# wholly outside, empty, inverted.
_BOXES = [(0, 1.0, 1.5, 6.2, 5.0), (1, -3.0, 2.0, 4.5, 12.0), (0, 5.5, -2.0, 11.0, 3.25), (1, 9.0, 9.0, 14.0, 13.0),
          (0, 2.0, 2.0, 2.0, 2.0), (1, 4.0, 3.0, 1.0, 1.0), (0, 0.0, 0.0, 8.0, 8.0)]


@pytest.mark.parametrize("opset, transform", [(10, None), (16, "output_half_pixel"), (16, "half_pixel"), (22, "half_pixel")])
@pytest.mark.parametrize("sampling_ratio", [0, 2])
def test_roi_align_max_takes_the_largest_weighted_corner_of_any_sample(opset, transform, sampling_ratio, rng):
    """Per sample, ONNX's max mode takes the largest of the four corner values each times its
    bilinear weight (not the interpolated value), then the largest over the bin's samples.
    onnxruntime has no RoiAlign-22: that version is checked with onnx's reference."""
    x = _normal(rng, 2, 3, 8, 9)
    attributes = {"mode": "max", "output_height": 3, "output_width": 2, "sampling_ratio": sampling_ratio, "spatial_scale": 0.75}
    if transform is not None:
        attributes["coordinate_transformation_mode"] = transform
    check_converter(_roi_align(opset, x.shape, _BOXES, **attributes), {"x": x}, use_onnxruntime=opset < 22)


def test_roi_align_max_samples_big_boxes_densely(rng):
    """With sampling_ratio 0 a box samples ceil(its bin size) points per axis: here up to 6 x 8."""
    x = np.abs(_normal(rng, 1, 2, 30, 40))
    boxes = [(0, 0.0, 0.0, 39.0, 29.0), (0, 3.0, 4.0, 10.0, 6.0)]
    check_converter(_roi_align(16, x.shape, boxes, mode="max", output_height=5, output_width=5), {"x": x})


def test_roi_align_avg_stays_as_onnx2torch_converts_it(rng):
    x = _normal(rng, 2, 3, 8, 9)
    check_converter(_roi_align(16, x.shape, _BOXES[:4], output_height=2, output_width=3, sampling_ratio=2), {"x": x})


def test_roi_align_refuses_an_unknown_mode():
    with conversion_refused(r"RoiAlign-16 mode='median'"):
        ow.convert(_roi_align(16, (1, 1, 4, 4), _BOXES[:1], mode="median"), strict=True)
