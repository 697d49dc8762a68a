"""Converters for ai.onnx operators onnx2torch lacks: quantization, normalization, activations,
attention. Each is checked against onnxruntime (or onnx's reference evaluator where onnxruntime
lacks the op or version), with weights and weightless."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.conftest import make_model
from tests.converter_checks import check_converter, conversion_refused

F32, F16, U8, I8, I32 = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32


def node_model(
    op: str,
    inputs: list[str],
    feeds: dict[str, np.ndarray],
    outputs: dict[str, int],
    initializers: dict[str, np.ndarray] | None = None,
    opset: int = 21,
    node_outputs: list[str] | None = None,
    **attributes,
) -> onnx.ModelProto:
    """One ``op`` node; ``inputs`` name graph inputs (in ``feeds``), initializers, or "" (skipped);
    ``outputs`` are the graph's outputs, ``node_outputs`` (default: the same) the node's."""
    initializers = initializers or {}
    graph_inputs = [
        helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(feeds[name].dtype), feeds[name].shape)
        for name in inputs
        if name in feeds
    ]
    graph_outputs = [helper.make_tensor_value_info(name, elem, None) for name, elem in outputs.items()]
    node = helper.make_node(op, inputs, node_outputs or list(outputs), name=op.lower(), **attributes)
    inits = [numpy_helper.from_array(value, name) for name, value in initializers.items()]
    return make_model([node], graph_inputs, graph_outputs, inits, opset=opset)


def meta_only(model: onnx.ModelProto, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """Weightless conversion and meta forward (for what has no real-valued reference)."""
    gm = ow.convert(model, strict=True, size_threshold=0)
    result = ow.meta_forward(gm, *inputs)
    return list(result) if isinstance(result, tuple) else [result]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# --- QuantizeLinear / DequantizeLinear ----------------------------------------------------------


@pytest.mark.parametrize("opset", [10, 13, 19, 21, 23, 24, 25])
@pytest.mark.parametrize("zero_type", [np.uint8, np.int8])
def test_quantize_linear_per_tensor(rng, opset, zero_type):
    x = (rng.standard_normal((2, 3, 4)) * 50).astype(np.float32)
    x[0, 0, :2] = [0.5, 1.5]  # ties round to even
    inits = {"scale": np.array(0.5, np.float32), "zero": np.array(3, zero_type)}
    out = U8 if zero_type == np.uint8 else I8
    check_converter(node_model("QuantizeLinear", ["x", "scale", "zero"], {"x": x}, {"y": out}, inits, opset=opset), {"x": x})


@pytest.mark.parametrize("opset", [13, 19, 21])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_quantize_linear_per_axis(rng, opset, axis):
    x = (rng.standard_normal((3, 4, 5)) * 20).astype(np.float32)
    size = x.shape[axis]
    inits = {"scale": rng.uniform(0.05, 0.5, size).astype(np.float32), "zero": rng.integers(-10, 10, size).astype(np.int8)}
    check_converter(node_model("QuantizeLinear", ["x", "scale", "zero"], {"x": x}, {"y": I8}, inits, opset=opset, axis=axis), {"x": x})


@pytest.mark.parametrize("zero_type,elem", [(np.int16, TensorProto.INT16), (np.uint16, TensorProto.UINT16)])
def test_quantize_linear_16_bit_blocked(rng, zero_type, elem):
    x = (rng.standard_normal((4, 6)) * 3000).astype(np.float32)
    inits = {"scale": rng.uniform(0.5, 2, (4, 3)).astype(np.float32), "zero": rng.integers(0, 100, (4, 3)).astype(zero_type)}
    model = node_model("QuantizeLinear", ["x", "scale", "zero"], {"x": x}, {"y": elem}, inits, opset=21, axis=1, block_size=2)
    check_converter(model, {"x": x})


def test_quantize_linear_blocked_uneven_and_output_dtype(rng):
    """block_size not dividing the axis; no zero point, type from output_dtype."""
    x = (rng.standard_normal((5, 3)) * 30).astype(np.float32)
    inits = {"scale": rng.uniform(0.1, 1, (2, 3)).astype(np.float32)}
    model = node_model("QuantizeLinear", ["x", "scale"], {"x": x}, {"y": I8}, inits, opset=21, axis=0, block_size=3,
                       output_dtype=I8)
    check_converter(model, {"x": x})


def test_quantize_linear_default_uint8_float16(rng):
    x = (rng.standard_normal((3, 4)) * 10).astype(np.float16)
    model = node_model("QuantizeLinear", ["x", "scale"], {"x": x}, {"y": U8}, {"scale": np.array(0.25, np.float16)}, opset=19)
    check_converter(model, {"x": x})


@pytest.mark.parametrize("elem", [TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E5M2])
@pytest.mark.parametrize("saturate", [1, 0])
def test_quantize_linear_float8(rng, elem, saturate):
    x = (rng.standard_normal((4, 8)) * 100).astype(np.float32)
    x[0, :4] = [1e6, -1e6, np.inf, -np.inf]
    zero = numpy_helper.from_array(np.zeros((), np.float32), "zero")
    zero = helper.make_tensor("zero", elem, [], [0.0])
    model = node_model("QuantizeLinear", ["x", "scale", "zero"], {"x": x}, {"y": elem}, {"scale": np.array(0.5, np.float32)},
                       opset=21, saturate=saturate)
    model.graph.initializer.append(zero)
    gm = ow.convert(model, with_weights=True, strict=True)
    got = gm(torch.from_numpy(x)).to(torch.float32).numpy()
    from onnx.reference import ReferenceEvaluator

    expected = ReferenceEvaluator(model).run(None, {"x": x})[0].astype(np.float32)
    finite = np.isfinite(x) & (np.abs(x) < 1e5)
    np.testing.assert_array_equal(got[finite], expected[finite])
    limit = 448.0 if elem == TensorProto.FLOAT8E4M3FN else 57344.0
    overflow = got[0, :4]
    if saturate:
        np.testing.assert_array_equal(overflow, [limit, -limit, limit, -limit])
    elif elem == TensorProto.FLOAT8E5M2:
        np.testing.assert_array_equal(overflow, [np.inf, -np.inf, np.inf, -np.inf])
    else:
        assert np.isnan(overflow).all()


@pytest.mark.parametrize("elem", [TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2,
                                  TensorProto.FLOAT8E5M2FNUZ])
def test_quantize_linear_float8_unsaturated_rounding(elem):
    # Values past the largest finite value that still round to it (448 < 460 < 464 for float8e4m3fn,
    # 240 < 247 < 248 for e4m3fnuz, 57344 < 60000 < 61440 for the e5m2 types) are no overflow.
    x = np.array([[240, 247, 250, 448, 460, -460, 470, 57344, 60000, -60000, 62000, 1.5]], np.float32)
    zero = helper.make_tensor("zero", elem, [], [0.0])
    model = node_model("QuantizeLinear", ["x", "scale", "zero"], {"x": x}, {"y": elem}, {"scale": np.array(1, np.float32)},
                       opset=21, saturate=0)
    model.graph.initializer.append(zero)
    got = ow.convert(model, with_weights=True, strict=True)(torch.from_numpy(x)).to(torch.float32).numpy()
    from onnx.reference import ReferenceEvaluator

    expected = ReferenceEvaluator(model).run(None, {"x": x})[0].astype(np.float32)
    np.testing.assert_array_equal(got, expected)


def test_quantize_linear_int4_unsupported(rng):
    x = rng.standard_normal((2, 4)).astype(np.float32)
    model = node_model("QuantizeLinear", ["x", "scale"], {"x": x}, {"y": TensorProto.INT4}, {"scale": np.array(0.5, np.float32)},
                       opset=21, output_dtype=TensorProto.INT4)
    with conversion_refused("QuantizeLinear.*INT4"):
        ow.convert(model, with_weights=True, strict=True)


@pytest.mark.parametrize("opset", [10, 13, 19, 21, 23, 24, 25])
def test_dequantize_linear_per_tensor(rng, opset):
    x = rng.integers(0, 256, (2, 3, 4)).astype(np.uint8)
    inits = {"scale": np.array(0.05, np.float32), "zero": np.array(120, np.uint8)}
    check_converter(node_model("DequantizeLinear", ["x", "scale", "zero"], {"x": x}, {"y": F32}, inits, opset=opset), {"x": x})


@pytest.mark.parametrize("opset", [13, 21, 25])
@pytest.mark.parametrize("with_zero", [True, False])
def test_dequantize_linear_per_channel_weights(rng, opset, with_zero):
    """The QDQ pattern: int8 weights (meta when weightless) with per-output-channel scales."""
    w = rng.integers(-128, 128, (8, 4, 3, 3)).astype(np.int8)
    inits = {"w": w, "scale": rng.uniform(0.001, 0.02, 8).astype(np.float32)}
    names = ["w", "scale"]
    if with_zero:
        inits["zero"] = rng.integers(-3, 3, 8).astype(np.int8)
        names.append("zero")
    model = node_model("DequantizeLinear", names, {}, {"y": F32}, inits, opset=opset, axis=0)
    check_converter(model, {})
    weightless = ow.convert(model, strict=True, size_threshold=0)
    assert weightless.get_buffer("initializers.onnx_initializer_0").device.type == "meta"


def test_dequantize_linear_feeding_matmul(rng):
    w = rng.integers(-128, 128, (16, 8)).astype(np.int8)
    x = rng.standard_normal((2, 16)).astype(np.float32)
    dq = helper.make_node("DequantizeLinear", ["w", "scale"], ["wf"], axis=1)
    matmul = helper.make_node("MatMul", ["x", "wf"], ["y"])
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(rng.uniform(0.001, 0.02, 8).astype(np.float32), "scale")]
    model = make_model([dq, matmul], [helper.make_tensor_value_info("x", F32, x.shape)], [helper.make_tensor_value_info("y", F32, None)],
                       inits, opset=21)
    # onnxruntime fuses DequantizeLinear+MatMul into a kernel that quantizes x: not a reference.
    check_converter(model, {"x": x}, atol=1e-4, use_onnxruntime=False)


@pytest.mark.parametrize("zero_type,elem", [(np.int16, TensorProto.INT16), (np.uint16, TensorProto.UINT16), (np.int8, I8)])
def test_dequantize_linear_blocked(rng, zero_type, elem):
    info = np.iinfo(zero_type)
    x = rng.integers(info.min, info.max, (6, 5)).astype(zero_type)
    inits = {"scale": rng.uniform(0.01, 0.1, (2, 5)).astype(np.float32), "zero": rng.integers(0, 50, (2, 5)).astype(zero_type)}
    model = node_model("DequantizeLinear", ["x", "scale", "zero"], {"x": x}, {"y": F32}, inits, opset=21, axis=0, block_size=4)
    check_converter(model, {"x": x}, atol=1e-3)


def test_dequantize_linear_int32_and_output_dtype(rng):
    x = rng.integers(-100000, 100000, (3, 4)).astype(np.int32)
    model = node_model("DequantizeLinear", ["x", "scale"], {"x": x}, {"y": F16}, {"scale": np.array(0.001, np.float32)},
                       opset=23, output_dtype=F16)
    check_converter(model, {"x": x}, atol=1e-2, rtol=1e-3, use_onnxruntime=False)


def test_dequantize_linear_float16_scale_per_axis(rng):
    x = rng.integers(-128, 128, (3, 4)).astype(np.int8)
    inits = {"scale": rng.uniform(0.01, 0.1, 4).astype(np.float16), "zero": rng.integers(-5, 5, 4).astype(np.int8)}
    model = node_model("DequantizeLinear", ["x", "scale", "zero"], {"x": x}, {"y": F16}, inits, opset=21, axis=-1)
    check_converter(model, {"x": x}, atol=1e-3)


def test_dequantize_linear_float8(rng):
    values = rng.standard_normal((3, 4)).astype(np.float32) * 10
    w = helper.make_tensor("w", TensorProto.FLOAT8E4M3FN, values.shape, values.flatten().tolist())
    model = node_model("DequantizeLinear", ["w", "scale"], {}, {"y": F32}, {"scale": np.array(2.0, np.float32)}, opset=19)
    model.graph.initializer.append(w)
    check_converter(model, {})


def test_dequantize_linear_int4_weightless(rng):
    """int4 weights are always meta in torch: the weightless conversion and meta forward work."""
    w = helper.make_tensor("w", TensorProto.INT4, [8, 16], rng.integers(-8, 8, 128).tolist())
    x = np.zeros((2, 16), np.float32)
    dq = helper.make_node("DequantizeLinear", ["w", "scale"], ["wf"], axis=1, block_size=8)
    matmul = helper.make_node("MatMul", ["x", "wt"], ["y"])
    transpose = helper.make_node("Transpose", ["wf"], ["wt"])
    model = make_model([dq, transpose, matmul], [helper.make_tensor_value_info("x", F32, x.shape)],
                       [helper.make_tensor_value_info("y", F32, None)],
                       [w, numpy_helper.from_array(rng.uniform(0.1, 1, (8, 2)).astype(np.float32), "scale")], opset=21)
    (y,) = meta_only(model, [torch.empty(2, 16, device="meta")])
    assert (tuple(y.shape), y.dtype) == ((2, 8), torch.float32)


def test_quantize_dequantize_round_trip_onnxruntime_qdq(rng, tmp_path):
    """A model quantized by onnxruntime's quantize_static in QDQ format, per channel."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    # (onnx2torch's Conv needs its weights as initializers, so the model has MatMuls only.)
    w1 = numpy_helper.from_array(rng.standard_normal((12, 16)).astype(np.float32) * 0.3, "w1")
    b1 = numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.standard_normal((16, 10)).astype(np.float32) * 0.1, "w2")
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["m"]),
        helper.make_node("Add", ["m", "b1"], ["a"]),
        helper.make_node("Relu", ["a"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["y"]),
    ]
    model = make_model(nodes, [helper.make_tensor_value_info("x", F32, [3, 12])], [helper.make_tensor_value_info("y", F32, [3, 10])],
                       [w1, b1, w2], opset=17)
    samples = [rng.standard_normal((3, 12)).astype(np.float32) for _ in range(4)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter({"x": s} for s in samples)

        def get_next(self):
            return next(self.items, None)

    source, target = tmp_path / "f.onnx", tmp_path / "q.onnx"
    onnx.save(model, source)
    quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    quantized = onnx.load(target)
    assert {n.op_type for n in quantized.graph.node} >= {"QuantizeLinear", "DequantizeLinear"}
    check_converter(quantized, {"x": samples[0]}, atol=1e-4)


# --- DynamicQuantizeLinear, integer matmul and conv ---------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 100.0, -1.0])
def test_dynamic_quantize_linear(rng, scale):
    x = (rng.standard_normal((3, 5)) * scale).astype(np.float32)
    if scale < 0:
        x = np.abs(x) * -1  # all negative: the range is extended to hold 0
    model = node_model("DynamicQuantizeLinear", ["x"], {"x": x}, {"y": U8, "y_scale": F32, "y_zero_point": U8}, opset=11)
    check_converter(model, {"x": x})


@pytest.mark.parametrize("zero_points", ["none", "scalar", "vector"])
@pytest.mark.parametrize("types", [(np.uint8, np.int8), (np.int8, np.uint8), (np.uint8, np.uint8)])
def test_matmul_integer(rng, zero_points, types):
    a_type, b_type = types
    a = rng.integers(np.iinfo(a_type).min, np.iinfo(a_type).max, (2, 3, 4)).astype(a_type)
    b = rng.integers(np.iinfo(b_type).min, np.iinfo(b_type).max, (4, 5)).astype(b_type)
    inputs, inits = ["a", "b"], {"b": b}
    if zero_points == "scalar":
        inputs += ["az", "bz"]
        inits |= {"az": np.array(3, a_type), "bz": np.array(5, b_type)}
    elif zero_points == "vector":
        inputs += ["", "bz"]
        inits |= {"bz": rng.integers(0, 10, 5).astype(b_type)}
    model = node_model("MatMulInteger", inputs, {"a": a}, {"y": I32}, inits, opset=10)
    check_converter(model, {"a": a}, use_onnxruntime=zero_points != "vector" or a_type == np.uint8)


@pytest.mark.parametrize("opset", [10, 21])
@pytest.mark.parametrize("types", [(np.uint8, np.int8, np.uint8), (np.int8, np.int8, np.int8), (np.uint8, np.uint8, np.uint8)])
def test_qlinear_matmul(rng, opset, types):
    a_type, b_type, y_type = types
    a = rng.integers(np.iinfo(a_type).min, np.iinfo(a_type).max, (2, 3, 16)).astype(a_type)
    b = rng.integers(np.iinfo(b_type).min, np.iinfo(b_type).max, (16, 5)).astype(b_type)
    inits = {
        "as": np.array(0.02, np.float32), "az": np.array(4, a_type), "b": b, "bs": np.array(0.01, np.float32),
        "bz": np.array(2, b_type), "ys": np.array(0.05, np.float32), "yz": np.array(7, y_type),
    }
    model = node_model("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], {"a": a},
                       {"y": helper.np_dtype_to_tensor_dtype(np.dtype(y_type))}, inits, opset=opset)
    check_converter(model, {"a": a}, atol=1)


def test_qlinear_matmul_per_column(rng):
    a = rng.integers(0, 256, (3, 8)).astype(np.uint8)
    b = rng.integers(-128, 128, (8, 4)).astype(np.int8)
    inits = {
        "as": np.array(0.02, np.float32), "az": np.array(128, np.uint8), "b": b, "bs": rng.uniform(0.005, 0.02, 4).astype(np.float32),
        "bz": np.zeros(4, np.int8), "ys": np.array(0.1, np.float32), "yz": np.array(128, np.uint8),
    }
    model = node_model("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], {"a": a}, {"y": U8}, inits, opset=21)
    check_converter(model, {"a": a}, atol=1)


def test_qlinear_matmul_float8_unsupported(rng):
    f8 = TensorProto.FLOAT8E4M3FN
    a = rng.standard_normal((2, 4)).astype(np.float32)
    model = node_model("QLinearMatMul", ["a8", "as", "az", "b", "bs", "bz", "ys", "yz"], {}, {"y": f8}, {}, opset=21)
    model.graph.input.append(helper.make_tensor_value_info("a8", f8, a.shape))
    scale = np.array(1.0, np.float32)
    model.graph.initializer.extend(
        [numpy_helper.from_array(scale, name) for name in ("as", "bs", "ys")]
        + [helper.make_tensor(name, f8, [], [0.0]) for name in ("az", "bz", "yz")]
        + [helper.make_tensor("b", f8, [4, 3], [0.5] * 12)]
    )
    with conversion_refused("QLinearMatMul: quantized element type FLOAT8E4M3FN"):
        ow.convert(model, strict=True)


CONV_ATTRIBUTES = [
    {},
    {"pads": [1, 0, 2, 1], "strides": [2, 1]},
    {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
    {"auto_pad": "SAME_LOWER", "strides": [1, 2]},
    {"dilations": [2, 1], "pads": [1, 1, 1, 1]},
    {"auto_pad": "VALID", "group": 2},
]


@pytest.mark.parametrize("attributes", CONV_ATTRIBUTES)
def test_conv_integer(rng, attributes):
    x = rng.integers(0, 256, (1, 4, 7, 6)).astype(np.uint8)
    groups = attributes.get("group", 1)
    inits = {"w": rng.integers(0, 256, (6, 4 // groups, 3, 2)).astype(np.uint8), "xz": np.array(100, np.uint8), "wz": np.array(90, np.uint8)}
    model = node_model("ConvInteger", ["x", "w", "xz", "wz"], {"x": x}, {"y": I32}, inits, opset=10, **attributes)
    check_converter(model, {"x": x})


def test_conv_integer_1d_no_zero_points(rng):
    x = rng.integers(0, 256, (2, 3, 9)).astype(np.uint8)
    inits = {"w": rng.integers(0, 256, (4, 3, 3)).astype(np.uint8)}
    check_converter(node_model("ConvInteger", ["x", "w"], {"x": x}, {"y": I32}, inits, opset=10, strides=[2]), {"x": x})


@pytest.mark.parametrize("attributes", CONV_ATTRIBUTES)
@pytest.mark.parametrize("per_channel", [False, True])
def test_qlinear_conv(rng, attributes, per_channel):
    x = rng.integers(0, 256, (1, 4, 7, 6)).astype(np.uint8)
    groups = attributes.get("group", 1)
    channels = 6
    inits = {
        "xs": np.array(0.02, np.float32), "xz": np.array(128, np.uint8),
        "w": rng.integers(-128, 128, (channels, 4 // groups, 3, 2)).astype(np.int8),
        "ws": rng.uniform(0.005, 0.02, channels).astype(np.float32) if per_channel else np.array(0.01, np.float32),
        "wz": np.zeros(channels if per_channel else (), np.int8),
        "ys": np.array(0.2, np.float32), "yz": np.array(120, np.uint8),
        "bias": rng.integers(-1000, 1000, channels).astype(np.int32),
    }
    model = node_model("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "bias"], {"x": x}, {"y": U8}, inits, opset=10,
                       **attributes)
    check_converter(model, {"x": x}, atol=1)


# --- normalization ------------------------------------------------------------------------------


@pytest.mark.parametrize("opset,groups", [(18, 2), (18, 4), (21, 2), (21, 1), (23, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_group_normalization(rng, opset, groups, dtype):
    x = (rng.standard_normal((2, 4, 3, 5)) * 3 + 1).astype(dtype)
    affine = groups if opset == 18 else 4  # version 18: per group, 21: per channel
    inits = {"scale": rng.standard_normal(affine).astype(dtype), "bias": rng.standard_normal(affine).astype(dtype)}
    model = node_model("GroupNormalization", ["x", "scale", "bias"], {"x": x}, {"y": helper.np_dtype_to_tensor_dtype(np.dtype(dtype))},
                       inits, opset=opset, num_groups=groups, epsilon=1e-3)
    tolerance = 1e-2 if dtype == np.float16 else 1e-5
    check_converter(model, {"x": x}, atol=tolerance, rtol=tolerance, use_onnxruntime=opset != 18)


@pytest.mark.parametrize("axis", [-1, -2, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_rms_normalization(rng, axis, dtype):
    x = rng.standard_normal((2, 3, 8)).astype(dtype)
    scale = rng.standard_normal(x.shape[axis:] if axis != 1 else (3, 8)).astype(dtype)
    model = node_model("RMSNormalization", ["x", "scale"], {"x": x}, {"y": helper.np_dtype_to_tensor_dtype(np.dtype(dtype))},
                       {"scale": scale}, opset=23, axis=axis, epsilon=1e-4)
    tolerance = 1e-2 if dtype == np.float16 else 1e-5
    check_converter(model, {"x": x}, atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("opset", [17, 22])
@pytest.mark.parametrize("p,axis", [(2, -1), (1, 0), (2, 1)])
def test_lp_normalization(rng, opset, p, axis):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    x[0, 0] = 0  # a zero norm along the last axis
    check_converter(node_model("LpNormalization", ["x"], {"x": x}, {"y": F32}, opset=opset, p=p, axis=axis), {"x": x})


def test_lp_normalization_bad_p():
    x = np.zeros((2, 3), np.float32)
    with conversion_refused("LpNormalization: p=3"):
        ow.convert(node_model("LpNormalization", ["x"], {"x": x}, {"y": F32}, opset=22, p=3), strict=True)


@pytest.mark.parametrize("opset", [9, 13])
@pytest.mark.parametrize("axes", [None, [1], [0, 1, 2, 3]])
def test_mean_variance_normalization(rng, opset, axes):
    x = (rng.standard_normal((2, 3, 4, 5)) * 2 + 3).astype(np.float32)
    attributes = {"axes": axes} if axes is not None else {}
    model = node_model("MeanVarianceNormalization", ["x"], {"x": x}, {"y": F32}, opset=opset, **attributes)
    check_converter(model, {"x": x}, atol=1e-4)


# --- activations --------------------------------------------------------------------------------


@pytest.mark.parametrize("op,opset,low,high", [
    ("Sinh", 9, -3, 3), ("Sinh", 22, -3, 3), ("Cosh", 13, -3, 3), ("Cosh", 22, -3, 3), ("Asinh", 13, -5, 5),
    ("Asinh", 22, -5, 5), ("Acosh", 13, 1, 6), ("Acosh", 22, 1, 6), ("Atanh", 13, -0.99, 0.99), ("Atanh", 22, -0.99, 0.99),
    ("Mish", 18, -6, 6), ("Mish", 22, -6, 6),
])
def test_unary_functions(rng, op, opset, low, high):
    x = rng.uniform(low, high, (3, 7)).astype(np.float32)
    check_converter(node_model(op, ["x"], {"x": x}, {"y": F32}, opset=opset), {"x": x}, atol=1e-5)


@pytest.mark.parametrize("approximate", [None, "none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_gelu(rng, approximate, dtype):
    x = (rng.standard_normal((4, 6)) * 3).astype(dtype)
    attributes = {"approximate": approximate} if approximate else {}
    model = node_model("Gelu", ["x"], {"x": x}, {"y": helper.np_dtype_to_tensor_dtype(np.dtype(dtype))}, opset=20, **attributes)
    check_converter(model, {"x": x}, atol=1e-5 if dtype == np.float32 else 1e-2, rtol=1e-3)


def test_gelu_bad_approximate():
    x = np.zeros((2,), np.float32)
    model = node_model("Gelu", ["x"], {"x": x}, {"y": F32}, opset=20, approximate="fast")
    with conversion_refused("Gelu: approximate='fast'"):
        ow.convert(model, strict=True)


@pytest.mark.parametrize("alpha", [None, 1.702, -0.5])
def test_swish(rng, alpha):
    x = (rng.standard_normal((4, 6)) * 4).astype(np.float32)
    attributes = {"alpha": alpha} if alpha is not None else {}
    model = node_model("Swish", ["x"], {"x": x}, {"y": F32}, opset=24, **attributes)
    check_converter(model, {"x": x}, use_onnxruntime=False)


@pytest.mark.parametrize("opset", [10, 22])
@pytest.mark.parametrize("alpha", [None, 0.3, -1.0])
def test_thresholded_relu(rng, opset, alpha):
    x = (rng.standard_normal((4, 6)) * 2).astype(np.float32)
    attributes = {"alpha": alpha} if alpha is not None else {}
    check_converter(node_model("ThresholdedRelu", ["x"], {"x": x}, {"y": F32}, opset=opset, **attributes), {"x": x})


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int8])
@pytest.mark.parametrize("attributes", [{}, {"lambd": 1.5, "bias": 1.0}, {"lambd": 0.0, "bias": -2.0}])
def test_shrink(rng, dtype, attributes):
    x = (rng.standard_normal((4, 6)) * 4).astype(dtype)
    model = node_model("Shrink", ["x"], {"x": x}, {"y": helper.np_dtype_to_tensor_dtype(np.dtype(dtype))}, opset=9, **attributes)
    check_converter(model, {"x": x})


@pytest.mark.parametrize("opset,axis", [(9, None), (9, 0), (11, 2), (11, -1), (13, None), (13, 0), (13, 1), (13, -2)])
def test_hardmax(rng, opset, axis):
    x = rng.integers(0, 3, (2, 3, 4)).astype(np.float32)  # ties: the first maximum wins
    attributes = {"axis": axis} if axis is not None else {}
    check_converter(node_model("Hardmax", ["x"], {"x": x}, {"y": F32}, opset=opset, **attributes), {"x": x})


# --- attention ----------------------------------------------------------------------------------


def attention_model(feeds, inputs, outputs, opset, **attributes):
    dtype = helper.np_dtype_to_tensor_dtype(feeds["q"].dtype)
    elems = {"y": dtype, "present_key": dtype, "present_value": dtype, "qk": dtype}
    return node_model("Attention", inputs, feeds, {name: elems[name] for name in outputs if name}, opset=opset,
                      node_outputs=list(outputs), **attributes)


def run_attention(feeds, inputs, outputs=("y",), opset=23, use_onnxruntime=True, atol=1e-5, **attributes):
    model = attention_model(feeds, list(inputs), list(outputs), opset, **attributes)
    return check_converter(model, feeds, atol=atol, use_onnxruntime=use_onnxruntime)


@pytest.mark.parametrize("opset", [23, 24, 25])
@pytest.mark.parametrize("use_onnxruntime", [True, False])
def test_attention_4d(rng, opset, use_onnxruntime):
    feeds = {name: rng.standard_normal((2, 3, 5, 8)).astype(np.float32) for name in ("q", "k", "v")}
    run_attention(feeds, ["q", "k", "v"], opset=opset, use_onnxruntime=use_onnxruntime)


@pytest.mark.parametrize("is_causal", [0, 1])
@pytest.mark.parametrize("mask", [None, "bool", "float", "bool_2d_row_masked"])
def test_attention_3d_gqa_masks(rng, is_causal, mask):
    feeds = {
        "q": rng.standard_normal((2, 4, 4 * 6)).astype(np.float32),
        "k": rng.standard_normal((2, 4, 2 * 6)).astype(np.float32),
        "v": rng.standard_normal((2, 4, 2 * 5)).astype(np.float32),
    }
    inputs = ["q", "k", "v"]
    if mask == "bool":
        feeds["mask"] = rng.random((2, 1, 4, 4)) > 0.3
    elif mask == "float":
        feeds["mask"] = rng.standard_normal((4, 4)).astype(np.float32)
    elif mask == "bool_2d_row_masked":
        feeds["mask"] = np.ones((4, 4), bool)
        feeds["mask"][1] = False  # a fully masked query row gives zeros
    if mask:
        inputs.append("mask")
    run_attention(feeds, inputs, q_num_heads=4, kv_num_heads=2, is_causal=is_causal)


@pytest.mark.parametrize("opset", [23, 24])
@pytest.mark.parametrize("is_causal", [0, 1])
def test_attention_past_key_value(rng, opset, is_causal):
    feeds = {
        "q": rng.standard_normal((1, 4, 3, 8)).astype(np.float32),
        "k": rng.standard_normal((1, 2, 3, 8)).astype(np.float32),
        "v": rng.standard_normal((1, 2, 3, 8)).astype(np.float32),
        "past_key": rng.standard_normal((1, 2, 5, 8)).astype(np.float32),
        "past_value": rng.standard_normal((1, 2, 5, 8)).astype(np.float32),
        "mask": rng.standard_normal((3, 8)).astype(np.float32),
    }
    run_attention(feeds, ["q", "k", "v", "mask", "past_key", "past_value"], ("y", "present_key", "present_value"), opset=opset,
                  is_causal=is_causal)


@pytest.mark.parametrize("mode,softcap", [(0, 0.0), (0, 2.0), (1, 2.0), (2, 0.0), (2, 3.0), (3, 1.5)])
def test_attention_softcap_scale_qk_output(rng, mode, softcap):
    feeds = {name: rng.standard_normal((1, 2, 4, 8)).astype(np.float32) * 2 for name in ("q", "k", "v")}
    feeds["mask"] = rng.random((4, 4)) > 0.2
    # onnxruntime's mode-2 output holds the float minimum where the spec (and onnx's reference) has -inf.
    run_attention(feeds, ["q", "k", "v", "mask"], ("y", "", "", "qk"), scale=0.3, softcap=softcap, qk_matmul_output_mode=mode,
                  is_causal=1, use_onnxruntime=mode != 2)


def test_attention_float16_softmax_precision(rng):
    feeds = {name: rng.standard_normal((1, 2, 4, 8)).astype(np.float16) for name in ("q", "k", "v")}
    run_attention(feeds, ["q", "k", "v"], softmax_precision=TensorProto.FLOAT, atol=2e-3)


@pytest.mark.parametrize("is_causal", [0, 1])
def test_attention_nonpad_kv_seqlen_and_short_mask(rng, is_causal):
    feeds = {
        "q": rng.standard_normal((2, 2, 3, 4)).astype(np.float32),
        "k": rng.standard_normal((2, 2, 6, 4)).astype(np.float32),
        "v": rng.standard_normal((2, 2, 6, 4)).astype(np.float32),
        "mask": rng.random((3, 5)) > 0.2,  # shorter than the 6 keys: padded with False (version 24)
        "nonpad": np.array([6, 4], np.int64),
    }
    # onnxruntime's CPU kernel rejects nonpad_kv_seqlen: onnx's reference evaluator is the reference.
    run_attention(feeds, ["q", "k", "v", "mask", "", "", "nonpad"], opset=24, is_causal=is_causal, use_onnxruntime=False)


@pytest.mark.parametrize("windows", [{"left_window_size": 1}, {"right_window_size": 0}, {"left_window_size": 2, "right_window_size": 1}])
def test_attention_sliding_window(rng, windows):
    feeds = {name: rng.standard_normal((1, 2, 5, 4)).astype(np.float32) for name in ("q", "k", "v")}
    run_attention(feeds, ["q", "k", "v"], opset=25, **windows)


def test_attention_bad_qk_mode():
    feeds = {name: np.zeros((1, 1, 2, 2), np.float32) for name in ("q", "k", "v")}
    with conversion_refused("qk_matmul_output_mode=4"):
        ow.convert(attention_model(feeds, ["q", "k", "v"], ["y", "", "", "qk"], 23, qk_matmul_output_mode=4), strict=True)


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("rotary_dim", [0, 4])
@pytest.mark.parametrize("layout", ["3d", "4d"])
def test_rotary_embedding_position_ids(rng, interleaved, rotary_dim, layout):
    heads, size, seq = 2, 8, 5
    x = rng.standard_normal((2, seq, heads * size) if layout == "3d" else (2, heads, seq, size)).astype(np.float32)
    half = (rotary_dim or size) // 2
    angles = rng.uniform(0, 6, (16, half))
    inits = {"cos": np.cos(angles).astype(np.float32), "sin": np.sin(angles).astype(np.float32)}
    feeds = {"x": x, "pos": rng.integers(0, 16, (2, seq)).astype(np.int64)}
    attributes = {"interleaved": interleaved, "rotary_embedding_dim": rotary_dim}
    if layout == "3d":
        attributes["num_heads"] = heads
    model = node_model("RotaryEmbedding", ["x", "cos", "sin", "pos"], feeds, {"y": F32}, inits, opset=23, **attributes)
    try:
        check_converter(model, feeds, use_onnxruntime=True)
    except Exception as error:  # noqa: BLE001
        if "NOT_IMPLEMENTED" not in str(error):
            raise
        check_converter(model, feeds, use_onnxruntime=False)


def test_rotary_embedding_without_position_ids(rng):
    x = rng.standard_normal((2, 2, 3, 6)).astype(np.float32)
    angles = rng.uniform(0, 6, (2, 3, 3))
    feeds = {"x": x, "cos": np.cos(angles).astype(np.float32), "sin": np.sin(angles).astype(np.float32)}
    model = node_model("RotaryEmbedding", ["x", "cos", "sin"], feeds, {"y": F32}, opset=23)
    check_converter(model, feeds, use_onnxruntime=False)
