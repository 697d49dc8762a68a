"""Sequences (Python lists), optionals (None or the value), SequenceMap and the ops Loop/Scan
exporters emit around them, checked against onnxruntime: with weights, weightless (same state) and
by meta_forward (same shapes)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.conftest import make_model, state_signature
from tests.converter_checks import reference_outputs

F, I64 = TensorProto.FLOAT, TensorProto.INT64
SEQ_F = helper.make_sequence_type_proto(helper.make_tensor_type_proto(F, None))


def _as_numpy(value):
    if isinstance(value, list):
        return [_as_numpy(v) for v in value]
    return None if value is None else value.detach().numpy()


def _assert_same(ours, theirs, atol=1e-5):
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), (type(ours), theirs)
        for a, b in zip(ours, theirs):
            _assert_same(a, b, atol)
        return
    assert ours.shape == np.shape(theirs) and ours.dtype == np.asarray(theirs).dtype, (ours.shape, np.shape(theirs))
    np.testing.assert_allclose(ours, theirs, atol=atol, rtol=atol)


def _check(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> None:
    """Outputs (tensors or sequences) equal onnxruntime's, weightless state equals, meta shapes equal."""
    expected = reference_outputs(model, feeds)
    inputs = [torch.from_numpy(feeds[v.name]) for v in model.graph.input]
    real = ow.convert(model, with_weights=True, strict=True)
    got = real(*inputs)
    got = [got] if len(expected) == 1 else list(got)
    for ours, theirs in zip(got, expected):
        _assert_same(_as_numpy(ours), theirs)
    weightless = ow.convert(model, strict=True, size_threshold=0)
    assert state_signature(weightless) == state_signature(real)
    meta = ow.meta_forward(weightless, *[torch.empty(t.shape, dtype=t.dtype, device="meta") for t in inputs])
    meta = [meta] if len(expected) == 1 else list(meta)
    shapes = lambda v: [shapes(x) for x in v] if isinstance(v, list) else (tuple(v.shape), v.dtype)  # noqa: E731
    assert [shapes(m) for m in meta] == [shapes(g) for g in got]


def _x(*shape) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _const(name: str, value) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value), name))


def test_construct_insert_erase_at_and_length_follow_onnx_positions():
    nodes = [
        helper.make_node("SequenceConstruct", ["x", "y"], ["s"]),
        _const("front", np.array(0, np.int64)),
        _const("minus_one", np.array(-1, np.int64)),
        helper.make_node("SequenceInsert", ["s", "z", "front"], ["s1"]),  # z, x, y
        helper.make_node("SequenceInsert", ["s1", "x"], ["s2"]),  # z, x, y, x (at the back)
        helper.make_node("SequenceErase", ["s2", "minus_one"], ["s3"]),  # z, x, y
        helper.make_node("SequenceErase", ["s3"], ["s4"]),  # z, x
        helper.make_node("SequenceAt", ["s3", "minus_one"], ["last"]),  # y
        helper.make_node("SequenceLength", ["s4"], ["length"]),
        helper.make_node("ConcatFromSequence", ["s3"], ["joined"], axis=1),
        helper.make_node("ConcatFromSequence", ["s4"], ["stacked"], axis=-1, new_axis=1),
    ]
    inputs = [helper.make_tensor_value_info(n, F, [2, 3]) for n in ("x", "y", "z")]
    outputs = [helper.make_tensor_value_info("last", F, None), helper.make_tensor_value_info("length", I64, None),
               helper.make_tensor_value_info("joined", F, None), helper.make_tensor_value_info("stacked", F, None),
               helper.make_value_info("s3", SEQ_F)]
    model = make_model(nodes, inputs, outputs, opset=17)
    _check(model, {"x": _x(2, 3), "y": _x(2, 3) + 1, "z": _x(2, 3) - 1})


@pytest.mark.parametrize(("split", "keepdims"), [(None, 1), (None, 0), (np.array(2, np.int64), 1), (np.array([1, 4], np.int64), 1)])
def test_split_to_sequence_without_split_by_a_length_and_by_lengths(split, keepdims):
    nodes = [helper.make_node("SplitToSequence", ["x"] + (["split"] if split is not None else []), ["s"], axis=1, keepdims=keepdims)]
    if split is not None:
        nodes.insert(0, _const("split", split))
    nodes.append(helper.make_node("SequenceLength", ["s"], ["n"]))
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, [3, 5])],
                       [helper.make_value_info("s", SEQ_F), helper.make_tensor_value_info("n", I64, None)], opset=17)
    _check(model, {"x": _x(3, 5)})


def test_an_empty_sequence_grows_in_a_loop_and_is_concatenated():
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Cast", ["i"], ["i_float"], to=F),
         helper.make_node("Add", ["x", "i_float"], ["row"]),
         helper.make_node("SequenceInsert", ["seq_in", "row"], ["seq_out"])],
        "body",
        [helper.make_tensor_value_info("i", I64, []), helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_value_info("seq_in", SEQ_F)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_value_info("seq_out", SEQ_F)],
    )
    nodes = [
        helper.make_node("SequenceEmpty", [], ["empty"], dtype=F),
        _const("trips", np.array(3, np.int64)),
        helper.make_node("Loop", ["trips", "", "empty"], ["rows"], body=body),
        helper.make_node("ConcatFromSequence", ["rows"], ["y"], axis=0, new_axis=1),
    ]
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, [4])], [helper.make_tensor_value_info("y", F, None)], opset=17)
    _check(model, {"x": _x(4)})


def test_sequence_map_maps_sequences_position_by_position_and_passes_tensors_whole():
    body = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"]), helper.make_node("Shape", ["a"], ["shape"])],
        "body",
        [helper.make_tensor_value_info("a", F, None), helper.make_tensor_value_info("b", F, None)],
        [helper.make_tensor_value_info("sum", F, None), helper.make_tensor_value_info("shape", I64, None)],
    )
    nodes = [
        helper.make_node("SplitToSequence", ["x"], ["s"], axis=0),
        helper.make_node("SequenceMap", ["s", "bias"], ["sums", "shapes"], body=body),
        helper.make_node("ConcatFromSequence", ["sums"], ["y"], axis=0, new_axis=1),
        helper.make_node("ConcatFromSequence", ["shapes"], ["z"], axis=0),
    ]
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, [3, 4]), helper.make_tensor_value_info("bias", F, [4])],
                       [helper.make_tensor_value_info("y", F, None), helper.make_tensor_value_info("z", I64, None)], opset=17)
    _check(model, {"x": _x(3, 4), "bias": _x(4)})


def test_if_branches_return_sequences():
    def branch(name, scale):
        return helper.make_graph(
            [_const(f"{name}_k", np.array(scale, np.float32)), helper.make_node("Mul", ["x", f"{name}_k"], [f"{name}_m"]),
             helper.make_node("SequenceConstruct", ["x", f"{name}_m"], [f"{name}_s"])],
            name, [], [helper.make_value_info(f"{name}_s", SEQ_F)])
    nodes = [helper.make_node("If", ["c"], ["s"], then_branch=branch("then", 2.0), else_branch=branch("else", -1.0)),
             helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=0)]
    model = make_model(nodes, [helper.make_tensor_value_info("c", TensorProto.BOOL, []), helper.make_tensor_value_info("x", F, [2])],
                       [helper.make_tensor_value_info("y", F, None)], opset=17)
    for condition in (True, False):
        expected = reference_outputs(model, {"c": np.array(condition), "x": _x(2)})
        got = ow.convert(model, strict=True)(torch.tensor(condition), torch.from_numpy(_x(2)))
        np.testing.assert_allclose(got.numpy(), expected[0], rtol=1e-6)


@pytest.mark.parametrize("full", [True, False])
def test_optional_has_element_and_get_element(full):
    optional = helper.make_optional_type_proto(helper.make_tensor_type_proto(F, [2]))
    nodes = [helper.make_node("Optional", ["x"] if full else [], ["o"], **({} if full else {"type": helper.make_tensor_type_proto(F, [2])})),
             helper.make_node("OptionalHasElement", ["o"], ["has"])]
    outputs = [helper.make_tensor_value_info("has", TensorProto.BOOL, [])]
    if full:
        nodes.append(helper.make_node("OptionalGetElement", ["o"], ["y"]))
        outputs.append(helper.make_tensor_value_info("y", F, [2]))
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, [2])], outputs, opset=18,
                       value_info=[helper.make_value_info("o", optional)])
    _check(model, {"x": _x(2)})


def test_clip_bounds_computed_at_run_time_and_min_above_max():
    nodes = [helper.make_node("ReduceMin", ["x"], ["low"], keepdims=0), helper.make_node("Mul", ["low", "half"], ["high"]),
             helper.make_node("Clip", ["x", "low", "high"], ["y"]), helper.make_node("Clip", ["x", "", "bound"], ["z"]),
             helper.make_node("Clip", ["x"], ["w"])]
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, [3, 4]), helper.make_tensor_value_info("bound", F, [])],
                       [helper.make_tensor_value_info(n, F, None) for n in "yzw"],
                       [numpy_helper.from_array(np.array(0.5, np.float32), "half")], opset=13)
    _check(model, {"x": _x(3, 4), "bound": np.array(0.25, np.float32)})


def test_scan_8_scans_each_batch_element_along_the_axis_after_the_batch():
    body = helper.make_graph(
        [helper.make_node("Add", ["sum_in", "next"], ["sum_out"]), helper.make_node("Identity", ["sum_out"], ["scan_out"])],
        "body",
        [helper.make_tensor_value_info("sum_in", F, [2]), helper.make_tensor_value_info("next", F, [2])],
        [helper.make_tensor_value_info("sum_out", F, [2]), helper.make_tensor_value_info("scan_out", F, [2])],
    )
    for directions in ([0], [1]):
        node = helper.make_node("Scan", ["", "initial", "x"], ["total", "partial"], body=body, num_scan_inputs=1, directions=directions)
        model = make_model([node], [helper.make_tensor_value_info("initial", F, [3, 2]), helper.make_tensor_value_info("x", F, [3, 4, 2])],
                           [helper.make_tensor_value_info("total", F, None), helper.make_tensor_value_info("partial", F, None)], opset=8)
        model.ir_version = 4
        _check(model, {"initial": _x(3, 2), "x": _x(3, 4, 2)})


def test_batch_normalization_training_mode_uses_batch_statistics_and_returns_the_running_ones():
    weights = [numpy_helper.from_array(np.abs(_x(3)) + 0.5, "scale"), numpy_helper.from_array(_x(3), "bias"),
               numpy_helper.from_array(_x(3), "mean"), numpy_helper.from_array(np.abs(_x(3)) + 0.5, "var")]
    node = helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y", "running_mean", "running_var"],
                            training_mode=1, momentum=0.8, epsilon=1e-3)
    model = make_model([node], [helper.make_tensor_value_info("x", F, [4, 3, 5])],
                       [helper.make_tensor_value_info(n, F, None) for n in ("y", "running_mean", "running_var")], weights, opset=15)
    _check(model, {"x": _x(4, 3, 5)})


@pytest.mark.parametrize(("mode", "axis"), [("linear", -2), ("circular", -2), ("linear", 1)])
def test_tensor_scatter_writes_each_batch_element_from_its_index(mode, axis):
    past_shape, update_shape = ([2, 3, 6, 4], [2, 3, 3, 4]) if axis == -2 else ([2, 6, 4], [2, 2, 4])
    node = helper.make_node("TensorScatter", ["past", "update", "at"], ["present"], mode=mode, axis=axis)
    model = make_model([node], [helper.make_tensor_value_info("past", F, past_shape), helper.make_tensor_value_info("update", F, update_shape),
                                helper.make_tensor_value_info("at", I64, [2])],
                       [helper.make_tensor_value_info("present", F, None)], opset=24)
    model.ir_version = 11
    at = np.array([1, 5], np.int64) if mode == "circular" else np.array([0, 3], np.int64)
    if axis == 1:
        at = np.array([4, 1], np.int64)
    _check(model, {"past": _x(*past_shape), "update": _x(*update_shape) + 10, "at": at})


@pytest.mark.parametrize(("axis", "sorted_"), [(None, 1), (None, 0), (0, 1), (1, 0)])
def test_unique_values_first_indices_inverse_and_counts(axis, sorted_):
    x = np.array([[2, 1, 2], [3, 1, 3], [2, 1, 2], [0, 5, 0]], np.float32)
    node = helper.make_node("Unique", ["x"], ["y", "indices", "inverse", "counts"], sorted=sorted_, **({} if axis is None else {"axis": axis}))
    model = make_model([node], [helper.make_tensor_value_info("x", F, [4, 3])],
                       [helper.make_tensor_value_info("y", F, None)] + [helper.make_tensor_value_info(n, I64, None) for n in ("indices", "inverse", "counts")])
    expected = reference_outputs(model, {"x": x})
    got = ow.convert(model, strict=True)(torch.from_numpy(x))
    for ours, theirs in zip(got, expected):
        np.testing.assert_array_equal(ours.numpy(), theirs)
    with pytest.raises(ow.ValueNeededError, match="Unique's output size depends on its input's values"):
        ow.meta_forward(ow.convert(model), torch.empty(4, 3, device="meta"))


def test_random_ops_draw_the_requested_shape_and_type_and_bernoulli_honours_certain_probabilities():
    nodes = [helper.make_node("RandomNormal", [], ["n"], shape=[2, 3], mean=5.0, scale=0.01, seed=1.0),
             helper.make_node("RandomUniformLike", ["x"], ["u"], low=2.0, high=3.0, dtype=TensorProto.DOUBLE),
             helper.make_node("Bernoulli", ["p"], ["b"], dtype=TensorProto.INT32)]
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, [4]), helper.make_tensor_value_info("p", F, [6])],
                       [helper.make_tensor_value_info("n", F, None), helper.make_tensor_value_info("u", TensorProto.DOUBLE, None),
                        helper.make_tensor_value_info("b", TensorProto.INT32, None)])
    p = torch.tensor([0, 1, 0, 1, 1, 0], dtype=torch.float32)
    gm = ow.convert(model, strict=True)
    n, u, b = gm(torch.zeros(4), p)
    assert n.shape == (2, 3) and n.dtype == torch.float32 and abs(float(n.mean()) - 5) < 0.1
    assert u.dtype == torch.float64 and u.shape == (4,) and bool(((u >= 2) & (u < 3)).all())
    assert b.dtype == torch.int32 and b.tolist() == [0, 1, 0, 1, 1, 0]
    assert torch.equal(gm(torch.zeros(4), p)[0], n)  # seeded: the same draw each call
    meta = ow.meta_forward(gm, torch.empty(4, device="meta"), torch.empty(6, device="meta"))
    assert [(m.shape, m.dtype) for m in meta] == [(n.shape, n.dtype), (u.shape, u.dtype), (b.shape, b.dtype)]


def test_a_constant_given_as_value_ints_is_read_as_values_when_weightless():
    """onnx2torch reads Unsqueeze's axes through the Constant's tensor; given as value_ints (or a
    scalar value_int), the constant must still reach it as real values."""
    nodes = [helper.make_node("Constant", [], ["axes"], value_ints=[0, 3]), helper.make_node("Unsqueeze", ["x", "axes"], ["y"]),
             helper.make_node("Constant", [], ["axis"], value_int=1), helper.make_node("Unsqueeze", ["x", "axis"], ["z"])]
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, [2, 3])],
                       [helper.make_tensor_value_info("y", F, None), helper.make_tensor_value_info("z", F, None)], opset=13)
    _check(model, {"x": _x(2, 3)})
