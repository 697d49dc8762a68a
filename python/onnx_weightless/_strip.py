"""strip(): a model's skeleton (and manifest) written as new files."""

from __future__ import annotations

import os

from . import _core
from ._skeleton import DEFAULT_SIZE_THRESHOLD

__all__ = ["strip"]


def strip(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    *,
    size_threshold: int = DEFAULT_SIZE_THRESHOLD,
    overwrite: bool = False,
    manifest: str | os.PathLike | None = None,
) -> int:
    """Writes the skeleton of the model at ``source`` to ``destination`` and returns its size in
    bytes. Payloads over ``size_threshold`` bytes are left out; each stripped tensor keeps its
    name, dims and dtype and references its bytes in the original file by name, so the skeleton
    placed next to the model reads them, and anywhere else converts without them.

    ``manifest``: also write a JSON manifest there (docs/schemas/manifest.schema.json): every
    tensor's name, dtype, dims, storage, location, and the SHA-256 of its bytes where present.

    Each file is written complete or not at all. ``source`` is never replaced (ValueError); an
    existing output only with ``overwrite`` (FileExistsError otherwise), checked before writing."""
    try:
        return _core.strip_model(
            os.fspath(source), os.fspath(destination), size_threshold, overwrite, os.fspath(manifest) if manifest else ""
        )
    except FileExistsError as error:
        raise FileExistsError(f"{error}; pass overwrite=True to replace it") from None
