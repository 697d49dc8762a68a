"""ONNX shape inference, kept from the null types that crash it.

onnx hands an operator's inference function a null pointer for an input whose type it does not
know: the output of an operator it has no schema for (a custom domain, an onnxruntime contrib
op), of one whose inference failed, or a value nothing produces. Many of those functions read
through it unchecked, and the process dies (ai.onnx.ml's LabelEncoder after a custom op). So
every value a graph computes without a declared type is first declared with an empty type, which
onnx fills where it can, and the declarations still empty afterwards are removed
(cpp/include/onnx_weightless/value_types.hpp, on the serialized model; the C++ CLI does the same).
"""

from __future__ import annotations

from typing import Any

import onnx
from onnx import ModelProto

from . import _core

__all__ = ["infer_shapes"]


def infer_shapes(model: ModelProto, **options: Any) -> ModelProto:
    """``onnx.shape_inference.infer_shapes(model, **options)``, with no value of unknown type.
    ``model`` is left as it was."""
    declared = _core.declare_untyped_values(model.SerializeToString())
    inferred = onnx.shape_inference.infer_shapes(declared, **options)
    cleaned = _core.remove_empty_types(inferred.SerializeToString())
    return inferred if cleaned is None else ModelProto.FromString(cleaned)
