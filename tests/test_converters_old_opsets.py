"""Operator versions of opsets 7 to 13 that onnx2torch lacks or converts narrower than ONNX, and
ONNX's inference semantics in the module as ``convert`` returns it (no ``.eval()`` call), checked
against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.conftest import make_model
from tests.converter_checks import check_converter, reference_outputs

F = TensorProto.FLOAT


def _array(rng, *shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def _node_model(op_type, inputs, outputs, opset, initializers=(), input_shapes=None, **attributes) -> onnx.ModelProto:
    """One node; ``outputs``: name -> element type (a list of names: all float)."""
    outputs = dict.fromkeys(outputs, F) if isinstance(outputs, list) else outputs
    shapes = input_shapes or {}
    return make_model(
        [helper.make_node(op_type, inputs, list(outputs), name="node", **attributes)],
        [helper.make_tensor_value_info(name, F, list(shape)) for name, shape in shapes.items()],
        [helper.make_tensor_value_info(name, elem_type, None) for name, elem_type in outputs.items()],
        list(initializers),
        opset=opset,
    )


def _mask_type(opset: int) -> int:
    return TensorProto.BOOL if opset >= 10 else F


def _classic_cnn(opset: int, rng) -> onnx.ModelProto:
    """Conv -> BatchNormalization -> Relu -> Dropout (with mask) -> AveragePool with asymmetric pads
    -> Pad (reflect) -> Flatten -> Gemm, as model-zoo exports at opset 9 and earlier have them."""
    weights = [
        numpy_helper.from_array(_array(rng, 4, 3, 3, 3), "conv_w"),
        numpy_helper.from_array(np.abs(_array(rng, 4)) + 0.5, "bn_scale"),
        numpy_helper.from_array(_array(rng, 4), "bn_bias"),
        numpy_helper.from_array(_array(rng, 4), "bn_mean"),
        numpy_helper.from_array(np.abs(_array(rng, 4)) + 0.5, "bn_var"),
        numpy_helper.from_array(_array(rng, 5, 4 * 6 * 6), "fc_w"),
        numpy_helper.from_array(_array(rng, 5), "fc_b"),
    ]
    pad = (helper.make_node("Pad", ["p"], ["padded"], mode="reflect", pads=[0, 0, 1, 1, 0, 0, 1, 1]) if opset < 11 else
           helper.make_node("Pad", ["p", "pads"], ["padded"], mode="reflect"))
    if opset >= 11:
        weights.append(numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"))
    nodes = [
        helper.make_node("Conv", ["x", "conv_w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["b"], epsilon=1e-3),
        helper.make_node("Relu", ["b"], ["r"]),
        helper.make_node("Dropout", ["r"], ["d"], **({"ratio": 0.3} if opset < 12 else {})),
        helper.make_node("AveragePool", ["d"], ["p"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1]),
        pad,
        helper.make_node("Flatten", ["padded"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], transB=1),
    ]
    return make_model(
        nodes,
        [helper.make_tensor_value_info("x", F, [2, 3, 7, 7])],
        [helper.make_tensor_value_info("y", F, [2, 5])],
        weights,
        opset=opset,
    )


@pytest.mark.parametrize("opset", [7, 9, 10, 11, 13])
def test_a_classic_cnn_computes_what_onnxruntime_does_as_returned(opset, rng):
    model = _classic_cnn(opset, rng)
    real = check_converter(model, {"x": _array(rng, 2, 3, 7, 7)}, atol=1e-4, rtol=1e-4)
    assert not real.training and not any(m.training for m in real.modules())


def test_the_module_as_returned_keeps_its_statistics(rng):
    """Called in the mode convert returns, BatchNormalization neither uses nor overwrites the
    running statistics with batch ones; train() switches to PyTorch's training behaviour."""
    model = _classic_cnn(9, rng)
    gm = ow.convert(model, with_weights=True)
    before = {name: tensor.clone() for name, tensor in gm.state_dict().items()}
    x = torch.from_numpy(_array(rng, 2, 3, 7, 7))
    first = gm(x)[0]
    assert torch.equal(gm(x)[0], first)
    assert all(torch.equal(before[name], tensor) for name, tensor in gm.state_dict().items())
    gm.train()
    gm(x)
    assert not all(torch.equal(before[name], tensor) for name, tensor in gm.state_dict().items())


@pytest.mark.parametrize("opset, with_mask", [(7, True), (9, False), (10, True), (12, True), (13, False)])
def test_dropout_is_the_identity_with_an_all_true_mask(opset, with_mask, rng):
    x = _array(rng, 3, 4)
    outputs = {"y": F, "mask": _mask_type(opset)} if with_mask else {"y": F}
    model = _node_model("Dropout", ["x"], outputs, opset, input_shapes={"x": x.shape}, ratio=0.5)
    if opset >= 12:  # ratio is an input from version 12
        del model.graph.node[0].attribute[:]
        model.graph.node[0].input.append("ratio")
        model.graph.initializer.append(numpy_helper.from_array(np.array(0.5, np.float32), "ratio"))
    if opset >= 12 or not with_mask:
        check_converter(model, {"x": x})
        return
    # Before version 12 onnxruntime's inference mask is all false; ONNX's reference implementation,
    # which this package follows, keeps every element (all true), as from version 12 both do.
    y, mask = ow.convert(model, with_weights=True)(torch.from_numpy(x))
    expected_y, expected_mask = reference_outputs(model, {"x": x}, use_onnxruntime=False)
    np.testing.assert_array_equal(y.numpy(), expected_y)
    assert bool(mask.all()) and expected_mask.all() and mask.dtype == (torch.bool if opset >= 10 else torch.float32)


def test_dropout_drops_when_its_training_mode_input_is_true(rng):
    x = np.abs(_array(rng, 64, 64)) + 1
    model = _node_model("Dropout", ["x", "ratio", "training_mode"], {"y": F, "mask": TensorProto.BOOL}, 13, input_shapes={"x": x.shape},
                        initializers=[numpy_helper.from_array(np.array(0.25, np.float32), "ratio")])
    model.graph.input.append(helper.make_tensor_value_info("training_mode", TensorProto.BOOL, []))
    gm = ow.convert(model, with_weights=True)
    y, mask = gm(torch.from_numpy(x), torch.tensor(True))
    assert mask.dtype == torch.bool and 0.65 < mask.float().mean() < 0.85
    torch.testing.assert_close(y, torch.from_numpy(x) * mask / 0.75)
    y, mask = gm(torch.from_numpy(x), torch.tensor(False))
    assert torch.equal(y, torch.from_numpy(x)) and bool(mask.all())
    np.testing.assert_array_equal(y.numpy(), reference_outputs(model, {"x": x, "training_mode": np.array(False)})[0])


@pytest.mark.parametrize("spatial", [1, 0])
def test_batch_normalization_7_with_and_without_spatial(spatial, rng):
    shape = (4,) if spatial else (4, 3, 3)
    stats = [numpy_helper.from_array(np.abs(_array(rng, *shape)) + 0.5, "scale"), numpy_helper.from_array(_array(rng, *shape), "bias"),
             numpy_helper.from_array(_array(rng, *shape), "mean"), numpy_helper.from_array(np.abs(_array(rng, *shape)) + 0.5, "var")]
    model = _node_model("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"], 7, stats,
                        input_shapes={"x": (2, 4, 3, 3)}, spatial=spatial, epsilon=1e-3)
    check_converter(model, {"x": _array(rng, 2, 4, 3, 3)}, atol=1e-5)


@pytest.mark.parametrize("opset", [7, 9, 10])
@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_with_attributes_in_every_mode_on_any_axes(opset, mode, rng):
    model = _node_model("Pad", ["x"], ["y"], opset, input_shapes={"x": (3, 4)}, mode=mode, pads=[1, 2, 2, 1], value=1.5)
    check_converter(model, {"x": _array(rng, 3, 4)})


@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("mode, shape, pads", [
    ("reflect", (3, 4), [1, 2, 2, 1]),                      # onnx2torch: rank 2 refused
    ("edge", (2, 3, 4, 5, 6), [1, 0, 0, 1, 1, 0, 1, 0, 2, 0]),  # padding the batch and channel axes
    ("constant", (2, 3), [0, -1, 1, 1]),                     # a negative pad crops
])
def test_pad_with_inputs_in_every_mode_on_any_axes(opset, mode, shape, pads, rng):
    model = _node_model("Pad", ["x", "pads"], ["y"], opset, [numpy_helper.from_array(np.array(pads, np.int64), "pads")],
                        input_shapes={"x": shape}, mode=mode)
    check_converter(model, {"x": _array(rng, *shape)})


@pytest.mark.parametrize("opset", [7, 10, 11])
@pytest.mark.parametrize("pads, count_include_pad", [([0, 0, 1, 1], 0), ([2, 0, 0, 1], 1), ([1, 1, 1, 1], 1)])
def test_average_pool_with_asymmetric_pads(opset, pads, count_include_pad, rng):
    model = _node_model("AveragePool", ["x"], ["y"], opset, input_shapes={"x": (1, 2, 6, 5)}, kernel_shape=[3, 2],
                        strides=[2, 1], pads=pads, count_include_pad=count_include_pad)
    check_converter(model, {"x": _array(rng, 1, 2, 6, 5)})


def test_max_pool_1_at_opset_7(rng):
    model = _node_model("MaxPool", ["x"], ["y"], 7, input_shapes={"x": (1, 2, 6, 5)}, kernel_shape=[3, 2], pads=[1, 0, 0, 1])
    check_converter(model, {"x": _array(rng, 1, 2, 6, 5)})


@pytest.mark.parametrize("opset", [7, 9])
@pytest.mark.parametrize("axes", [None, [1], [0, -1]])
def test_slice_1_with_attributes(opset, axes, rng):
    starts, ends = ([1], [-1]) if axes == [1] else ([0, 1], [2, 1_000_000])
    attributes = {"starts": starts, "ends": ends} | ({"axes": axes} if axes else {})
    model = _node_model("Slice", ["x"], ["y"], opset, input_shapes={"x": (3, 4, 5)}, **attributes)
    check_converter(model, {"x": _array(rng, 3, 4, 5)})


@pytest.mark.parametrize("op_type, attributes, inputs, output_type", [
    ("Cast", {"to": TensorProto.INT32}, 1, TensorProto.INT32),
    ("ArgMax", {"axis": 1, "keepdims": 0}, 1, TensorProto.INT64),
    ("ArgMin", {"axis": 0}, 1, TensorProto.INT64),
    ("Max", {}, 3, F),
    ("Min", {}, 2, F),
    ("Mean", {}, 2, F),
    ("Sum", {}, 3, F),
])
def test_older_versions_served_by_a_later_converter(op_type, attributes, inputs, output_type, rng):
    names = [f"x{i}" for i in range(inputs)]
    shape = (1, 4, 2, 3)
    model = _node_model(op_type, names, {"y": output_type}, 7, input_shapes=dict.fromkeys(names, shape), **attributes)
    check_converter(model, {name: _array(rng, *shape) * 4 for name in names})


def test_constant_1_at_opset_7(rng):
    value = numpy_helper.from_array(_array(rng, 2, 3), "value")
    model = make_model([helper.make_node("Constant", [], ["c"], value=value), helper.make_node("Add", ["x", "c"], ["y"])],
                       [helper.make_tensor_value_info("x", F, [2, 3])], [helper.make_tensor_value_info("y", F, [2, 3])], opset=7)
    check_converter(model, {"x": _array(rng, 2, 3)})


@pytest.mark.parametrize("opset, mode", [(7, None), (11, "DCR"), (13, "CRD"), (13, None)])
def test_depth_to_space_in_both_modes(opset, mode, rng):
    attributes = {"blocksize": 2} | ({"mode": mode} if mode else {})
    model = _node_model("DepthToSpace", ["x"], ["y"], opset, input_shapes={"x": (2, 8, 3, 2)}, **attributes)
    check_converter(model, {"x": _array(rng, 2, 8, 3, 2)})


@pytest.mark.parametrize("opset", [7, 22])
def test_selu_with_its_own_constants(opset, rng):
    model = _node_model("Selu", ["x"], ["y"], opset, input_shapes={"x": (3, 4)}, alpha=2.0, gamma=3.0)
    check_converter(model, {"x": _array(rng, 3, 4)})


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
@pytest.mark.parametrize("opset", [7, 12])
def test_max_pool_with_same_padding(auto_pad, opset, rng):
    model = _node_model("MaxPool", ["x"], ["y"], opset, input_shapes={"x": (1, 2, 7, 6)}, kernel_shape=[3, 2],
                        strides=[2, 2], auto_pad=auto_pad)
    check_converter(model, {"x": _array(rng, 1, 2, 7, 6)})
