"""Overrides of onnx2torch converters that convert wrongly, against onnxruntime."""

from __future__ import annotations

import warnings

import numpy as np
import onnx2torch
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx2torch.node_converters.binary_math_operations import OnnxBinaryMathOperation
from onnx2torch.node_converters.isinf import OnnxIsInf
from onnx2torch.node_converters.shape import OnnxShape

import onnx_weightless as ow

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


def _model(op_type: str, inputs, outputs, initializers=(), opset: int = 17, **attributes):
    """One ``op_type`` node; ``inputs``/``outputs`` are (name, onnx type, shape) triples."""
    return make_model(
        [helper.make_node(op_type, [name for name, _, _ in inputs] + [i.name for i in initializers],
                          [name for name, _, _ in outputs], **attributes)],
        [helper.make_tensor_value_info(*value) for value in inputs],
        [helper.make_tensor_value_info(*value) for value in outputs],
        initializers,
        opset=opset,
    )


def _cumulative_model(op_type: str, opset: int, **attributes):
    return _model(op_type, [("x", TensorProto.INT32, [2, 5])], [("y", TensorProto.INT32, None)],
                  [numpy_helper.from_array(np.array(1, dtype=np.int64), "axis")], opset=opset, **attributes)


@pytest.mark.parametrize("op_type, opset", [("CumSum", 11), ("CumSum", 14), ("CumProd", 26)])
@pytest.mark.parametrize("attributes", [{}, {"reverse": 1, "exclusive": 1}])
def test_cumulative_ops_keep_an_int32_type(op_type, opset, attributes):
    x = np.array([[1, 2, 3, 4, 5], [-2, 70000, 70000, 3, 1]], dtype=np.int32)  # the product wraps around
    check_converter(_cumulative_model(op_type, opset, **attributes), {"x": x}, use_onnxruntime=op_type == "CumSum")


def test_onnx2torch_cumsum_promotes_int32_to_int64():
    x = torch.arange(10, dtype=torch.int32).reshape(2, 5)
    assert onnx2torch.convert(_cumulative_model("CumSum", 14, reverse=0))(x).dtype == torch.int64


def test_nonzero_is_rank_by_count():
    # A constant condition: NonZero reads its input as values, so it stays real in the meta forward.
    condition = numpy_helper.from_array(np.array([[1, 0, 3], [0, 5, 0]], dtype=np.float32), "c")
    model = make_model([helper.make_node("NonZero", ["c"], ["y"])], [],
                       [helper.make_tensor_value_info("y", TensorProto.INT64, None)], [condition], opset=13)
    check_converter(model, {})


def test_nonzero_of_a_graph_input():
    model = _model("NonZero", [("x", TensorProto.BOOL, [2, 3])], [("y", TensorProto.INT64, None)], opset=13)
    x = np.array([[True, False, True], [False, True, True]])
    got = ow.convert(model, with_weights=True, strict=True)(torch.from_numpy(x))
    assert got.tolist() == np.array(np.nonzero(x)).tolist()
    # Given real, the input NonZero reads gives the true shape in a meta forward.
    meta = ow.meta_forward(ow.convert(model, strict=True), torch.from_numpy(x))
    assert meta.shape == (2, 4) and meta.dtype == torch.int64
    with pytest.raises(ow.ValueNeededError, match="NonZero's output size depends on its input's values"):
        ow.meta_forward(ow.convert(model, strict=True), torch.empty(2, 3, dtype=torch.bool, device="meta"))


def test_onnx2torch_nonzero_is_count_by_rank():
    model = _model("NonZero", [("x", TensorProto.FLOAT, [2, 3])], [("y", TensorProto.INT64, None)], opset=13)
    assert onnx2torch.convert(model)(torch.ones(2, 3)).shape == (6, 2)


_ONNX_TYPES = {np.float32: TensorProto.FLOAT, np.int32: TensorProto.INT32, np.int64: TensorProto.INT64}


def _pow_model(base, exponent, opset: int = 15):
    return _model("Pow", [("x", _ONNX_TYPES[base], [3]), ("e", _ONNX_TYPES[exponent], [3])],
                  [("y", _ONNX_TYPES[base], None)], opset=opset)


@pytest.mark.parametrize("opset", [12, 13, 15])
@pytest.mark.parametrize("base, exponent", [(np.int32, np.float32), (np.int64, np.float32), (np.float32, np.int64),
                                            (np.int32, np.int64), (np.float32, np.float32)])
def test_pow_has_the_base_type(base, exponent, opset):
    x = np.array([1, 2, 3], dtype=base)
    e = np.array([3, 2.5, 0.5], dtype=exponent) if exponent == np.float32 else np.array([3, 2, 1], dtype=exponent)
    check_converter(_pow_model(base, exponent, opset), {"x": x, "e": e})


def test_onnx2torch_pow_promotes_an_int_base():
    y = onnx2torch.convert(_pow_model(np.int32, np.float32))(torch.tensor([1, 2, 3], dtype=torch.int32),
                                                            torch.tensor([3.0, 2.0, 1.0]))
    assert y.dtype == torch.float32


def _isinf_model(opset: int = 20, **attributes):
    return _model("IsInf", [("x", TensorProto.FLOAT, [5])], [("y", TensorProto.BOOL, None)], opset=opset, **attributes)


@pytest.mark.parametrize("opset", [10, 20])
@pytest.mark.parametrize("positive, negative", [(1, 1), (1, 0), (0, 1), (0, 0)])
def test_isinf(positive, negative, opset):
    x = np.array([-np.inf, -1.0, 0.0, np.nan, np.inf], dtype=np.float32)
    model = _isinf_model(opset, detect_positive=positive, detect_negative=negative)
    real = check_converter(model, {"x": x}, use_onnxruntime=False)
    modules = [m for m in real.modules() if m is not real]
    assert (type(modules[0]) is OnnxIsInf) == bool(positive and negative)  # onnx2torch's module where it is right


def test_onnx2torch_isinf_ignores_detect_negative():
    y = onnx2torch.convert(_isinf_model(10, detect_negative=0))(torch.tensor([-np.inf, np.inf]))
    assert y.tolist() == [True, True]


def _topk_model(shape, opset: int = 11, **attributes):
    return _model("TopK", [("x", TensorProto.FLOAT, shape)],
                  [("values", TensorProto.FLOAT, None), ("indices", TensorProto.INT64, None)],
                  [numpy_helper.from_array(np.array([3], dtype=np.int64), "k")], opset=opset, **attributes)


# TopK-10 has no largest attribute: it always takes the largest.
@pytest.mark.parametrize("opset, largest", [(10, 1), (11, 0), (11, 1), (24, 0), (24, 1)])
@pytest.mark.parametrize("x, axis", [([0, 0, 0, 0], 0), ([[0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 1, 1]], 1),
                                     ([[3, 1, 3, 1], [1, 3, 1, 3], [2, 2, 2, 2]], 0), ([5, 1, 5, 2, 1, 5], -1)])
def test_topk_puts_the_lower_index_of_equal_values_first(x, axis, largest, opset):
    x = np.array(x, dtype=np.float32)
    attributes = {"largest": largest} if opset > 10 else {}
    check_converter(_topk_model(list(x.shape), opset, axis=axis, **attributes), {"x": x},
                    use_onnxruntime=opset < 24)


def test_onnx2torch_topk_orders_equal_values_otherwise():
    _, indices = onnx2torch.convert(_topk_model([4]))(torch.zeros(4))
    assert indices.tolist() != [0, 1, 2]


def _gather_elements_model(opset: int, axis: int):
    return _model("GatherElements", [("x", TensorProto.FLOAT, [3, 3]), ("i", TensorProto.INT64, [2, 3])],
                  [("y", TensorProto.FLOAT, None)], opset=opset, axis=axis)


@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_elements_wraps_negative_indices(opset, axis):
    x = np.arange(9, dtype=np.float32).reshape(3, 3)
    indices = np.array([[-1, -2, 0], [2, -3, 1]], dtype=np.int64)
    check_converter(_gather_elements_model(opset, axis), {"x": x, "i": indices})


def test_onnx2torch_gather_elements_refuses_negative_indices():
    with pytest.raises(RuntimeError, match="out of bounds"):
        onnx2torch.convert(_gather_elements_model(13, 0))(torch.zeros(3, 3), torch.tensor([[-1, 0, 0]]))


def _shape_model(shape, opset: int = 21, **attributes):
    return _model("Shape", [("x", TensorProto.FLOAT, shape)], [("y", TensorProto.INT64, None)], opset=opset,
                  **attributes)


@pytest.mark.parametrize("opset", [15, 19, 21, 25])
@pytest.mark.parametrize("start, end", [(None, None), (1, None), (-1, None), (None, -1), (2, 1), (-10, 10),
                                        (10, None), (1, -10), (3, 3), (0, 2), (-2, -1)])
def test_shape_start_and_end(start, end, opset):
    attributes = {name: value for name, value in (("start", start), ("end", end)) if value is not None}
    real = check_converter(_shape_model([2, 3, 4], opset, **attributes), {"x": np.zeros((2, 3, 4), np.float32)})
    assert any(isinstance(m, OnnxShape) for m in real.modules())  # the class meta_forward computes on sizes


@pytest.mark.parametrize("opset", [13, 15])
def test_shape_of_a_scalar_is_an_empty_int64(opset):
    # check_converter feeds 0-d inputs as 1-d: the scalar is computed.
    model = make_model(
        [helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0), helper.make_node("Shape", ["s"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
        opset=opset,
    )
    check_converter(model, {"x": np.ones(3, np.float32)})


def test_meta_forward_keeps_an_overridden_shape_real():
    # Reshape reads the Shape's values: they must be real, computed from the meta input's size.
    model = make_model(
        [helper.make_node("Shape", ["x"], ["s"], start=1), helper.make_node("Reshape", ["y", "s"], ["z"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, [12])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        opset=21,
    )
    check_converter(model, {"x": np.zeros((2, 3, 4), np.float32), "y": np.arange(12, dtype=np.float32)})


def test_onnx2torch_shape_start_past_end_is_float():
    assert onnx2torch.convert(_shape_model([2, 3, 4], 15, start=2, end=1))(torch.zeros(2, 3, 4)).dtype == torch.float32


def _maxpool_model(shape, opset: int = 12, indices: bool = False, **attributes):
    outputs = [("y", TensorProto.FLOAT, None)] + ([("i", TensorProto.INT64, None)] if indices else [])
    return _model("MaxPool", [("x", TensorProto.FLOAT, shape)], outputs, opset=opset, **attributes)


# ONNX needs pads below the kernel size; torch, at most half the dilated kernel.
_MAXPOOL_CASES = [
    ([1, 1, 5, 5], {"kernel_shape": [3, 3], "pads": [2, 2, 2, 2]}),
    ([1, 1, 5, 5], {"kernel_shape": [5, 5], "pads": [2, 2, 2, 2]}),
    ([2, 3, 6, 7], {"kernel_shape": [3, 2], "pads": [2, 0, 1, 1], "strides": [2, 3], "ceil_mode": 1}),
    ([1, 2, 7, 6], {"kernel_shape": [3, 3], "pads": [2, 2, 2, 2], "strides": [2, 2], "ceil_mode": 1}),
    ([1, 2, 9, 8], {"kernel_shape": [2, 3], "pads": [1, 2, 1, 2], "dilations": [3, 1], "ceil_mode": 1}),
    ([2, 2, 9], {"kernel_shape": [3], "pads": [1, 2], "strides": [2]}),
    ([1, 1, 4], {"kernel_shape": [3], "pads": [0, 2], "strides": [2], "ceil_mode": 1}),
    ([1, 2, 5, 4, 6], {"kernel_shape": [2, 3, 2], "pads": [1, 2, 0, 1, 1, 1], "strides": [1, 2, 2], "ceil_mode": 1}),
    ([1, 1, 4, 4], {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ([1, 1, 5, 5], {"kernel_shape": [2, 2], "auto_pad": "VALID", "strides": [2, 2], "ceil_mode": 1}),
]


@pytest.mark.parametrize("opset", [12, 22])
@pytest.mark.parametrize("indices", [False, True])
@pytest.mark.parametrize("shape, attributes", _MAXPOOL_CASES)
def test_maxpool_padding_and_indices(shape, attributes, indices, opset):
    x = np.random.default_rng(0).permutation(np.prod(shape)).astype(np.float32).reshape(shape)  # no ties
    check_converter(_maxpool_model(shape, opset, indices, **attributes), {"x": x})


@pytest.mark.parametrize("shape, attributes", _MAXPOOL_CASES[:3])
def test_maxpool_column_major_indices(shape, attributes):
    x = np.random.default_rng(1).permutation(np.prod(shape)).astype(np.float32).reshape(shape)
    check_converter(_maxpool_model(shape, 12, True, storage_order=1, **attributes), {"x": x})


def test_maxpool_onnx2torch_handles_keep_its_modules():
    real = ow.convert(_maxpool_model([1, 1, 4, 4], kernel_shape=[2, 2], pads=[1, 1, 1, 1]), with_weights=True)
    assert any(isinstance(m, torch.nn.MaxPool2d) for m in real.modules())


def test_onnx2torch_maxpool_refuses_pads_above_half_the_kernel():
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        onnx2torch.convert(_maxpool_model([1, 1, 5, 5], kernel_shape=[3, 3], pads=[2, 2, 2, 2]))(torch.zeros(1, 1, 5, 5))


def test_onnx2torch_maxpool_has_no_indices_output():
    model = _maxpool_model([2, 1, 4, 4], indices=True, kernel_shape=[2, 2])
    y, indices = onnx2torch.convert(model)(torch.rand(2, 1, 4, 4))
    assert indices.dtype != torch.int64  # the second row of Y


def test_onnx2torch_maxpool_keeps_windows_starting_in_end_padding():
    # ONNX has 2 windows, the second starting at the input's last element; a third would start in the padding.
    model = _maxpool_model([1, 1, 4], kernel_shape=[3], pads=[0, 2], strides=[2], ceil_mode=1)
    assert onnx2torch.convert(model)(torch.rand(1, 1, 4)).shape == (1, 1, 3)


def _slice_model(opset: int):
    inputs = [("x", TensorProto.FLOAT, [4, 5, 6])]
    constants = [numpy_helper.from_array(np.array(values, dtype=np.int64), name) for name, values in
                 (("starts", [1, -1, 0]), ("ends", [3, -5, 10]), ("axes", [0, -2, 2]), ("steps", [1, -2, 2]))]
    return _model("Slice", inputs, [("y", TensorProto.FLOAT, None)], constants, opset=opset)


@pytest.mark.parametrize("opset", [10, 11, 13])
def test_slice_indexes_with_tuples(opset):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_converter(_slice_model(opset), {"x": np.arange(120, dtype=np.float32).reshape(4, 5, 6)})


def test_onnx2torch_slice_indexes_with_a_list():
    with pytest.warns(UserWarning, match="non-tuple sequence for multidimensional indexing"):
        onnx2torch.convert(_slice_model(13))(torch.zeros(4, 5, 6))


_UNSIGNED = {np.uint16: TensorProto.UINT16, np.uint32: TensorProto.UINT32, np.uint64: TensorProto.UINT64}
_ELEMENTWISE = [("Add", 14), ("Sub", 14), ("Mul", 14), ("Div", 14), ("Mod", 13), ("Max", 13), ("Min", 13),
                ("Greater", 13), ("Less", 13), ("GreaterOrEqual", 16), ("LessOrEqual", 16), ("Equal", 19)]


def _elementwise_model(op_type: str, opset: int, onnx_type: int):
    comparison = op_type in ("Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Equal")
    return _model(op_type, [("a", onnx_type, [6]), ("b", onnx_type, [6])],
                  [("y", TensorProto.BOOL if comparison else onnx_type, None)], opset=opset)


@pytest.mark.parametrize("dtype", list(_UNSIGNED))
@pytest.mark.parametrize("op_type, opset", _ELEMENTWISE)
def test_wide_unsigned_elementwise(op_type, opset, dtype):
    top = np.iinfo(dtype).max if dtype != np.uint64 else 2**63 - 1
    a = np.array([0, 7, 3, top, top - 5, 9], dtype=dtype)
    b = np.array([1, 2, 3, 2, top, 4], dtype=dtype)  # wrapping sums, products and differences
    check_converter(_elementwise_model(op_type, opset, _UNSIGNED[dtype]), {"a": a, "b": b}, use_onnxruntime=False)


@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul"])
def test_uint64_add_sub_mul_are_exact_for_any_value(op_type):
    a = np.array([2**64 - 1, 2**63, 5, 2**63 + 7, 3, 0], dtype=np.uint64)
    b = np.array([2, 2**63, 2**64 - 3, 3, 2**62, 1], dtype=np.uint64)
    check_converter(_elementwise_model(op_type, 14, TensorProto.UINT64), {"a": a, "b": b}, use_onnxruntime=False)


@pytest.mark.parametrize("op_type, opset", [("Div", 14), ("Less", 13), ("Max", 13)])
def test_uint64_values_above_int64_raise(op_type, opset):
    real = ow.convert(_elementwise_model(op_type, opset, TensorProto.UINT64), with_weights=True)
    a = torch.tensor([2**63 + 1, 1, 1, 1, 1, 1], dtype=torch.uint64)
    with pytest.raises(NotImplementedError, match="2\\*\\*63"):
        real(a, torch.ones(6, dtype=torch.uint64))


def test_elementwise_on_other_types_keeps_onnx2torch_modules():
    real = ow.convert(_elementwise_model("Add", 14, TensorProto.FLOAT), with_weights=True)
    assert [type(m) for m in real.modules() if m is not real] == [OnnxBinaryMathOperation]


def test_onnx2torch_fails_on_wide_unsigned_add():
    a = torch.arange(6, dtype=torch.int32).to(torch.uint32)
    with pytest.raises(NotImplementedError, match="UInt32"):
        onnx2torch.convert(_elementwise_model("Add", 14, TensorProto.UINT32))(a, a)
