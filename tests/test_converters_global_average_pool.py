"""GlobalAveragePool: the mean over every spatial axis (all after N and C) of inputs of any rank,
whether or not shape inference knows the input's shape, against onnxruntime (onnx's reference
evaluator where onnxruntime has no kernel)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.conftest import make_model
from tests.converter_checks import check_converter

F = TensorProto.FLOAT


def _pool_model(input_shape, opset: int, elem_type: int = F):
    """x -> GlobalAveragePool -> y; ``input_shape`` None declares x without a shape."""
    return make_model(
        [helper.make_node("GlobalAveragePool", ["x"], ["y"], name="pool")],
        [helper.make_tensor_value_info("x", elem_type, input_shape)],
        [helper.make_tensor_value_info("y", elem_type, None)],
        opset=opset,
    )


@pytest.mark.parametrize("opset", [7, 22])
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 5), (1, 2, 3, 4, 5)])
def test_global_average_pool_averages_every_spatial_axis(opset, shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    check_converter(_pool_model(list(shape), opset), {"x": x})


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 5)])
def test_global_average_pool_input_of_unknown_shape_keeps_batch_and_channels(shape):
    """x declared without a shape: its value_info has a type but no shape, which is not rank 0."""
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    check_converter(_pool_model(None, 13), {"x": x})


def test_global_average_pool_after_conv_in_ir3_file_without_weight_inputs():
    """As paddle2onnx writes at opset 7: IR 3, initializers not listed as graph inputs, so shape
    inference gives the Conv's output a type and no shape."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    weight = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    model = make_model(
        [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
         helper.make_node("GlobalAveragePool", ["c"], ["y"], name="pool")],
        [helper.make_tensor_value_info("x", F, ["N", 3, 6, 6])],
        [helper.make_tensor_value_info("y", F, None)],
        [weight],
        opset=7,
    )
    model.ir_version = 3
    got = check_converter(model, {"x": x})(torch.from_numpy(x))
    assert tuple(got.shape) == (2, 4, 1, 1)


def test_global_average_pool_double():
    """onnxruntime has no double kernel: against onnx's reference evaluator."""
    x = np.random.default_rng(4).standard_normal((2, 3, 4)).astype(np.float64)
    check_converter(_pool_model([2, 3, 4], 13, TensorProto.DOUBLE), {"x": x}, use_onnxruntime=False)


def test_global_average_pool_refuses_input_without_spatial_axes():
    """N x C only: onnxruntime refuses it; torch.mean over no axes would average everything."""
    module = ow.convert(_pool_model(None, 13), with_weights=True)
    with pytest.raises(ValueError, match="rank 2"):
        module(torch.zeros(2, 3))
