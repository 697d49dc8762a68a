"""Every ONNX element type torch can hold maps to the right torch dtype, on meta."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper

import onnx_weightless as ow
from conftest import make_model, save

EXPECTED = {
    "FLOAT": torch.float32, "UINT8": torch.uint8, "INT8": torch.int8, "UINT16": torch.uint16,
    "INT16": torch.int16, "INT32": torch.int32, "INT64": torch.int64, "BOOL": torch.bool,
    "FLOAT16": torch.float16, "DOUBLE": torch.float64, "UINT32": torch.uint32, "UINT64": torch.uint64,
    "COMPLEX64": torch.complex64, "COMPLEX128": torch.complex128, "BFLOAT16": torch.bfloat16,
    "FLOAT8E4M3FN": torch.float8_e4m3fn, "FLOAT8E4M3FNUZ": torch.float8_e4m3fnuz,
    "FLOAT8E5M2": torch.float8_e5m2, "FLOAT8E5M2FNUZ": torch.float8_e5m2fnuz,
    "UINT4": torch.uint4, "INT4": torch.int4, "FLOAT8E8M0": torch.float8_e8m0fnu,
    "UINT2": torch.uint2, "INT2": torch.int2,
}


# The spec's numbers, so types newer than the installed onnx are checked too.
NUMBERS = {"FLOAT4E2M1": 23, "FLOAT8E8M0": 24, "UINT2": 25, "INT2": 26, "FLOAT6E2M3": 27, "FLOAT6E3M2": 28}
DEFINED = set(TensorProto.DataType.keys())


def _number(name: str) -> int:
    return NUMBERS.get(name) or TensorProto.DataType.Value(name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mapping(name):
    assert ow.torch_dtype(_number(name)) == EXPECTED[name]


@pytest.mark.parametrize("name", ["STRING", "FLOAT4E2M1", "FLOAT6E2M3", "FLOAT6E3M2", "UNDEFINED"])
def test_unrepresentable_types_raise_a_clear_error(name):
    with pytest.raises(ow.UnsupportedDtypeError, match=name):
        ow.torch_dtype(_number(name), tensor_name="t")


def _identity_model(data_type: int, dims: list[int]) -> object:
    count = int(np.prod(dims))
    # Raw bytes of the right size: the values do not matter, only that the payload is well formed.
    bits = {TensorProto.UINT4: 4, TensorProto.INT4: 4, NUMBERS["UINT2"]: 2, NUMBERS["INT2"]: 2}.get(data_type)
    size = (count * bits + 7) // 8 if bits else count * ow.torch_dtype(data_type).itemsize
    weight = helper.make_tensor("w", data_type, dims, vals=bytes(size), raw=True)
    node = helper.make_node("Identity", ["w"], ["y"], name="identity")
    return make_model([node], [], [helper.make_tensor_value_info("y", data_type, dims)], [weight], opset=17)


@pytest.mark.parametrize("name", sorted(EXPECTED.keys() & DEFINED))
def test_large_initializers_become_meta_of_the_right_dtype(tmp_path, name):
    data_type = TensorProto.DataType.Value(name)
    path = save(_identity_model(data_type, [64, 64]), tmp_path)
    gm = ow.convert(path)
    (buffer,) = list(gm.buffers())
    assert (buffer.device.type, buffer.dtype, tuple(buffer.shape)) == ("meta", EXPECTED[name], (64, 64))


@pytest.mark.parametrize("name", ["FLOAT16", "BFLOAT16", "FLOAT8E4M3FN", "BOOL", "INT8", "UINT16"])
def test_small_initializers_stay_real_with_the_right_dtype(tmp_path, name):
    data_type = TensorProto.DataType.Value(name)
    path = save(_identity_model(data_type, [4]), tmp_path)
    (buffer,) = list(ow.convert(path).buffers())
    assert (buffer.device.type, buffer.dtype, tuple(buffer.shape)) == ("cpu", EXPECTED[name], (4,))


def test_onnx_data_type_inverts_torch_dtype():
    from onnx_weightless._dtypes import _TORCH_NAMES, onnx_data_type

    for data_type in _TORCH_NAMES:
        try:
            dtype = ow.torch_dtype(data_type)
        except ow.UnsupportedDtypeError:
            continue  # a type this torch release lacks
        assert onnx_data_type(dtype) == data_type
    assert onnx_data_type(torch.float32) == TensorProto.FLOAT
