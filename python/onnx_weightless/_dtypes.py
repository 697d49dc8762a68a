"""ONNX TensorProto.DataType -> torch.dtype."""

from __future__ import annotations

import torch
from onnx import TensorProto

from ._errors import UnsupportedDtypeError

__all__ = ["SUB_BYTE_TYPES", "torch_dtype", "onnx_dtype_name"]

_DT = TensorProto.DataType

# Names looked up with getattr: newer element types only exist in recent torch releases.
_TORCH_NAMES = {
    _DT.Value("FLOAT"): "float32",
    _DT.Value("UINT8"): "uint8",
    _DT.Value("INT8"): "int8",
    _DT.Value("UINT16"): "uint16",
    _DT.Value("INT16"): "int16",
    _DT.Value("INT32"): "int32",
    _DT.Value("INT64"): "int64",
    _DT.Value("BOOL"): "bool",
    _DT.Value("FLOAT16"): "float16",
    _DT.Value("DOUBLE"): "float64",
    _DT.Value("UINT32"): "uint32",
    _DT.Value("UINT64"): "uint64",
    _DT.Value("COMPLEX64"): "complex64",
    _DT.Value("COMPLEX128"): "complex128",
    _DT.Value("BFLOAT16"): "bfloat16",
    _DT.Value("FLOAT8E4M3FN"): "float8_e4m3fn",
    _DT.Value("FLOAT8E4M3FNUZ"): "float8_e4m3fnuz",
    _DT.Value("FLOAT8E5M2"): "float8_e5m2",
    _DT.Value("FLOAT8E5M2FNUZ"): "float8_e5m2fnuz",
    _DT.Value("UINT4"): "uint4",
    _DT.Value("INT4"): "int4",
}
# Element types newer than some supported onnx releases, by their number in the ONNX spec, so that
# models using them load whichever onnx is installed.
_NEWER_TYPES = {23: "FLOAT4E2M1", 24: "FLOAT8E8M0", 25: "UINT2", 26: "INT2", 27: "FLOAT6E2M3", 28: "FLOAT6E3M2"}
_TORCH_NAMES.update({24: "float8_e8m0fnu", 25: "uint2", 26: "int2"})

#: Element types torch stores only packed (several per byte): UINT4, INT4, UINT2, INT2.
SUB_BYTE_TYPES = frozenset({_DT.Value("UINT4"), _DT.Value("INT4"), 25, 26})

_WHY_NOT = {
    "STRING": "torch has no string tensors",
    "FLOAT4E2M1": "torch only has float4_e2m1fn_x2, which packs two values per element (a different shape)",
    "UNDEFINED": "the tensor declares no element type",
    "FLOAT6E2M3": "torch has no 6-bit floating-point type",
    "FLOAT6E3M2": "torch has no 6-bit floating-point type",
}


def onnx_dtype_name(data_type: int) -> str:
    """'FLOAT', 'BFLOAT16', ... or '<dtype N>' for values onnx does not define."""
    try:
        return _DT.Name(data_type)
    except ValueError:
        return _NEWER_TYPES.get(data_type, f"<dtype {data_type}>")


def torch_dtype(data_type: int, *, tensor_name: str | None = None) -> torch.dtype:
    """The torch dtype holding ONNX element type ``data_type``; raises UnsupportedDtypeError if none."""
    torch_name = _TORCH_NAMES.get(data_type)
    dtype = getattr(torch, torch_name, None) if torch_name else None
    if dtype is None:
        name = onnx_dtype_name(data_type)
        reason = _WHY_NOT.get(name) or (
            f"torch {torch.__version__} has no torch.{torch_name}" if torch_name else "onnx does not define it"
        )
        where = f" (tensor {tensor_name!r})" if tensor_name else ""
        raise UnsupportedDtypeError(f"ONNX element type {name}{where} cannot be represented in torch: {reason}")
    return dtype


def onnx_data_type(dtype: torch.dtype) -> int | None:
    """The ONNX element type a torch dtype stands for (the inverse of torch_dtype), None if none."""
    return _ONNX_TYPES.get(dtype)


_ONNX_TYPES = {
    getattr(torch, name): data_type for data_type, name in _TORCH_NAMES.items() if getattr(torch, name, None) is not None
}
