"""If: branches as sub-GraphModules, checked against onnxruntime with weights and weightless."""

from __future__ import annotations

import numpy as np
import onnx
import onnx2torch
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from onnx_weightless._converters.control_flow import OnnxIf, OnnxLoop, OnnxScan, OnnxTakenBranch
from tests.conftest import make_model, state_signature
from tests.converter_checks import check_converter, reference_outputs

F = TensorProto.FLOAT


def _weight(name: str, *shape: int, seed: int = 0) -> onnx.TensorProto:
    return numpy_helper.from_array(np.random.default_rng(seed).standard_normal(shape).astype(np.float32), name)


def _branch(name: str, nodes, outputs) -> onnx.GraphProto:
    return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(o, F, [f"{o}_rows", f"{o}_cols"]) for o in outputs])


def _if_model(then_branch, else_branch, outputs=("y",), condition_node=None, opset: int = 17, extra_initializers=(),
              domains=()):
    """cond (bool scalar), x [N, 4] -> If -> outputs; W [4, 3] and B [3] are initializers branches read."""
    nodes = ([condition_node] if condition_node is not None else [])
    nodes.append(helper.make_node("If", ["cond"], list(outputs), name="the_if", then_branch=then_branch, else_branch=else_branch))
    inputs = [helper.make_tensor_value_info("x", F, ["N", 4])]
    if condition_node is None:
        inputs.insert(0, helper.make_tensor_value_info("cond", TensorProto.BOOL, []))
    model = make_model(nodes, inputs, [helper.make_tensor_value_info(o, F, [f"{o}_rows", f"{o}_cols"]) for o in outputs],
                       [_weight("W", 4, 3), _weight("B", 3, seed=1), *extra_initializers], opset=opset)
    model.opset_import.extend(helper.make_opsetid(domain, 1) for domain in domains)
    onnx.checker.check_model(model, full_check=not domains)
    return model


def _linear_relu(name: str) -> onnx.GraphProto:
    return _branch(name, [helper.make_node("MatMul", ["x", "W"], [f"{name}_m"]),
                          helper.make_node("Add", [f"{name}_m", "B"], [f"{name}_a"]),
                          helper.make_node("Relu", [f"{name}_a"], [f"{name}_out"])], [f"{name}_out"])


def _scaled(name: str, scale: float) -> onnx.GraphProto:
    value = helper.make_tensor(f"{name}_scale_value", F, [1], [scale])
    return _branch(name, [helper.make_node("Constant", [], [f"{name}_k"], value=value),
                          helper.make_node("MatMul", ["x", "W"], [f"{name}_m"]),
                          helper.make_node("Mul", [f"{name}_m", f"{name}_k"], [f"{name}_out"])], [f"{name}_out"])


def _feeds(condition: bool, rows: int = 2) -> dict[str, np.ndarray]:
    return {"cond": np.array(condition), "x": np.random.default_rng(2).standard_normal((rows, 4)).astype(np.float32)}


@pytest.mark.parametrize("condition", [True, False])
@pytest.mark.parametrize("opset", [11, 13, 16, 19, 21])
def test_if_runs_the_branch_the_condition_selects(condition, opset):
    model = _if_model(_linear_relu("then"), _scaled("else", 2.0), opset=opset)
    real = check_converter(model, _feeds(condition))
    (module,) = [m for m in real.modules() if isinstance(m, OnnxIf)]
    # Each branch holds what it reads: the outer W and B are the parent's buffers, passed in.
    assert [name for name, _ in real.named_buffers()] == ["initializers.onnx_initializer_0", "initializers.onnx_initializer_1",
                                                          "the_if.else_branch.Constant.value"]


def test_branch_weights_are_meta_when_weightless_and_the_same_state_as_with_weights():
    weight = _weight("inner_W", 4, 3, seed=3)
    then_branch = helper.make_graph([helper.make_node("MatMul", ["x", "inner_W"], ["then_out"])], "then", [],
                                    [helper.make_tensor_value_info("then_out", F, None)], initializer=[weight])
    model = _if_model(then_branch, _scaled("else", 3.0))
    real = check_converter(model, _feeds(True))
    weightless = ow.convert(model, size_threshold=0)
    assert state_signature(weightless) == state_signature(real)
    assert {t.device.type for t in weightless.state_dict().values()} == {"meta"}


def test_a_condition_known_at_conversion_keeps_the_taken_branch_only():
    constant = helper.make_node("Constant", [], ["cond"], value=helper.make_tensor("c", TensorProto.BOOL, [], [False]))
    model = _if_model(_linear_relu("then"), _scaled("else", 2.0), condition_node=constant)
    real = check_converter(model, {"x": _feeds(False)["x"]})
    (taken,) = [m for m in real.modules() if isinstance(m, OnnxTakenBranch)]
    assert taken.taken is False
    assert not any(isinstance(m, OnnxIf) for m in real.modules())
    assert "Relu" not in {type(m).__name__ for m in real.modules()}


def test_if_with_several_outputs_one_of_them_an_outer_value_passed_through():
    then_branch = _branch("then", [helper.make_node("Add", ["x", "x"], ["t2"]), helper.make_node("Identity", ["x"], ["t1"])],
                          ["t2", "t1"])
    else_branch = _branch("else", [helper.make_node("Neg", ["x"], ["e1"]), helper.make_node("Abs", ["x"], ["e2"])], ["e1", "e2"])
    model = _if_model(then_branch, else_branch, outputs=("y", "z"))
    for condition in (True, False):
        check_converter(model, _feeds(condition))


def test_nested_if_reads_values_two_graphs_up():
    inner = helper.make_node("If", ["inner_cond"], ["then_out"], name="inner_if",
                             then_branch=_linear_relu("inner_then"), else_branch=_scaled("inner_else", -1.0))
    outer_then = _branch("then", [helper.make_node("Not", ["cond"], ["inner_cond"]), inner], ["then_out"])
    model = _if_model(outer_then, _scaled("else", 0.5))
    for condition in (True, False):
        real = check_converter(model, _feeds(condition))
    assert sum(isinstance(m, OnnxIf) for m in real.modules()) == 2


def test_meta_forward_takes_a_real_condition_and_needs_one_when_the_branches_disagree():
    wide = _branch("then", [helper.make_node("Concat", ["x", "x"], ["then_out"], axis=1)], ["then_out"])
    model = _if_model(wide, _scaled("else", 2.0))
    gm = ow.convert(model)
    x = torch.empty(5, 4, device="meta")
    assert ow.meta_forward(gm, torch.tensor(True), x).shape == (5, 8)
    assert ow.meta_forward(gm, torch.tensor(False), x).shape == (5, 3)
    with pytest.raises(ow.ValueNeededError, match=r"branches give different outputs .* pass 'cond' as real tensors"):
        ow.meta_forward(gm, torch.empty((), dtype=torch.bool, device="meta"), x)
    shapes = ow.propagate_shapes(gm, [torch.tensor(False), torch.empty(5, 4)])
    assert shapes[gm.graph.output_node().args[0].name].shape == (5, 3)


def test_strict_lists_operators_without_a_converter_inside_branches():
    then_branch = _branch("then", [helper.make_node("Frobnicate", ["x"], ["then_out"], domain="acme")], ["then_out"])
    model = _if_model(then_branch, _scaled("else", 2.0), domains=["acme"])
    with pytest.raises(ow.UnsupportedOperatorError) as raised:
        ow.convert(model, strict=True)
    assert raised.value.operators == ("acme::Frobnicate-1",)
    # Not strict: the branch holds an opaque module, and the other branch still computes.
    gm = ow.convert(model, with_weights=True)
    expected = reference_outputs(_if_model(_linear_relu("then"), _scaled("else", 2.0)), _feeds(False))[0]
    feeds = _feeds(False)
    np.testing.assert_allclose(gm(torch.tensor(False), torch.from_numpy(feeds["x"])).numpy(), expected, rtol=1e-6)


def test_the_seed_loader_converts_if_too():
    model = _if_model(_linear_relu("then"), _scaled("else", 2.0))
    with ow.weightless_onnx_loader(size_threshold=0):
        gm = onnx2torch.convert(model)
    assert any(isinstance(m, OnnxIf) for m in gm.modules())
    out = ow.meta_forward(gm, torch.tensor(True), torch.empty(7, 4, device="meta"))
    assert (tuple(out.shape), out.device.type) == ((7, 3), "meta")


def test_a_failing_branch_names_the_node_inside_it():
    bad = _branch("then", [helper.make_node("Pad", ["x", "pads"], ["then_out"], name="inner_pad", mode="wrap")], ["then_out"])
    pads = numpy_helper.from_array(np.zeros(4, dtype=np.int64), "pads")
    model = _if_model(bad, _scaled("else", 2.0), opset=18, extra_initializers=[pads])
    with pytest.raises(ow.ConversionError) as raised:
        ow.convert(model)
    assert str(raised.value).startswith("while converting node 'inner_pad' (ai.onnx::Pad-18): NotImplementedError")
    if hasattr(raised.value, "__notes__"):
        assert raised.value.__notes__ == ["while converting node 'the_if' (ai.onnx::If-16)"]


# --- Loop -----------------------------------------------------------------------------------------

I64 = TensorProto.INT64


def _loop_body(with_condition_update: bool = False) -> onnx.GraphProto:
    """(i, cond, h) -> (cond', h' = tanh(h @ W + i), scan = h' * 2): W is read from the outer graph."""
    nodes = [
        helper.make_node("MatMul", ["h_in", "W4"], ["hw"]),
        helper.make_node("Cast", ["i"], ["i_f"], to=F),
        helper.make_node("Add", ["hw", "i_f"], ["pre"]),
        helper.make_node("Tanh", ["pre"], ["h_out"]),
        helper.make_node("Add", ["h_out", "h_out"], ["scan_out"]),
    ]
    if with_condition_update:  # keep going while i < 2
        nodes += [helper.make_node("Constant", [], ["two"], value=helper.make_tensor("two_v", I64, [], [2])),
                  helper.make_node("Less", ["i", "two"], ["cond_out"])]
    else:
        nodes.append(helper.make_node("Identity", ["cond_in"], ["cond_out"]))
    return helper.make_graph(
        nodes, "body",
        [helper.make_tensor_value_info("i", I64, []), helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_in", F, ["N", 4])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_tensor_value_info("h_out", F, ["N", 4]),
         helper.make_tensor_value_info("scan_out", F, ["N", 4])],
    )


def _loop_model(trip_count: str, condition: str, body: onnx.GraphProto, inputs=(), initializers=(), nodes=()) -> onnx.ModelProto:
    loop = helper.make_node("Loop", [trip_count, condition, "h0"], ["h_final", "scans"], name="the_loop", body=body)
    model = make_model(
        [*nodes, loop],
        [*inputs, helper.make_tensor_value_info("h0", F, ["N", 4])],
        [helper.make_tensor_value_info("h_final", F, ["N", 4]), helper.make_tensor_value_info("scans", F, ["T", "N", 4])],
        [_weight("W4", 4, 4, seed=5), *initializers],
        opset=16,
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def _h0(rows: int = 3) -> np.ndarray:
    return np.random.default_rng(6).standard_normal((rows, 4)).astype(np.float32)


def _scalar(name: str, dtype, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


@pytest.mark.parametrize("trip_count, condition, with_update", [
    (4, None, False),      # a for loop: the body's condition is ignored
    (4, True, True),       # for with a condition: stops after 3 iterations
    (None, True, True),    # a while loop
    (0, True, False),      # no iteration: the scan output is empty
])
def test_loop_carries_values_and_stacks_scan_outputs(trip_count, condition, with_update):
    initializers = []
    if trip_count is not None:
        initializers.append(_scalar("M", np.int64, trip_count))
    if condition is not None:
        initializers.append(_scalar("C", np.bool_, condition))
    body = _loop_body(with_update)
    if trip_count == 0:  # the body declares its scan output's shape: what no iteration stacks to
        body.output[2].CopyFrom(helper.make_tensor_value_info("scan_out", F, [3, 4]))
    model = _loop_model("M" if trip_count is not None else "", "C" if condition is not None else "", body,
                        initializers=initializers)
    real = check_converter(model, {"h0": _h0()})
    (loop,) = [m for m in real.modules() if isinstance(m, OnnxLoop)]
    assert (loop.has_trip_count, loop.has_condition) == (trip_count is not None, condition is not None)


def test_loop_trip_count_from_a_shape_runs_on_meta_inputs():
    # M = size of x's first axis: real in a meta forward, since shapes of meta tensors are known.
    shape = [helper.make_node("Shape", ["x"], ["x_shape"]),
             helper.make_node("Gather", ["x_shape", "zero"], ["M"], axis=0)]
    model = _loop_model("M", "", _loop_body(), inputs=[helper.make_tensor_value_info("x", F, ["T", 2])],
                        initializers=[_scalar("zero", np.int64, 0)], nodes=shape)
    x = np.zeros((5, 2), np.float32)
    check_converter(model, {"x": x, "h0": _h0()})
    final, scans = ow.meta_forward(ow.convert(model, size_threshold=0), torch.empty(5, 2, device="meta"),
                                   torch.empty(3, 4, device="meta"))
    assert (tuple(final.shape), tuple(scans.shape), scans.device.type) == ((3, 4), (5, 3, 4), "meta")


def test_loop_with_a_meta_trip_count_says_which_input_to_pass_real():
    model = _loop_model("M", "", _loop_body(), inputs=[helper.make_tensor_value_info("M", I64, [])])
    gm = ow.convert(model)
    h0 = torch.empty(3, 4, device="meta")
    final, scans = ow.meta_forward(gm, torch.tensor(2), h0)
    assert tuple(scans.shape) == (2, 3, 4)
    with pytest.raises(ow.ValueNeededError, match=r"Loop's trip count is not known on meta inputs.*pass 'M' as real"):
        ow.meta_forward(gm, torch.empty((), dtype=torch.int64, device="meta"), h0)


# --- Scan -----------------------------------------------------------------------------------------

def _scan_model(input_axes, input_directions, output_axes, output_directions, opset: int = 16) -> onnx.ModelProto:
    """state s [2] and sequences a [T, 2] / b [2, T] -> s' = s + a_t * b_t @ (W2), outputs s' and s' * a_t."""
    body = helper.make_graph(
        [helper.make_node("Mul", ["a_t", "b_t"], ["ab"]),
         helper.make_node("MatMul", ["ab", "W2"], ["abw"]),
         helper.make_node("Add", ["s_in", "abw"], ["s_out"]),
         helper.make_node("Mul", ["s_out", "a_t"], ["y_t"])],
        "body",
        [helper.make_tensor_value_info("s_in", F, [2]), helper.make_tensor_value_info("a_t", F, [2]),
         helper.make_tensor_value_info("b_t", F, [2])],
        [helper.make_tensor_value_info("s_out", F, [2]), helper.make_tensor_value_info("y_t", F, [2])],
    )
    scan = helper.make_node("Scan", ["s0", "a", "b"], ["s_final", "ys"], name="the_scan", body=body, num_scan_inputs=2,
                            scan_input_axes=input_axes, scan_input_directions=input_directions,
                            scan_output_axes=output_axes, scan_output_directions=output_directions)
    model = make_model(
        [scan],
        [helper.make_tensor_value_info("s0", F, [2]), helper.make_tensor_value_info("a", F, ["T", 2]),
         helper.make_tensor_value_info("b", F, [2, "T"])],
        [helper.make_tensor_value_info("s_final", F, [2]), helper.make_tensor_value_info("ys", F, None)],
        [_weight("W2", 2, 2, seed=7)],
        opset=opset,
    )
    return model


@pytest.mark.parametrize("input_directions, output_axes, output_directions", [
    ([0, 0], [0], [0]),
    ([1, 0], [1], [0]),
    ([0, 1], [-1], [1]),
])
@pytest.mark.parametrize("opset", [9, 11, 16, 21])
def test_scan_follows_axes_and_directions(input_directions, output_axes, output_directions, opset):
    model = _scan_model([0, 1], input_directions, output_axes, output_directions, opset=opset)
    rng = np.random.default_rng(8)
    feeds = {"s0": rng.standard_normal(2).astype(np.float32), "a": rng.standard_normal((5, 2)).astype(np.float32),
             "b": rng.standard_normal((2, 5)).astype(np.float32)}
    real = check_converter(model, feeds)
    assert any(isinstance(m, OnnxScan) for m in real.modules())
