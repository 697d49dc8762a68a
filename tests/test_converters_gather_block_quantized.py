"""com.microsoft GatherBlockQuantized against onnxruntime's CPU kernel."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.converter_checks import check_converter, conversion_refused

VOCAB, HIDDEN = 20, 64


def _model(data: np.ndarray, scales: np.ndarray, zero_points: np.ndarray | None, **attributes) -> onnx.ModelProto:
    initializers = [numpy_helper.from_array(data, "data"), numpy_helper.from_array(scales, "scales")]
    inputs = ["data", "ids", "scales"]
    if zero_points is not None:
        initializers.append(numpy_helper.from_array(zero_points, "zero_points"))
        inputs.append("zero_points")
    graph = helper.make_graph(
        [helper.make_node("GatherBlockQuantized", inputs, ["y"], name="embed", domain="com.microsoft", **attributes)],
        "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("with_zero_points", [False, True])
@pytest.mark.parametrize("block_size", [16, 32])
def test_uint8_tables_packed_or_not(rng, bits, with_zero_points, block_size):
    per_byte = 8 // bits
    data = rng.integers(0, 256, (VOCAB, HIDDEN // per_byte), dtype=np.uint8)
    blocks = HIDDEN // block_size
    scales = (rng.random((VOCAB, blocks)) + 0.5).astype(np.float32)
    zero_points = rng.integers(0, 256, (VOCAB, max(blocks // per_byte, 1)), dtype=np.uint8) if with_zero_points else None
    model = _model(data, scales, zero_points, bits=bits, block_size=block_size, gather_axis=0, quantize_axis=1)
    ids = np.array([[0, 5, 19], [-1, 7, 7]], dtype=np.int64)
    check_converter(model, {"ids": ids}, atol=1e-5)


def test_a_table_of_int4_elements_is_refused():
    model = _model(np.zeros((VOCAB, HIDDEN // 2), np.uint8), np.ones((VOCAB, 2), np.float32), None, block_size=32)
    int4 = helper.make_tensor("data", TensorProto.INT4, [VOCAB, HIDDEN], np.zeros(VOCAB * HIDDEN, np.int8).tolist())
    model.graph.initializer[0].CopyFrom(int4)
    with conversion_refused("element type INT4 is not supported"):
        ow.convert(model)
