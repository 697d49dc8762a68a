"""Conv and ConvTranspose with computed weights or padding onnx2torch refuses, against onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import make_model
from converter_checks import check_converter

RNG = np.random.default_rng(7)


def _model(op: str, x_shape, w_shape, attributes: dict, *, bias: bool, computed: bool, opset: int):
    w = RNG.standard_normal(w_shape).astype(np.float32)
    out_channels = w_shape[1] * attributes.get("group", 1) if op == "ConvTranspose" else w_shape[0]
    initializers = [numpy_helper.from_array(w, "W")]
    nodes = []
    weight = "W"
    if computed:  # as a QDQ model has it: the weight is the output of a node
        nodes.append(helper.make_node("Identity", ["W"], ["W_computed"]))
        weight = "W_computed"
    inputs = ["x", weight]
    if bias:
        initializers.append(numpy_helper.from_array(RNG.standard_normal(out_channels).astype(np.float32), "B"))
        inputs.append("B")
    nodes.append(helper.make_node(op, inputs, ["y"], **attributes))
    return make_model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializers,
        opset=opset,
    )


CONV_CASES = {
    "plain": ([1, 3, 9, 9], [4, 3, 3, 3], {}),
    "asymmetric pads": ([1, 3, 9, 9], [4, 3, 3, 3], {"pads": [0, 1, 2, 1]}),
    "same upper stride 2": ([1, 3, 10, 9], [4, 3, 3, 3], {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    "same lower stride 2": ([1, 3, 10, 9], [4, 3, 4, 4], {"auto_pad": "SAME_LOWER", "strides": [2, 2]}),
    "valid dilated": ([1, 3, 11, 11], [4, 3, 3, 3], {"auto_pad": "VALID", "dilations": [2, 2]}),
    "grouped": ([1, 4, 8, 8], [6, 2, 3, 3], {"group": 2, "pads": [1, 1, 1, 1]}),
    "1d": ([2, 3, 17], [5, 3, 4], {"strides": [3], "pads": [1, 2]}),
    "3d": ([1, 2, 5, 6, 7], [3, 2, 2, 3, 2], {"pads": [0, 1, 0, 1, 0, 1]}),
}


@pytest.mark.parametrize("opset", [17, 22])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv_with_computed_weights(case, bias, opset):
    x_shape, w_shape, attributes = CONV_CASES[case]
    model = _model("Conv", x_shape, w_shape, attributes, bias=bias, computed=True, opset=opset)
    check_converter(model, {"x": RNG.standard_normal(x_shape).astype(np.float32)}, atol=1e-4)


TRANSPOSE_CASES = {
    "plain": ([1, 3, 5, 5], [3, 4, 3, 3], {}),
    "strided output_padding": ([1, 3, 5, 5], [3, 4, 3, 3], {"strides": [2, 2], "output_padding": [1, 0]}),
    "asymmetric pads": ([1, 3, 5, 5], [3, 4, 3, 3], {"strides": [2, 2], "pads": [0, 1, 2, 1]}),
    "output_shape": ([1, 3, 5, 5], [3, 4, 3, 3], {"strides": [2, 2], "output_shape": [10, 12]}),
    "same upper": ([1, 3, 5, 6], [3, 4, 4, 4], {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    "same lower": ([1, 3, 5, 6], [3, 4, 3, 3], {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    "grouped dilated": ([1, 4, 5, 5], [4, 3, 3, 3], {"group": 2, "dilations": [2, 1]}),
    "1d": ([2, 3, 7], [3, 2, 4], {"strides": [3], "pads": [1, 0]}),
}


@pytest.mark.parametrize("computed", [True, False])
@pytest.mark.parametrize("case", sorted(TRANSPOSE_CASES))
def test_conv_transpose(case, computed):
    x_shape, w_shape, attributes = TRANSPOSE_CASES[case]
    model = _model("ConvTranspose", x_shape, w_shape, attributes, bias=True, computed=computed, opset=17)
    check_converter(model, {"x": RNG.standard_normal(x_shape).astype(np.float32)}, atol=1e-4)
