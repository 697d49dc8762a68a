"""If: branches as sub-GraphModules, checked against onnxruntime with weights and weightless."""

from __future__ import annotations

import numpy as np
import onnx
import onnx2torch
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from onnx_weightless._converters.control_flow import OnnxIf, OnnxTakenBranch
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
