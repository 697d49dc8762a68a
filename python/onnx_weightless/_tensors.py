"""The value policy: which tensors become real torch tensors and which become meta.

A tensor whose bytes are at hand and small is real; everything else is meta. Tensors whose values
are read (shapes, axes, pads...) are always made real, from whatever file holds them, or raise an
error naming the tensor and the file: MissingWeightsError if the file is missing,
ExternalDataError if it is refused (docs/security.md) or too short.

Large tensors stored raw in a file (external data, and the payloads a skeleton leaves in the
model file) are mapped, not read: a private copy-on-write mapping of the range, so a tensor costs
no memory until its pages are touched and writing to it never reaches the file.
"""

from __future__ import annotations

import mmap
import os
import sys
from dataclasses import dataclass

import numpy as np
import torch
from onnx import TensorProto, numpy_helper

from . import _core
from ._dtypes import SUB_BYTE_TYPES, onnx_dtype_name, torch_dtype
from ._errors import ExternalDataError, FormatError, MissingWeightsError

__all__ = ["TensorResolver", "external_entries"]

# Tensors of at least this many bytes are mapped rather than read.
_MAP_AT_LEAST = 64 * 1024

def external_entries(proto: TensorProto) -> dict[str, str]:
    return {entry.key: entry.value for entry in proto.external_data}


_UNKNOWN_FOLDER = "the model's folder is unknown (pass a path, or base_dir=)"


def _element_count(proto: TensorProto) -> int:
    count = 1
    for dim in proto.dims:
        count *= dim
    return count


@dataclass
class _Bytes:
    """Where a tensor's bytes can be had, or why they cannot."""

    raw: bytes | None
    reason: str = ""
    #: The file is there but refused, or does not hold the range (rather than missing).
    refused: bool = False


# Typed payload fields of TensorProto, for messages about inline data that does not match dims.
_TYPED_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")


def _inline_array(proto: TensorProto) -> np.ndarray:
    """numpy_helper.to_array, with a FormatError naming the tensor where its inline data does not
    fit its dims: the scan counts fixed-width payloads, varint and string ones need reading."""
    try:
        return numpy_helper.to_array(proto)
    except ValueError as error:
        held = [name for name in _TYPED_FIELDS if len(getattr(proto, name))]
        what = (
            f"{held[0]} holds {len(getattr(proto, held[0]))} values, which do not fit dims {list(proto.dims)}"
            if held
            else f"holds no data (no raw_data, no typed data field, not EXTERNAL) for dims {list(proto.dims)}"
        )
        described = f"tensor {proto.name!r} ({onnx_dtype_name(proto.data_type)}{list(proto.dims)})"
        raise FormatError(f"{described}: {what} ({error})") from error


class TensorResolver:
    """Turns TensorProtos of one model into torch tensors under the value policy."""

    def __init__(self, folder: _core.DataFolder | None, size_threshold: int):
        self.folder = folder
        self.size_threshold = size_threshold

    @staticmethod
    def meta(proto: TensorProto) -> torch.Tensor:
        dtype = torch_dtype(proto.data_type, tensor_name=proto.name)
        return torch.empty(tuple(proto.dims), dtype=dtype, device="meta")

    @staticmethod
    def is_external(proto: TensorProto) -> bool:
        return proto.data_location == TensorProto.EXTERNAL

    def tensor(self, proto: TensorProto, *, need_values: bool = False) -> torch.Tensor:
        """Real if small and at hand (or if ``need_values``), meta otherwise."""
        dtype = torch_dtype(proto.data_type, tensor_name=proto.name)
        if proto.data_type in SUB_BYTE_TYPES:  # no element-by-element layout: never real
            return self.meta(proto)  # never read as values: shapes, axes and pads are integers
        if not need_values and _element_count(proto) * dtype.itemsize > self.size_threshold:
            return self.meta(proto)
        mapped = self._mapped(proto, dtype)
        if mapped is not None:
            return mapped
        found = self.raw_bytes(proto)
        if found.raw is None:
            if need_values:
                error = ExternalDataError if found.refused else MissingWeightsError
                raise error(self.missing_message(proto, found.reason))
            return self.meta(proto)
        return _from_raw(found.raw, tuple(proto.dims), dtype)

    def numpy(self, proto: TensorProto) -> np.ndarray:
        """Values as numpy (for converters that read them); raises MissingWeightsError if absent."""
        if not self.is_external(proto):
            return _inline_array(proto).copy()
        return self.tensor(proto, need_values=True).numpy()

    def available(self, proto: TensorProto) -> tuple[str, str]:
        """("present", "") if the tensor's bytes can be had (not read here), or the file's state
        ("missing", "refused", or "unknown" when the model's folder is) and why."""
        if not self.is_external(proto):
            return "present", ""
        if self.folder is None:
            return "unknown", _UNKNOWN_FOLDER
        state, _size, reason = _core.probe_external(self.folder, external_entries(proto).get("location", ""))
        return state, reason

    def _mapped(self, proto: TensorProto, dtype: torch.dtype) -> torch.Tensor | None:
        """The tensor over a mapping of its file range, where its bytes are raw, large and present;
        None otherwise (the caller reads them, and reports why they cannot be had)."""
        if not self.is_external(proto) or self.folder is None or sys.byteorder != "little":
            return None
        entries = external_entries(proto)
        size = _element_count(proto) * dtype.itemsize
        if size < _MAP_AT_LEAST or _core.PAYLOAD_FIELD_KEY in entries or int(entries.get("length", size)) != size:
            return None
        offset = int(entries.get("offset", "0"))
        try:
            fd = _core.open_external_range(self.folder, entries.get("location", ""), offset, size)
        except ExternalDataError:
            return None
        try:
            start = offset - offset % mmap.ALLOCATIONGRANULARITY
            mapping = mmap.mmap(fd, offset - start + size, offset=start, access=mmap.ACCESS_COPY)
        finally:
            os.close(fd)
        # frombuffer keeps the mapping alive for as long as the tensor lives.
        return torch.frombuffer(mapping, dtype=dtype, count=_element_count(proto), offset=offset - start).reshape(
            tuple(proto.dims)
        )

    def raw_bytes(self, proto: TensorProto) -> _Bytes:
        if not self.is_external(proto):
            if proto.HasField("raw_data"):
                return _Bytes(proto.raw_data)
            return _Bytes(np.ascontiguousarray(_inline_array(proto)).tobytes())
        entries = external_entries(proto)
        if self.folder is None:
            return _Bytes(None, _UNKNOWN_FOLDER)
        location = entries.get("location", "")
        length = int(entries["length"]) if "length" in entries else None
        try:
            data = _core.read_external(self.folder, location, int(entries.get("offset", "0")), length)
        except ExternalDataError as error:
            return _Bytes(None, str(error), refused=self.available(proto)[0] != "missing")
        field = entries.get(_core.PAYLOAD_FIELD_KEY)
        if field is not None:
            packed = entries.get(_core.PACKED_KEY, "1") != "0"
            try:
                data = _core.payload_to_raw(field, proto.data_type, data, packed, _element_count(proto))
            except FormatError as error:
                raise FormatError(
                    f"tensor {proto.name!r} ({onnx_dtype_name(proto.data_type)}{list(proto.dims)}), stored in "
                    f"{location!r} at offset {entries.get('offset', '0')}: {error}"
                ) from error
        return _Bytes(data)

    def missing_message(self, proto: TensorProto, reason: str) -> str:
        location = external_entries(proto).get("location", "?")
        return (
            f"tensor {proto.name!r} ({onnx_dtype_name(proto.data_type)}{list(proto.dims)}) is stored in "
            f"{location!r}, which cannot be read: {reason}"
        )


def _from_raw(raw: bytes, dims: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    if len(raw) == 0:
        return torch.empty(dims, dtype=dtype)
    # bytearray: torch.frombuffer needs a writable buffer to hand out a writable tensor.
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(dims)
