"""ai.onnx.preview.training's Adagrad, Momentum and Adam against onnx's reference evaluator
(onnxruntime's CPU build has no training operators): two tensors per step, the first step (T = 0)
and a later one, every attribute away from its default."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.converter_checks import check_converter

F = TensorProto.FLOAT
STATES = {"Adagrad": 1, "Momentum": 1, "Adam": 2}
ATTRIBUTES = {
    "Adagrad": [{"decay_factor": 0.1, "epsilon": 1e-5, "norm_coefficient": 0.01}],
    "Momentum": [{"alpha": 0.9, "beta": 0.5, "mode": "standard", "norm_coefficient": 0.02},
                 {"alpha": 0.8, "beta": 0.7, "mode": "nesterov", "norm_coefficient": 0.0}],
    "Adam": [{"alpha": 0.8, "beta": 0.95, "epsilon": 1e-4, "norm_coefficient": 0.01, "norm_coefficient_post": 0.05}],
}


def _model(op_type: str, attributes: dict) -> onnx.ModelProto:
    groups = ["x", "g"] + [f"s{k}" for k in range(STATES[op_type])]
    inputs = [f"{group}{i}" for group in groups for i in range(2)]
    outputs = [f"new_{group}{i}" for group in ["x"] + groups[2:] for i in range(2)]
    shapes = {"x0": [3, 2], "x1": [4]}
    node = helper.make_node(op_type, ["r", "t", *inputs], outputs, domain="ai.onnx.preview.training", **attributes)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("r", F, []), helper.make_tensor_value_info("t", TensorProto.INT64, [])]
        + [helper.make_tensor_value_info(name, F, shapes[f"x{name[-1]}"]) for name in inputs],
        [helper.make_tensor_value_info(name, F, None) for name in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.preview.training", 1)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("step", [0, 3])
@pytest.mark.parametrize(("op_type", "attributes"), [(op, a) for op, options in ATTRIBUTES.items() for a in options])
def test_an_optimizer_step_updates_tensors_and_states_as_the_spec_writes(op_type, attributes, step):
    rng = np.random.default_rng(step)
    model = _model(op_type, attributes)
    feeds = {"r": np.array(0.1, np.float32), "t": np.array(step, np.int64)}
    for value in model.graph.input[2:]:
        shape = [d.dim_value for d in value.type.tensor_type.shape.dim]
        data = rng.standard_normal(shape).astype(np.float32)
        feeds[value.name] = np.abs(data) if value.name.startswith("s") else data  # squared-gradient states are >= 0
    check_converter(model, feeds, use_onnxruntime=False)
