"""diff(): what differs between two models' structures, weights unread.

Each model is read as inspect() reads it (skeleton, shapes inferred, analysis); the comparison is
the C++ core's (cpp/include/onnx_weightless/diff.hpp), the same the CLI's ``onnx-weightless diff``
prints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from . import _core
from ._inspect import analysed, write_text_atomically

__all__ = ["diff"]


def diff(before: str | os.PathLike, after: str | os.PathLike, dims: Mapping[str, int] | None = None, *,
         html: str | os.PathLike | None = None) -> _core.StructureDiff:
    """Inputs and outputs changed, opset and IR versions, the op histogram delta, tensors added,
    removed, reshaped or retyped, nodes added, removed or changed (aligned by name, then by name
    scope, then by op type in graph order), and the weight and MAC totals of each side, without
    reading either model's weights. ``identical`` is true when nothing differs. ``dims`` sizes
    symbolic dimensions for the MAC totals. With ``html``, the two models side by side and the
    changes are also written there as one self-contained HTML file, as ``diff --html`` writes it."""
    a, a_model = analysed(before, dims, 0)
    b, b_model = analysed(after, dims, 0)
    result = _core.diff(a.index, a_model, a.analysis, b.index, b_model, b.analysis)
    if html is not None:
        write_text_atomically(html, _core.diff_report_html(a.path, a.index, a_model, a.analysis, b.path, b.index, b_model,
                                                           b.analysis, a.dims, a.shapes_from, b.shapes_from, result))
    return result
