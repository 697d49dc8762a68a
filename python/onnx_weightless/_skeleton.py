"""Reading a model as its skeleton: the C++ core scans the file and writes the ModelProto without
its large payloads, which Python then parses (kilobytes instead of gigabytes)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import onnx
from google.protobuf.message import DecodeError

from . import _core
from ._errors import FormatError, LimitError

__all__ = ["DEFAULT_SIZE_THRESHOLD", "Skeleton", "load", "load_skeleton", "scan"]

#: Payloads above this many bytes are left out of the skeleton (ONNX's own external-data default).
DEFAULT_SIZE_THRESHOLD = 1024


@dataclass(frozen=True)
class Skeleton:
    """A loaded skeleton and where it came from."""

    model: onnx.ModelProto
    #: Where external data locations resolve (the model file's absolute folder, and the real folder
    #: of the file it resolves to when it is a symlink); None for a model read from memory.
    data_folder: _core.DataFolder | None
    stripped_tensors: int
    stripped_bytes: int
    #: Bytes the scan read from the model file (payloads are skipped, not read).
    bytes_read: int
    #: The scan of the original model (its tensors as stored there, not as the skeleton marks them).
    index: _core.TensorIndex


def load_skeleton(path: str | os.PathLike, size_threshold: int = DEFAULT_SIZE_THRESHOLD) -> Skeleton:
    """Reads the model at ``path`` as a skeleton, with provenance and statistics."""
    path = os.path.abspath(os.fspath(path))
    data, stripped, stripped_bytes, bytes_read, index = _core.skeleton_file(path, size_threshold, os.path.basename(path))
    model = _parse(data, index, repr(path))
    return Skeleton(model, _core.DataFolder.of_model(path), stripped, stripped_bytes, bytes_read, index)


def skeleton_from_bytes(data: bytes, size_threshold: int = DEFAULT_SIZE_THRESHOLD) -> Skeleton:
    """Skeleton of a serialized model held in memory (its folder is unknown: external files cannot be read)."""
    skeleton, stripped, stripped_bytes, bytes_read, index = _core.skeleton_bytes(data, size_threshold, "<memory>")
    model = _parse(skeleton, index, "the model's bytes")
    return Skeleton(model, None, stripped, stripped_bytes, bytes_read, index)


# onnx's protobuf parsers (Python's, and the C++ one its checker and shape inference use) refuse
# messages nested more than 100 deep. A subgraph level takes three (graph, node, attribute) and a
# graph input's shape five more below its graph: 31 levels of subgraphs fit, 32 do not.
_PROTOBUF_DEPTH_LIMIT = 100


def _parse(data: bytes, index: _core.TensorIndex, where: str) -> onnx.ModelProto:
    """The skeleton as a ModelProto. The scan checked every message it walks; protobuf may still
    refuse the parts it skips (value types, metadata) or nesting beyond its limit, which become
    FormatError / LimitError here, and so does a ModelProto without a graph (an empty file)."""
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except DecodeError as error:
        depth = index.summary.max_depth
        if 2 + 3 * depth + 5 > _PROTOBUF_DEPTH_LIMIT:
            raise LimitError(
                f"[load] {where}: subgraphs nested {depth} levels deep; onnx's protobuf parser refuses messages "
                f"nested more than {_PROTOBUF_DEPTH_LIMIT} deep (31 levels of subgraphs)"
            ) from error
        raise FormatError(
            f"[load] {where}: onnx's protobuf parser refuses {_refused_part(data)}, a part of the model the "
            f"scan does not check ({error})"
        ) from error
    if not model.HasField("graph"):
        raise FormatError(
            f"[load] {where} has no graph (ModelProto.graph): it is empty ({len(data)} bytes) or not an ONNX model"
        )
    return model


def _refused_part(data: bytes) -> str:
    """The deepest message of the ModelProto `data` that protobuf refuses although it accepts each
    of its sub-messages alone, as a path: 'ModelProto.graph.input[0].type.tensor_type'."""
    message: object = onnx.ModelProto()
    path = "ModelProto"
    descended = True
    while descended:
        descended = False
        seen: Counter[int] = Counter()
        for number, body in _length_delimited(data):
            field = message.DESCRIPTOR.fields_by_number.get(number)
            if field is None or field.message_type is None:
                continue
            container = getattr(message, field.name)
            repeated = hasattr(container, "add")
            child_type = type(container.add() if repeated else container)
            name = f"{path}.{field.name}" + (f"[{seen[number]}]" if repeated else "")
            seen[number] += 1
            try:
                child_type.FromString(body)
            except DecodeError:
                message, data, path, descended = child_type(), body, name, True
                break
    return path


def _length_delimited(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(field number, value) of each length-delimited field of a message, up to where its wire
    format breaks."""

    def varint(position: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, position

    position = 0
    try:
        while position < len(data):
            key, position = varint(position)
            wire_type = key & 7
            if wire_type == 0:
                _, position = varint(position)
            elif wire_type in (1, 5):
                position += 8 if wire_type == 1 else 4
            elif wire_type == 2:
                length, position = varint(position)
                yield key >> 3, data[position : position + length]
                position += length
            else:
                return
    except IndexError:  # truncated: the fields before it are all there is
        return


def load(path: str | os.PathLike, size_threshold: int = DEFAULT_SIZE_THRESHOLD) -> onnx.ModelProto:
    """The model at ``path`` without its weights.

    Every tensor with more than ``size_threshold`` bytes of inline data keeps its name, dims and
    dtype and is marked EXTERNAL with where its bytes really are (the model file itself, at the
    payload's offset); tensors already in external files are left as they are, whether those
    files exist or not. Everything else is the model's own bytes. Payloads are never read.
    """
    return load_skeleton(path, size_threshold).model


def scan(path: str | os.PathLike) -> _core.TensorIndex:
    """Every tensor of the model at ``path`` (name, dtype, dims, storage, location) and a structural summary."""
    return _core.scan_file(os.fspath(path))
