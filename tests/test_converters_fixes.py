"""Overrides of onnx2torch converters that convert wrongly, against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx2torch
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from conftest import make_model
from converter_checks import check_converter


def _cumsum_model(opset: int, **attributes):
    return make_model(
        [helper.make_node("CumSum", ["x", "axis"], ["y"], **attributes)],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array(1, dtype=np.int64), "axis")],
        opset=opset,
    )


@pytest.mark.parametrize("opset", [11, 14])
@pytest.mark.parametrize("attributes", [{}, {"reverse": 1}, {"exclusive": 1}, {"exclusive": 1, "reverse": 1}])
def test_cumsum(opset, attributes):
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    check_converter(_cumsum_model(opset, **attributes), {"x": x})


def test_onnx2torch_cumsum_sums_backwards_without_a_reverse_attribute():
    # The bug the override fixes: if this starts failing, onnx2torch fixed it and the override can go.
    x = torch.arange(4, dtype=torch.float32).reshape(1, 4).expand(2, 4).contiguous()
    y = onnx2torch.convert(_cumsum_model(14))(x)
    assert y[0].tolist() == [6.0, 6.0, 5.0, 3.0]


@pytest.mark.parametrize("shape, axis", [([8], 1), ([8], 0), ([2, 3, 4], 3), ([2, 3, 4], -1), ([2, 3, 4], 0), ([5], -1)])
def test_flatten(shape, axis):
    model = make_model(
        [helper.make_node("Flatten", ["x"], ["y"], axis=axis)],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        opset=13,
    )
    check_converter(model, {"x": np.arange(np.prod(shape), dtype=np.float32).reshape(shape)})


@pytest.mark.parametrize("fmod", [0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_mod_28(fmod, dtype):
    x = np.array([0.0, -0.0, 5, -5, 7, -7, 3, -3], dtype=dtype)
    y = np.array([-3.0, 3, 3, 3, -2, -2, 3, 3], dtype=dtype)
    onnx_type = TensorProto.FLOAT if dtype == np.float32 else TensorProto.INT32
    model = make_model(
        [helper.make_node("Mod", ["x", "y"], ["z"], fmod=fmod)],
        [helper.make_tensor_value_info("x", onnx_type, [8]), helper.make_tensor_value_info("y", onnx_type, [8])],
        [helper.make_tensor_value_info("z", onnx_type, None)],
        opset=28,
    )
    real = check_converter(model, {"x": x, "y": y}, use_onnxruntime=False)
    if fmod == 0 and dtype == np.float32:
        signs = np.signbit(real(torch.from_numpy(x), torch.from_numpy(y)).numpy())
        assert signs.tolist() == np.signbit(y).tolist()  # the divisor's sign, zeros included
