"""Reading a model as its skeleton: the C++ core scans the file and writes the ModelProto without
its large payloads, which Python then parses (kilobytes instead of gigabytes)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import onnx

from . import _core

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
    model = onnx.ModelProto()
    model.ParseFromString(data)
    return Skeleton(model, _core.DataFolder.of_model(path), stripped, stripped_bytes, bytes_read, index)


def skeleton_from_bytes(data: bytes, size_threshold: int = DEFAULT_SIZE_THRESHOLD) -> Skeleton:
    """Skeleton of a serialized model held in memory (its folder is unknown: external files cannot be read)."""
    skeleton, stripped, stripped_bytes, bytes_read, index = _core.skeleton_bytes(data, size_threshold, "<memory>")
    model = onnx.ModelProto()
    model.ParseFromString(skeleton)
    return Skeleton(model, None, stripped, stripped_bytes, bytes_read, index)


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
