"""strip(): a model's skeleton written to a new file."""

from __future__ import annotations

import os

from . import _core
from ._skeleton import DEFAULT_SIZE_THRESHOLD

__all__ = ["strip"]


def strip(
    source: str | os.PathLike, destination: str | os.PathLike, *, size_threshold: int = DEFAULT_SIZE_THRESHOLD,
    overwrite: bool = False,
) -> int:
    """Writes the skeleton of the model at ``source`` to ``destination`` and returns its size in
    bytes. Payloads over ``size_threshold`` bytes are left out; each stripped tensor keeps its
    name, dims and dtype and references its bytes in the original file by name, so the skeleton
    placed next to the model reads them, and anywhere else converts without them. The file is
    written complete or not at all; ``source`` is never replaced, ``destination`` only with
    ``overwrite``."""
    source, destination = os.path.abspath(os.fspath(source)), os.path.abspath(os.fspath(destination))
    if os.path.exists(destination):
        if os.path.samefile(source, destination):
            raise ValueError(f"refusing to replace the model {source} with its skeleton")
        if not overwrite:
            raise FileExistsError(f"{destination} exists; pass overwrite=True to replace it")
    data, *_ = _core.skeleton_file(source, size_threshold, os.path.basename(source))
    partial = os.path.join(os.path.dirname(destination), f".{os.path.basename(destination)}.partial")
    try:
        with open(partial, "wb") as f:
            f.write(data)
        os.replace(partial, destination)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    return len(data)
