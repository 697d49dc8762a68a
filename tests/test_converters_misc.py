"""Converters for ops onnx2torch lacks: indexing, shape, bitwise, pooling and recurrent ops.

Each is checked against onnxruntime (or onnx's reference evaluator) with check_converter, and
against the expected outputs of onnx's backend node test cases for the op.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from onnx_weightless._value_inputs import value_positions
from tests.conftest import make_model
from tests.converter_checks import check_converter, conversion_refused


def _info(name: str, array: np.ndarray) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape)


def _out(name: str, elem_type: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, None)


def _single(op: str, feeds: dict, constants: dict, outputs, opset: int, elem_type=TensorProto.FLOAT, **attrs):
    """A model of one ``op`` node; ``constants`` become initializers, inputs in dict order
    (a None value skips an optional input)."""
    names = list(feeds) + list(constants)
    order = attrs.pop("order", names)
    node = helper.make_node(op, [n or "" for n in order], list(outputs), name="n", **attrs)
    initializers = [numpy_helper.from_array(v, k) for k, v in constants.items()]
    return make_model([node], [_info(k, v) for k, v in feeds.items()], [_out(o, elem_type) for o in outputs],
                      initializers, opset=opset)


# --- onnx's backend node test cases ------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _backend_cases() -> dict[str, list]:
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases()
    by_op: dict[str, list] = {}
    for case in cases:
        ops = {node.op_type for node in case.model.graph.node}
        if len(ops) == 1:  # the op itself, not a function-expanded variant
            by_op.setdefault(ops.pop(), []).append(case)
    return by_op


def _tensor(array: np.ndarray) -> torch.Tensor:
    array = np.ascontiguousarray(array)
    if array.dtype.name == "bfloat16":  # ml_dtypes' type, which torch.from_numpy does not take
        return torch.from_numpy(array.view(np.uint16)).view(torch.bfloat16)
    return torch.from_numpy(array)


def _torch_has(array: np.ndarray) -> bool:
    return array.dtype != object and array.dtype.name in _NUMPY_DTYPES_TORCH_HAS


_NUMPY_DTYPES_TORCH_HAS = {"bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
                           "float16", "float32", "float64", "bfloat16", "complex64", "complex128"}


# Cases whose expected outputs follow a reading of the spec we refuse rather than guess at.
_BACKEND_SKIPS = {
    # Reads I as positions in the default output shape; onnxruntime reads them in output_shape.
    "test_maxunpool_export_with_output_shape",
}


def _run_backend_case(case) -> None:
    if case.name in _BACKEND_SKIPS:
        return
    model = case.model
    for inputs, expected in case.data_sets:
        if not all(_torch_has(np.asarray(a)) for a in [*inputs, *expected]):
            continue  # strings, or types like float4e2m1 torch has no tensors for
        names = [value.name for value in model.graph.input]
        real = ow.convert(model, with_weights=True, strict=True)
        tensors = [_tensor(a) for a in inputs]
        with torch.no_grad():
            got = real(*tensors)
        got = list(got) if isinstance(got, (tuple, list)) else [got]
        assert len(got) == len(expected), case.name
        for ours, theirs in zip(got, expected):
            theirs = np.asarray(theirs)
            assert tuple(ours.shape) == theirs.shape, (case.name, tuple(ours.shape), theirs.shape)
            rtol = max(case.rtol, 1e-5)
            atol = max(case.atol, 1e-6)
            np.testing.assert_allclose(ours.float().numpy() if ours.dtype == torch.bfloat16 else ours.numpy(),
                                       theirs.astype(np.float32) if theirs.dtype.name == "bfloat16" else theirs, rtol=rtol, atol=atol, err_msg=case.name)
        weightless = ow.convert(model, strict=True, size_threshold=0)
        # Inputs read as values stay real, as a caller of meta_forward passes them.
        values = {node.input[i] for node in model.graph.node
                  for i in value_positions(node.domain, node.op_type, model.opset_import[0].version) if i < len(node.input)}
        meta = ow.meta_forward(weightless, *[t if n in values else t.to("meta") for n, t in zip(names, tensors)])
        meta = list(meta) if isinstance(meta, (tuple, list)) else [meta]
        assert [tuple(t.shape) for t in meta] == [tuple(t.shape) for t in got], (case.name, names)


BACKEND_OPS = [
    "Trilu", "ScatterElements", "Scatter", "OneHot", "Compress", "ReverseSequence", "CumProd",
    "Size", "CastLike", "SpaceToDepth", "CenterCropPad", "Upsample", "Col2Im",
    "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot", "BitShift",
    "GlobalMaxPool", "LpPool", "MaxUnpool", "Det", "RNN", "GRU", "LSTM",
]


@pytest.mark.parametrize("op", BACKEND_OPS)
def test_backend_cases(op):
    cases = _backend_cases().get(op, [])
    assert cases, f"no backend test case for {op}"
    for case in cases:
        _run_backend_case(case)


# --- indexing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("upper", [0, 1])
@pytest.mark.parametrize("k", [None, -1, 0, 2])
def test_trilu(upper, k):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 5)).astype(np.float32)
    constants = {} if k is None else {"k": np.array(k, dtype=np.int64)}
    check_converter(_single("Trilu", {"x": x}, constants, ["y"], 14, upper=upper), {"x": x})


@pytest.mark.parametrize("opset, reduction", [(11, None), (13, None), (16, "add"), (16, "mul"), (18, "max"),
                                              (18, "min"), (18, "none")])
@pytest.mark.parametrize("axis", [0, -1])
def test_scatter_elements(opset, reduction, axis):
    rng = np.random.default_rng(2)
    data = rng.standard_normal((4, 5)).astype(np.float32)
    shape = (3, 5) if axis == 0 else (4, 3)
    size = data.shape[axis]
    # Distinct indices per slice (duplicates are only defined with a reduction), some negative.
    order = np.argsort(rng.random((size, *shape[1:]) if axis == 0 else (shape[0], size)), axis=axis)
    indices = np.take(order, np.arange(3), axis=axis).astype(np.int64)
    indices[0, 0] -= size
    updates = rng.standard_normal(shape).astype(np.float32)
    attrs = {"axis": axis} | ({"reduction": reduction} if reduction else {})
    model = _single("ScatterElements", {"data": data, "indices": indices, "updates": updates}, {}, ["y"], opset, **attrs)
    check_converter(model, {"data": data, "indices": indices, "updates": updates})


@pytest.mark.parametrize("reduction", ["add", "mul", "max", "min"])
def test_scatter_elements_duplicates(reduction):
    data = np.arange(6, dtype=np.float32).reshape(2, 3) + 1
    indices = np.array([[1, 1, 0, 1]], dtype=np.int64)
    updates = np.array([[2.0, 3.0, -1.0, 0.5]], dtype=np.float32)
    model = _single("ScatterElements", {"data": data}, {"indices": indices, "updates": updates}, ["y"], 18,
                    axis=1, reduction=reduction)
    check_converter(model, {"data": data})


def test_scatter_elements_reduction_not_in_version():
    data = np.zeros((2, 3), np.float32)
    indices = np.zeros((1, 3), np.int64)
    model = _single("ScatterElements", {"data": data, "indices": indices, "updates": data[:1]}, {}, ["y"], 16,
                    reduction="max")
    with conversion_refused("reduction='max'"):
        ow.convert(model, with_weights=True)


def test_scatter_deprecated():
    rng = np.random.default_rng(3)
    data = rng.standard_normal((3, 4)).astype(np.float32)
    indices = np.array([[2, 0, 1, 1]], dtype=np.int64)
    updates = rng.standard_normal((1, 4)).astype(np.float32)
    model = _single("Scatter", {"data": data, "indices": indices, "updates": updates}, {}, ["y"], 9)
    check_converter(model, {"data": data, "indices": indices, "updates": updates})


@pytest.mark.parametrize("opset", [11, 28])
@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("index_type", [np.int64, np.float32])
def test_one_hot(opset, axis, index_type):
    indices = np.array([[0, 3, -1], [5, 2, -4]], dtype=index_type)
    depth = np.array(4, dtype=index_type)  # a float depth: onnxruntime's float-index kernel wants one
    values = np.array([-2.0, 7.0], dtype=np.float32)
    model = _single("OneHot", {"indices": indices}, {"depth": depth, "values": values}, ["y"], opset, axis=axis)
    check_converter(model, {"indices": indices})


def test_one_hot_9_negative_indices_are_out_of_range():
    # As the version 9 spec says (onnxruntime and onnx's reference apply version 11's rule).
    indices = np.array([0, 3, -1, 5], dtype=np.int64)
    model = _single("OneHot", {"indices": indices}, {"depth": np.array(4, np.int64),
                                                      "values": np.array([0, 1], np.int64)}, ["y"], 9, TensorProto.INT64)
    got = ow.convert(model, with_weights=True)(torch.from_numpy(indices))
    np.testing.assert_array_equal(got.numpy(), [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("opset", [9, 11, 28])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_compress(opset, axis):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    condition = np.array([True, False, True], dtype=bool)  # shorter than axis 1 and than the flat input
    attrs = {} if axis is None else {"axis": axis}
    model = _single("Compress", {"x": x}, {"condition": condition}, ["y"], opset, **attrs)
    check_converter(model, {"x": x})


@pytest.mark.parametrize("opset", [10, 28])
@pytest.mark.parametrize("batch_axis, time_axis", [(1, 0), (0, 1)])
def test_reverse_sequence(opset, batch_axis, time_axis):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 4, 3)).astype(np.float32)
    lens = np.array([4, 1, 3, 2], dtype=np.int64)
    model = _single("ReverseSequence", {"x": x, "lens": lens}, {}, ["y"], opset, batch_axis=batch_axis,
                    time_axis=time_axis)
    check_converter(model, {"x": x, "lens": lens})


def test_reverse_sequence_bad_axes():
    x = np.zeros((2, 2, 2), np.float32)
    model = _single("ReverseSequence", {"x": x, "lens": np.ones(2, np.int64)}, {}, ["y"], 10, batch_axis=2)
    with conversion_refused("batch_axis=2"):
        ow.convert(model, with_weights=True)


@pytest.mark.parametrize("exclusive", [0, 1])
@pytest.mark.parametrize("reverse", [0, 1])
@pytest.mark.parametrize("axis", [0, -1])
def test_cumprod(exclusive, reverse, axis):
    rng = np.random.default_rng(6)
    x = rng.uniform(0.5, 1.5, (3, 4)).astype(np.float32)
    model = _single("CumProd", {"x": x}, {"axis": np.array(axis, np.int64)}, ["y"], 26, exclusive=exclusive,
                    reverse=reverse)
    check_converter(model, {"x": x}, use_onnxruntime=False)


# --- shape ops -----------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [1, 13, 19, 21, 23, 24, 25])
def test_size(opset):
    x = np.zeros((2, 3, 4), np.float32)
    check_converter(_single("Size", {"x": x}, {}, ["y"], opset, TensorProto.INT64), {"x": x},
                    use_onnxruntime=opset <= 21)


@pytest.mark.parametrize("opset", [15, 19, 21, 23, 24, 25])
@pytest.mark.parametrize("source, target", [(np.float32, np.int32), (np.int64, np.float32), (np.float32, np.float16),
                                            (np.float64, np.bool_), (np.int32, np.uint8)])
def test_cast_like(opset, source, target):
    x = (np.arange(-6, 6).reshape(3, 4) * 1.7).astype(source)
    model = _single("CastLike", {"x": x}, {"t": np.zeros((1,), target)}, ["y"], opset,
                    helper.np_dtype_to_tensor_dtype(np.dtype(target)))
    check_converter(model, {"x": x}, use_onnxruntime=opset <= 21)


@pytest.mark.parametrize("saturate", [0, 1])
@pytest.mark.parametrize("target", [TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2,
                                    TensorProto.FLOAT8E5M2FNUZ])
def test_cast_like_float8(saturate, target):
    # Around each type's largest value: 448 / 240 / 57344, and where rounding passes it.
    x = np.array([0.0, 1.3, -2.6, 240, 247, 248, 250, 448, 460, 464, 465, 1000.0, 57344, 61439, 61440, 70000,
                  -1e6, np.inf, -np.inf, np.nan], np.float32)
    t = helper.make_tensor("t", target, [1], [0.0])
    node = helper.make_node("CastLike", ["x", "t"], ["y"], saturate=saturate)
    cast_back = helper.make_node("Cast", ["y"], ["z"], to=TensorProto.FLOAT)
    model = make_model([node, cast_back], [_info("x", x)], [_out("z")], [t], opset=19)
    # onnxruntime turns float8e5m2 values that round up to infinity (61440) into NaN without saturation.
    check_converter(model, {"x": x}, use_onnxruntime=False)


@pytest.mark.parametrize("saturate", [0, 1])
@pytest.mark.parametrize("source", [TensorProto.INT32, TensorProto.FLOAT8E5M2])
def test_cast_like_float8_from_integer_or_float8(saturate, source):
    # Integers and float8 values go to float8e4m3fn by Cast's rules too: 1000 overflows (NaN without
    # saturation), and torch cannot clamp a float8 tensor.
    x = np.array([0, 3, -5, 448, 1000, -1000], np.float32)
    to_source = helper.make_node("Cast", ["x"], ["s"], to=source)
    t = helper.make_tensor("t", TensorProto.FLOAT8E4M3FN, [1], [0.0])
    node = helper.make_node("CastLike", ["s", "t"], ["y"], saturate=saturate)
    cast_back = helper.make_node("Cast", ["y"], ["z"], to=TensorProto.FLOAT)
    model = make_model([to_source, node, cast_back], [_info("x", x)], [_out("z")], [t], opset=19)
    check_converter(model, {"x": x}, use_onnxruntime=False)


@pytest.mark.parametrize("opset, mode", [(1, None), (13, None), (28, "DCR"), (28, "CRD")])
def test_space_to_depth(opset, mode):
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 6)).astype(np.float32)
    attrs = {"blocksize": 2} | ({"mode": mode} if mode else {})
    check_converter(_single("SpaceToDepth", {"x": x}, {}, ["y"], opset, **attrs), {"x": x},
                    use_onnxruntime=opset < 28)


@pytest.mark.parametrize("shape, axes", [([3, 7, 2], None), ([6, 2], [1, 2]), ([9], [-1]), ([5, 5, 5], None)])
def test_center_crop_pad(shape, axes):
    x = np.random.default_rng(8).standard_normal((5, 4, 6)).astype(np.float32)
    attrs = {} if axes is None else {"axes": axes}
    model = _single("CenterCropPad", {"x": x}, {"shape": np.array(shape, np.int64)}, ["y"], 18, **attrs)
    check_converter(model, {"x": x})


# onnxruntime's Upsample interpolates linearly over the last two axes only: no linear case scales others.
UPSAMPLE_CASES = [
    (mode, scales)
    for mode in ("nearest", "linear")
    for scales in ([1, 1, 2, 3], [1, 1, 1.5, 2.5], [1, 2, 1, 1.7])
    if mode == "nearest" or scales[:2] == [1, 1]
]


@pytest.mark.parametrize("opset", [7, 9, 10])
@pytest.mark.parametrize("mode, scales", UPSAMPLE_CASES)
def test_upsample(opset, mode, scales):
    x = np.random.default_rng(9).standard_normal((1, 2, 3, 4)).astype(np.float32)
    scales = np.array(scales, np.float32)
    if opset == 7:
        model = _single("Upsample", {"x": x}, {}, ["y"], opset, mode=mode, scales=scales.tolist())
    else:
        model = _single("Upsample", {"x": x}, {"scales": scales}, ["y"], 9, mode=mode)
    got = check_converter(model, {"x": x})(torch.from_numpy(x))
    if opset == 10:  # the same op, deprecated: onnxruntime refuses it, so compare with version 9
        model.opset_import[0].version = 10
        torch.testing.assert_close(ow.convert(model, with_weights=True)(torch.from_numpy(x)), got)


def test_upsample_bad_mode():
    x = np.zeros((1, 1, 2, 2), np.float32)
    model = _single("Upsample", {"x": x}, {}, ["y"], 7, mode="cubic", scales=[1.0, 1.0, 2.0, 2.0])
    with conversion_refused("mode='cubic'"):
        ow.convert(model, with_weights=True)


@pytest.mark.parametrize("image, block, attrs", [
    ([6, 5], [2, 3], {}),
    ([6, 5], [2, 3], {"strides": [2, 1]}),
    ([6, 5], [2, 3], {"dilations": [2, 1], "pads": [1, 0, 2, 1]}),
    ([6, 5], [2, 3], {"pads": [0, 1, 1, 0], "strides": [1, 2]}),
    ([4, 3, 5], [2, 1, 2], {"strides": [1, 2, 2], "pads": [1, 0, 0, 0, 1, 1]}),
])
def test_col2im(image, block, attrs):
    rank = len(image)
    strides, dilations = attrs.get("strides", [1] * rank), attrs.get("dilations", [1] * rank)
    pads = attrs.get("pads", [0] * 2 * rank)
    blocks = [(image[i] + pads[i] + pads[i + rank] - dilations[i] * (block[i] - 1) - 1) // strides[i] + 1
              for i in range(rank)]
    x = np.random.default_rng(10).standard_normal((2, 3 * int(np.prod(block)), int(np.prod(blocks)))).astype(np.float32)
    model = _single("Col2Im", {"x": x}, {"image": np.array(image, np.int64), "block": np.array(block, np.int64)}, ["y"],
                    18, **attrs)
    check_converter(model, {"x": x})


# --- bitwise -------------------------------------------------------------------------------------

_INT_TYPES = [np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16, np.int32, np.int64]


def _int_values(dtype, shape, seed):
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("op", ["BitwiseAnd", "BitwiseOr", "BitwiseXor"])
@pytest.mark.parametrize("dtype", _INT_TYPES)
def test_bitwise_binary(op, dtype):
    a, b = _int_values(dtype, (3, 4), 1), _int_values(dtype, (4,), 2)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    check_converter(_single(op, {"a": a, "b": b}, {}, ["y"], 18, elem), {"a": a, "b": b},
                    use_onnxruntime=dtype != np.uint64)  # onnxruntime's uint64 arrays: numpy.ulonglong


@pytest.mark.parametrize("dtype", _INT_TYPES)
def test_bitwise_not(dtype):
    x = _int_values(dtype, (3, 4), 3)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    check_converter(_single("BitwiseNot", {"x": x}, {}, ["y"], 18, elem), {"x": x}, use_onnxruntime=dtype != np.uint64)


@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("dtype", _INT_TYPES)
def test_bit_shift(direction, dtype):
    bits = np.iinfo(dtype).bits
    x = _int_values(dtype, (3, bits + 3), 4)
    y = np.arange(bits + 3, dtype=np.int64)
    if np.iinfo(dtype).min < 0:
        y[-1] = -1  # out of range: only the sign fill is left
    y = y.astype(dtype)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    opset = 28 if np.iinfo(dtype).min < 0 else 11
    check_converter(_single("BitShift", {"x": x, "y": y}, {}, ["z"], opset, elem, direction=direction),
                    {"x": x, "y": y}, use_onnxruntime=False)


# --- pooling -------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [1, 22])
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 5), (1, 2, 3, 4, 2)])
def test_global_max_pool(opset, shape):
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    check_converter(_single("GlobalMaxPool", {"x": x}, {}, ["y"], opset), {"x": x})


@pytest.mark.parametrize("p", [1, 2, 3])
def test_global_lp_pool(p):
    x = np.random.default_rng(12).standard_normal((2, 3, 4, 5)).astype(np.float32)
    check_converter(_single("GlobalLpPool", {"x": x}, {}, ["y"], 2, p=p), {"x": x}, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("opset, p", [(1, 3.0), (22, 3)])
def test_global_lp_pool_without_runtime(opset, p):
    # onnxruntime has no kernel for these versions (1 takes a float p), onnx's reference none at all.
    x = np.random.default_rng(12).standard_normal((2, 3, 4, 5)).astype(np.float32)
    got = ow.convert(_single("GlobalLpPool", {"x": x}, {}, ["y"], opset, p=p), with_weights=True)(torch.from_numpy(x))
    np.testing.assert_allclose(got.numpy(), (np.abs(x) ** 3).sum(axis=(2, 3), keepdims=True) ** (1 / 3), rtol=1e-5)


@pytest.mark.parametrize("opset, attrs, shape", [
    (11, {"kernel_shape": [2, 2]}, (1, 2, 5, 6)),
    (2, {"kernel_shape": [3], "p": 3, "strides": [2], "pads": [1, 2]}, (2, 2, 7)),
    (11, {"kernel_shape": [3, 2], "auto_pad": "SAME_UPPER", "strides": [2, 2]}, (1, 2, 5, 6)),
    (11, {"kernel_shape": [3, 2], "auto_pad": "SAME_LOWER", "strides": [2, 1]}, (1, 2, 5, 6)),
    (11, {"kernel_shape": [2, 3], "auto_pad": "VALID", "strides": [2, 2]}, (1, 2, 5, 6)),
    (18, {"kernel_shape": [2, 2], "dilations": [2, 1], "p": 1}, (1, 2, 6, 5)),
    (18, {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}, (1, 2, 5, 5)),
    (18, {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1, "pads": [1, 1, 1, 1]}, (1, 2, 6, 6)),
    (22, {"kernel_shape": [2, 2, 2], "strides": [1, 2, 2]}, (1, 2, 3, 4, 5)),
])
def test_lp_pool(opset, attrs, shape):
    x = np.random.default_rng(13).standard_normal(shape).astype(np.float32)
    check_converter(_single("LpPool", {"x": x}, {}, ["y"], opset, **attrs), {"x": x}, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("opset", [9, 11, 22])
@pytest.mark.parametrize("shape, kernel, strides, pads", [
    ((1, 1, 2, 3), [2, 2], [2, 2], [0, 0, 0, 0]),
    ((2, 3, 2, 3), [2, 2], [2, 2], [0, 0, 0, 0]),
    ((1, 2, 3, 3), [3, 3], [2, 2], [1, 1, 1, 1]),
    ((2, 2, 3), [2], [2], [0, 1]),
])
def test_max_unpool(opset, shape, kernel, strides, pads):
    rng = np.random.default_rng(14)
    x = rng.standard_normal(shape).astype(np.float32)
    rank = len(kernel)
    out = [*shape[:2], *((shape[2 + i] - 1) * strides[i] - pads[i] - pads[i + rank] + kernel[i] for i in range(rank))]
    # Positions over the whole output, batch and channels included, as MaxPool's indices are.
    indices = rng.permutation(int(np.prod(out)))[: x.size].reshape(shape).astype(np.int64)
    model = _single("MaxUnpool", {"x": x, "i": indices}, {}, ["y"], opset, kernel_shape=kernel, strides=strides,
                    pads=pads)
    # onnxruntime only accepts positions within one (batch, channel) plane.
    check_converter(model, {"x": x, "i": indices}, use_onnxruntime=shape[0] * shape[1] == 1)


def test_max_unpool_output_shape():
    x = np.random.default_rng(15).standard_normal((1, 1, 2, 2)).astype(np.float32)
    indices = np.array([[[[0, 3], [9, 14]]]], np.int64)
    same = _single("MaxUnpool", {"x": x, "i": indices}, {"shape": np.array([1, 1, 4, 4], np.int64)}, ["y"], 11,
                   kernel_shape=[2, 2], strides=[2, 2])
    check_converter(same, {"x": x, "i": indices})
    other = _single("MaxUnpool", {"x": x, "i": indices}, {"shape": np.array([1, 1, 5, 5], np.int64)}, ["y"], 11,
                    kernel_shape=[2, 2], strides=[2, 2])
    with pytest.raises(NotImplementedError, match="output_shape"):
        ow.convert(other, with_weights=True)(torch.from_numpy(x), torch.from_numpy(indices))


@pytest.mark.parametrize("opset", [11, 22])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_det(opset, shape):
    x = np.random.default_rng(16).standard_normal(shape).astype(np.float32)
    check_converter(_single("Det", {"x": x}, {}, ["y"], opset), {"x": x}, atol=1e-4, rtol=1e-4)


# --- recurrent -----------------------------------------------------------------------------------

_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def _recurrent_model(op, opset, direction="forward", layout=0, bias=True, lens=False, initial=False,
                     peepholes=False, outputs=None, **attrs):
    """An op node with X as graph input and the rest as initializers; returns (model, feeds)."""
    rng = np.random.default_rng(20)
    steps, batch, size, hidden = 5, 3, 4, 6
    d = 2 if direction == "bidirectional" else 1
    g = _GATES[op]
    x = rng.standard_normal((steps, batch, size)).astype(np.float32)
    constants = {
        "W": rng.standard_normal((d, g * hidden, size)).astype(np.float32) * 0.5,
        "R": rng.standard_normal((d, g * hidden, hidden)).astype(np.float32) * 0.5,
        "B": rng.standard_normal((d, 2 * g * hidden)).astype(np.float32) * 0.5 if bias else None,
        "lens": np.array([5, 2, 4], np.int32) if lens else None,
        "h0": rng.standard_normal((d, batch, hidden)).astype(np.float32) if initial else None,
    }
    if op == "LSTM":
        constants["c0"] = constants["h0"] * 0.5 if initial else None
        constants["P"] = rng.standard_normal((d, 3 * hidden)).astype(np.float32) if peepholes else None
    if layout:  # the same values, batch first
        x = x.transpose(1, 0, 2).copy()
        constants = {k: v.transpose(1, 0, 2).copy() if k in ("h0", "c0") and v is not None else v
                     for k, v in constants.items()}
    order = ["x", *constants]
    while order[-1] is None or constants.get(order[-1], 0) is None:
        order.pop()
    order = [name if name == "x" or constants[name] is not None else "" for name in order]
    outputs = outputs or (["y", "y_h", "y_c"] if op == "LSTM" else ["y", "y_h"])
    if opset >= 14:
        attrs["layout"] = layout
    node = helper.make_node(op, order, outputs, hidden_size=hidden, direction=direction, **attrs)
    initializers = [numpy_helper.from_array(v, k) for k, v in constants.items() if v is not None]
    model = make_model([node], [_info("x", x)], [_out(o) for o in outputs if o], initializers, opset=opset)
    return model, {"x": x}


@pytest.mark.parametrize("op, opset", [("RNN", 7), ("RNN", 14), ("RNN", 22), ("GRU", 7), ("GRU", 14), ("GRU", 22),
                                       ("LSTM", 7), ("LSTM", 14), ("LSTM", 22)])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_recurrent_directions(op, opset, direction):
    model, feeds = _recurrent_model(op, opset, direction)
    check_converter(model, feeds, atol=1e-5, rtol=1e-4, use_onnxruntime=opset < 22)


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("lens, initial, bias", [(True, False, True), (False, True, False), (True, True, True)])
def test_recurrent_options(op, lens, initial, bias):
    model, feeds = _recurrent_model(op, 14, "bidirectional", bias=bias, lens=lens, initial=initial)
    expected = check_converter(model, feeds, atol=1e-5, rtol=1e-4)(torch.from_numpy(feeds["x"]))
    # onnxruntime refuses layout 1: compare with layout 0 on the same values.
    model, feeds = _recurrent_model(op, 14, "bidirectional", 1, bias=bias, lens=lens, initial=initial)
    got = ow.convert(model, with_weights=True)(torch.from_numpy(feeds["x"]))
    torch.testing.assert_close(got[0], expected[0].permute(2, 0, 1, 3))
    for ours, theirs in zip(got[1:], expected[1:]):
        torch.testing.assert_close(ours, theirs.transpose(0, 1))
    weightless = ow.convert(model, size_threshold=0)
    meta = ow.meta_forward(weightless, torch.empty(feeds["x"].shape, device="meta"))
    assert [t.shape for t in meta] == [t.shape for t in got]


@pytest.mark.parametrize("op, attrs", [
    ("GRU", {"linear_before_reset": 1}),
    ("GRU", {"clip": 0.7}),
    ("RNN", {"clip": 0.5}),
    ("LSTM", {"clip": 0.6}),
    ("LSTM", {"input_forget": 1}),
    ("RNN", {"activations": ["Relu", "Sigmoid"]}),
    ("GRU", {"activations": ["Tanh", "Softsign", "Sigmoid", "Relu"]}),
    ("LSTM", {"activations": ["Sigmoid", "Softsign", "Relu", "Tanh", "Tanh", "Softplus"]}),
])
def test_recurrent_attributes(op, attrs):
    model, feeds = _recurrent_model(op, 14, "bidirectional", lens=True, initial=True, **attrs)
    check_converter(model, feeds, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("op", ["GRU", "RNN", "LSTM"])
def test_recurrent_version_1(op):
    # onnxruntime starts at version 7; version 1 only differs by output_sequence, which changes no value.
    model, feeds = _recurrent_model(op, 7, "bidirectional", lens=True, initial=True)
    expected = check_converter(model, feeds, atol=1e-5, rtol=1e-4)(torch.from_numpy(feeds["x"]))
    model.opset_import[0].version = 1
    got = ow.convert(model, with_weights=True)(torch.from_numpy(feeds["x"]))
    for ours, theirs in zip(got, expected):
        torch.testing.assert_close(ours, theirs)


def test_lstm_peepholes_and_partial_outputs():
    model, feeds = _recurrent_model("LSTM", 14, "bidirectional", lens=True, initial=True, peepholes=True,
                                    outputs=["", "y_h"])
    check_converter(model, feeds, atol=1e-5, rtol=1e-4)
    model, feeds = _recurrent_model("LSTM", 14, "reverse", peepholes=True, outputs=["y"])
    check_converter(model, feeds, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("attrs, message", [
    ({"activations": ["LeakyRelu"], "activation_alpha": [0.1]}, "activation_alpha"),
    ({"activations": ["Tanh", "Tanh"]}, "per direction"),
])
def test_recurrent_refused(attrs, message):
    model, _ = _recurrent_model("RNN", 14, **attrs)
    with conversion_refused(message):
        ow.convert(model, with_weights=True)
