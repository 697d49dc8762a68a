"""inspect(): what a model holds and costs, from its structure alone.

The weights are counted from the scan's tensor index; MACs, FLOPs and activation memory come from
the C++ analysis (cpp/include/onnx_weightless/analysis.hpp) over the skeleton with the shapes ONNX
shape inference gives (with data propagation, so shapes computed from Shape ops are followed).
Where inference leaves a dimension unknown (it loses track of some exports' batch dimension, and
knows no com.microsoft op), the shapes come from the converted module run on meta tensors
(propagate_shapes, the one step that imports torch).

Symbolic dimensions are sized by ``dims``; those left unsized stay symbols, and the figures are
exact polynomials in them (``_core.Polynomial``: ``16384*batch*seq``; an int where no symbol is
left), which ``evaluate(dims)`` sizes later. A figure never leaves out a node silently: a node
whose shapes are unknown (no rank, or a dimension no input symbol gives) is in
``analysis.uncosted`` with the reason, and ``analysis.complete`` is false.

Subgraphs count: an If costs its costliest branch, a Loop or Scan its body times the trip count
(``trips(NODE)`` when it is not a constant or a size), and model-local functions are inlined
before inference, so each call is costed with the shapes it is called with.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import onnx
from onnx import helper, numpy_helper

from . import _core
from ._graphs import name_unnamed_dims, unbounded_function_calls, walk_graphs
from ._loop_shapes import with_loop_shapes
from ._shape_inference import infer_shapes
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
    #: The serialized skeleton the analysis read, with the shapes it was given.
    analysed_model: bytes = field(default=b"", repr=False)

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

    def to_html(self, path: str | os.PathLike | None = None) -> str:
        """The report as one self-contained HTML file (nothing fetched when viewed): totals, the
        model as a collapsible block graph with repeated blocks folded, bar charts by block and by
        op type, weights by dtype, storage and file, and what was not costed. Written to ``path``
        (complete or not at all) when given; returned either way."""
        html = _core.report_html(self.path, self.index, self.analysed_model, self.analysis, self.dims, self.shapes_from)
        if path is not None:
            write_text_atomically(path, html)
        return html


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` through a partial file renamed into place."""
    target = os.fspath(path)
    partial = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.partial")
    try:
        with open(partial, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _inlined(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with its local functions' bodies in place of their calls, so that shape inference
    sizes the values inside them and each call site is costed; the model itself if inlining fails."""
    if not model.functions:
        return model
    from onnx import inliner

    try:
        return inliner.inline_local_functions(model)
    except Exception:  # noqa: BLE001 - the calls stay, uncosted with the reason
        return model


#: A Range of more elements than this, from constant bounds, is not propagated as data.
_MOST_PROPAGATED = 1 << 20


def _propagation_is_bounded(model: onnx.ModelProto) -> bool:
    """Whether ONNX's data propagation may run: it computes a Range of constant bounds element by
    element, so a hostile one (2^40 elements) would never end. The C++ CLI checks the same
    (cpp/cli/shape_inference.cpp)."""
    for graph in walk_graphs(model.graph):
        constants = {t.name: t for t in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant" and node.output:
                constants.update((node.output[0], a.t) for a in node.attribute if a.name == "value" and a.HasField("t"))
        for node in graph.node:
            if node.op_type != "Range" or len(node.input) != 3 or not all(i in constants for i in node.input):
                continue
            try:
                start, limit, delta = (float(numpy_helper.to_array(constants[i]).reshape(-1)[0]) for i in node.input)
            except (ValueError, IndexError, TypeError):
                continue
            if delta != 0 and (limit - start) / delta > _MOST_PROPAGATED:
                return False
    return True


def _infer(model: onnx.ModelProto) -> onnx.ModelProto:
    return infer_shapes(model, data_prop=_propagation_is_bounded(model))


def _with_inferred_shapes(model: onnx.ModelProto) -> tuple[onnx.ModelProto, bool]:
    if unbounded_function_calls(model):
        return model, False  # older onnx releases crash inlining or inferring through them
    model = _inlined(model)
    try:
        inferred = _infer(model)
    except Exception:  # noqa: BLE001 - inference refuses some valid models; the declared shapes remain
        return model, False
    return with_loop_shapes(model, inferred, _infer), True


def _torch_shapes(model: onnx.ModelProto, folder: _core.DataFolder, dims: Mapping[str, int]) -> dict[str, tuple[list[int | str], int]]:
    """ONNX value name -> (dims, elem_type) for every value the meta run of the converted module
    sizes completely: numbers, and expressions of the unbound symbols (``batch*sequence``); empty
    when the module cannot be converted or run. Imports torch, which inspecting a model whose
    shapes ONNX infers never does."""
    from ._builder import ONNX_OUTPUTS
    from ._convert import convert
    from ._dtypes import onnx_data_type
    from ._shapes import SHAPE, ValueShape, input_symbols, propagate_shapes

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
            if elem_type and all(isinstance(d, (int, str)) for d in shape.shape):
                found[name] = (list(shape.shape), elem_type)
    return found


def _input_symbols(model: onnx.ModelProto) -> set[str]:
    return {d.dim_param for value in model.graph.input for d in value.type.tensor_type.shape.dim if d.dim_param}


def _fully_known(value: onnx.ValueInfoProto, symbols: set[str]) -> bool:
    """Every dimension a number or a symbol of the graph's inputs (not one shape inference made up)."""
    tensor_type = value.type.tensor_type
    return tensor_type.HasField("shape") and all(d.HasField("dim_value") or d.dim_param in symbols for d in tensor_type.shape.dim)


def _fill_unknown_shapes(model: onnx.ModelProto, shapes: Mapping[str, tuple[list[int | str], int]], dims: Mapping[str, int]) -> int:
    """Replaces the graph's value_info entries that are missing or not fully sized by ``shapes``."""
    symbols = _input_symbols(model) | set(dims)
    declared = {v.name: v for v in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)}
    fill = {name: spec for name, spec in shapes.items() if name not in declared or not _fully_known(declared[name], symbols)}
    if not fill:
        return 0
    filled = 0
    kept = [v for v in model.graph.value_info if v.name not in fill]
    del model.graph.value_info[:]
    model.graph.value_info.extend(kept)
    for output in model.graph.output:  # a declared output's type comes first: it is replaced in place
        if output.name in fill:
            dims, elem_type = fill.pop(output.name)
            output.type.CopyFrom(helper.make_tensor_type_proto(elem_type, dims))
            filled += 1
    for name, (dims, elem_type) in fill.items():
        model.graph.value_info.append(helper.make_tensor_value_info(name, elem_type, dims))
    return filled + len(fill)


def _fix_input_sizes(graph: onnx.GraphProto, dims: Mapping[str, int]) -> None:
    for value in graph.input:
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param") and dim.dim_param in dims:
                dim.dim_value = dims[dim.dim_param]


def inspect(path: str | os.PathLike, dims: Mapping[str, int] | None = None, *, largest: int = 10) -> ModelReport:
    """Weights by dtype, storage and file; op histogram; MACs and FLOPs per node and op type;
    activation memory (in all and peak alive) and the ``largest`` activations of the model at
    ``path``, read without its weights. ``dims`` sizes symbolic dimensions (``{"batch": 1,
    "sequence": 128}``); the figures are polynomials in those it leaves unsized, ints otherwise.
    ``analysis.complete`` says whether every node was costed (``analysis.uncosted`` lists those
    that were not, with the reason)."""
    return analysed(path, dims, largest)[0]


def analysed(path: str | os.PathLike, dims: Mapping[str, int] | None, largest: int) -> tuple[ModelReport, bytes]:
    """inspect()'s report, and the serialized skeleton its analysis read (shapes inferred)."""
    dims = {name: int(size) for name, size in (dims or {}).items()}
    for name, size in dims.items():
        if size < 0:
            raise ValueError(f"dims[{name!r}] must be a non-negative int, got {size}")
    path = os.path.abspath(os.fspath(path))
    skeleton = load_skeleton(path)  # one scan gives the index and the skeleton
    index = skeleton.index
    # A size the model leaves unnamed (skl2onnx's batch) is a symbol, named as export() names it.
    name_unnamed_dims(skeleton.model.graph)
    # Sizes given are fixed in the inputs first: inference follows numbers through Reshapes and
    # shape arithmetic where it loses symbols.
    _fix_input_sizes(skeleton.model.graph, dims)
    model, inferred = _with_inferred_shapes(skeleton.model)
    shapes_from = "onnx" if inferred else "declared"
    serialized = model.SerializeToString()
    analysis = _core.analyze(serialized, dims, largest)
    if analysis.unknown_nodes or analysis.activations_unknown:
        if _fill_unknown_shapes(model, _torch_shapes(skeleton.model, skeleton.data_folder, dims), dims):
            shapes_from += "+torch"
            serialized = model.SerializeToString()
            analysis = _core.analyze(serialized, dims, largest)
    return ModelReport(path, index, analysis, dims, shapes_from, serialized), serialized
