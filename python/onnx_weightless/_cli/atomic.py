"""Writing a file so that it is never seen half-written."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Calls ``write`` on a new file next to ``path``, then renames it to ``path``, replacing any
    file there; if ``write`` raises, the new file is removed and ``path`` is left as it was. The
    rename is atomic because both names are in one folder."""
    while True:
        # Hidden, and ending as ``path`` does: torch.export.save warns about a name not ending in .pt2.
        temporary = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
        try:
            # Created here rather than by tempfile, whose 0600 would outlive the rename: this
            # file gets the permissions any new file gets (0666 less the umask).
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
