"""ONNX shape inference, kept from the null types that crash it.

onnx hands an operator's inference function a null pointer for an input whose type it does not
know, and many of those functions read through it unchecked (ai.onnx.ml's LabelEncoder): the
process dies. Two cases:

* a value it cannot type: the output of an operator it has no schema for (a custom domain, an
  onnxruntime contrib op), of one whose inference failed, or a value nothing produces. Every such
  value is first declared with an empty type, which onnx fills where it can, and the declarations
  still empty afterwards are removed (cpp/include/onnx_weightless/value_types.hpp, on the
  serialized model);
* an input the operator requires, left empty (``""`` leaves out an optional input only): the
  model is not inferred at all (``empty_required_input``), and a conversion refuses it.

The C++ CLI does the same (cpp/cli/shape_inference.cpp).
"""

from __future__ import annotations

from typing import Any

import onnx
from onnx import ModelProto, defs

from . import _core
from ._graphs import walk_graphs

__all__ = ["empty_required_input", "infer_shapes"]

#: A NodeProto input of no name, as serialized: without it in the bytes, no node has one.
_EMPTY_INPUT = b"\n\x00"


def empty_required_input(model: ModelProto, serialized: bytes | None = None) -> str | None:
    """Where a node of any graph leaves empty an input its operator's schema requires (a single or
    variadic parameter), as "node 3 ('name', ai.onnx.ml::LabelEncoder), input 0: ..."; None when
    none does. ``serialized``: the model's bytes, when at hand (a quick test first)."""
    if _EMPTY_INPUT not in (serialized if serialized is not None else model.SerializeToString()):
        return None
    opsets = {("" if o.domain == "ai.onnx" else o.domain): o.version for o in model.opset_import}
    for graph in walk_graphs(model.graph):
        for index, node in enumerate(graph.node):
            if "" not in node.input:
                continue
            domain = "" if node.domain == "ai.onnx" else node.domain
            if domain not in opsets:
                continue
            try:
                schema = defs.get_schema(node.op_type, max_inclusive_version=opsets[domain], domain=domain)
            except (defs.SchemaError, RuntimeError, TypeError):
                continue  # no schema: onnx infers nothing for it
            formal = schema.inputs
            for position, name in enumerate(node.input):
                if name or not formal:
                    continue
                parameter = formal[min(position, len(formal) - 1)]
                variadic = parameter.option == defs.OpSchema.FormalParameterOption.Variadic
                if position >= len(formal) and not variadic:
                    break  # past what the schema reads
                if parameter.option != defs.OpSchema.FormalParameterOption.Optional:
                    return (f"node {index} ({node.name!r}, {domain or 'ai.onnx'}::{node.op_type}), input {position}: is empty, "
                            f"but {node.op_type}-{schema.since_version} requires it ('' leaves out an optional input only)")
    return None


def infer_shapes(model: ModelProto, **options: Any) -> ModelProto:
    """``onnx.shape_inference.infer_shapes(model, **options)``, with no value of unknown type.
    ``model`` is left as it was. Raises ValueError, without inferring, for a model onnx would
    crash on however it is declared (``empty_required_input``)."""
    serialized = model.SerializeToString()
    empty = empty_required_input(model, serialized)
    if empty is not None:
        raise ValueError(f"ONNX shape inference cannot run: {empty}")
    declared = _core.declare_untyped_values(serialized)
    inferred = onnx.shape_inference.infer_shapes(declared, **options)
    cleaned = _core.remove_empty_types(inferred.SerializeToString())
    return inferred if cleaned is None else ModelProto.FromString(cleaned)
