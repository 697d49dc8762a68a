"""inspect(): what a model holds and costs, from its structure alone.

The weights are counted from the scan's tensor index; MACs, FLOPs and activation memory come from
the C++ analysis (cpp/include/onnx_weightless/analysis.hpp) over the skeleton with the shapes ONNX
shape inference gives (with data propagation, so shapes computed from Shape ops are followed).
Where inference leaves a dimension unknown (it loses track of some exports' batch dimension, and
knows no com.microsoft op), the shapes come from the converted module run on meta tensors
(propagate_shapes). Symbolic dimensions are sized by ``dims``; a node whose cost needs a dimension
left unsized is counted in ``analysis.unknown_nodes`` and costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import onnx
from onnx import helper

from . import _core
from ._builder import ONNX_OUTPUTS
from ._convert import convert
from ._dtypes import onnx_data_type
from ._shapes import SHAPE, ValueShape, input_symbols, propagate_shapes
from ._skeleton import load_skeleton

__all__ = ["ModelReport", "inspect"]


@dataclass(frozen=True)
class ModelReport:
    """The result of :func:`inspect`."""

    path: str
    index: _core.TensorIndex
    analysis: _core.Analysis
    dims: dict[str, int] = field(default_factory=dict)
    #: Where the shapes came from: "declared" (the file's own), "onnx" (ONNX shape inference),
    #: "onnx+torch" (and the converted module's meta run for values inference left unknown).
    shapes_from: str = "onnx"

    @property
    def summary(self) -> _core.ModelSummary:
        """Opsets, producer, node and graph counts, the op histogram."""
        return self.index.summary

    @property
    def totals(self) -> _core.IndexTotals:
        """Tensors, elements and bytes, in all and by dtype, storage and external file."""
        return self.index.totals

    @property
    def parameters(self) -> int:
        """Elements of every tensor the model holds (initializers and constants)."""
        return self.index.totals.all.elements

    @property
    def external_files(self) -> list[str]:
        """The external data files the model references, present or not."""
        return sorted(self.index.totals.by_external_file)


def _with_inferred_shapes(model: onnx.ModelProto) -> tuple[onnx.ModelProto, bool]:
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True), True
    except Exception:  # noqa: BLE001 - inference refuses some valid models; the declared shapes remain
        return model, False


def _torch_shapes(model: onnx.ModelProto, folder: _core.DataFolder, dims: Mapping[str, int]) -> dict[str, tuple[list[int], int]]:
    """ONNX value name -> (dims, elem_type) for every value the meta run of the converted module
    sizes completely; empty when the module cannot be converted or run."""
    try:
        gm = convert(model, base_dir=folder)
        symbols = input_symbols(gm)
        propagate_shapes(gm, dims={name: size for name, size in dims.items() if name in symbols})
    except Exception:  # noqa: BLE001 - the ONNX-inferred shapes remain
        return {}
    found = {}
    for node in gm.graph.nodes:
        names = node.meta.get(ONNX_OUTPUTS)
        value = node.meta.get(SHAPE)
        if not names or value is None:
            continue
        for name, shape in zip(names, value if len(names) > 1 else (value,)):
            elem_type = onnx_data_type(shape.dtype) if isinstance(shape, ValueShape) else None
            if elem_type and all(isinstance(d, int) for d in shape.shape):
                found[name] = (list(shape.shape), elem_type)
    return found


def _fully_known(value: onnx.ValueInfoProto) -> bool:
    tensor_type = value.type.tensor_type
    return tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in tensor_type.shape.dim)


def _fill_unknown_shapes(model: onnx.ModelProto, shapes: Mapping[str, tuple[list[int], int]]) -> int:
    """Replaces the graph's value_info entries that are missing or not fully sized by ``shapes``."""
    declared = {v.name: v for v in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)}
    fill = {name: spec for name, spec in shapes.items() if name not in declared or not _fully_known(declared[name])}
    if not fill:
        return 0
    kept = [v for v in model.graph.value_info if v.name not in fill]
    del model.graph.value_info[:]
    model.graph.value_info.extend(kept)
    for name, (dims, elem_type) in fill.items():
        model.graph.value_info.append(helper.make_tensor_value_info(name, elem_type, dims))
    return len(fill)


def inspect(path: str | os.PathLike, dims: Mapping[str, int] | None = None, *, largest: int = 10) -> ModelReport:
    """Weights by dtype, storage and file; op histogram; MACs and FLOPs per node and op type;
    activation memory (in all and peak alive) and the ``largest`` activations of the model at
    ``path``, read without its weights. ``dims`` sizes symbolic dimensions (``{"batch": 1,
    "sequence": 128}``)."""
    dims = {name: int(size) for name, size in (dims or {}).items()}
    for name, size in dims.items():
        if size < 0:
            raise ValueError(f"dims[{name!r}] must be a non-negative int, got {size}")
    path = os.path.abspath(os.fspath(path))
    skeleton = load_skeleton(path)  # one scan gives the index and the skeleton
    index = skeleton.index
    model, inferred = _with_inferred_shapes(skeleton.model)
    shapes_from = "onnx" if inferred else "declared"
    analysis = _core.analyze(model.SerializeToString(), dims, largest)
    if analysis.unknown_nodes or analysis.activations_unknown:
        if _fill_unknown_shapes(model, _torch_shapes(skeleton.model, skeleton.data_folder, dims)):
            shapes_from += "+torch"
            analysis = _core.analyze(model.SerializeToString(), dims, largest)
    return ModelReport(path, index, analysis, dims, shapes_from)
