"""export(): an ONNX model as a torch.export.ExportedProgram, without its weights.

The model is converted weightless with integer shapes (``convert(..., integer_shapes=True)``).
torch.export then traces it under a FakeTensorMode in which every parameter, buffer and input is a
fake CPU tensor: nothing is allocated, and every tensor, weights and the ones operators create,
is on one device. Each ONNX ``dim_param`` is a ``torch.export.Dim`` of that name. The program's
state is meta tensors; the constants the trace itself computed (index tables) stay as they are.
"""

from __future__ import annotations

import inspect
import os
import re
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from onnx import ModelProto
from torch import fx
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode
from torch.fx.experimental.symbolic_shapes import ShapeEnv
from torch.utils._pytree import tree_map_only

from ._builder import ONNX_INPUT
from ._graphs import symbol_name
from ._dtypes import torch_dtype
from ._errors import ExportError, FixedDimensionWarning
from ._fake_run import fake_state

__all__ = ["export"]

#: Size of a symbolic dimension in the example inputs when ``example_dims`` does not say: neither 0
#: nor 1, which torch.export would specialise on.
DEFAULT_EXAMPLE_SIZE = 4


def _dim_name(symbol: str) -> str:
    """A Python identifier for an ONNX symbol ("batch_size", "unk__54", "past_sequence_length + 1")."""
    name = re.sub(r"\W", "_", symbol)
    return name if name.isidentifier() else f"d_{name}"


def _example_size(low: int | None, high: int | None) -> int:
    """The default example size, moved into a symbol's bounds."""
    size = DEFAULT_EXAMPLE_SIZE
    if low is not None:
        size = max(size, low)
    if high is not None:
        size = min(size, high)
    return size


def _export_fixing_pinned_dims(module: torch.nn.Module, inputs: tuple[Any, ...], shapes: Any) -> torch.export.ExportedProgram:
    """torch.export, once more with torch's suggested fixes if the model pins a symbol it declares
    (a Reshape to a constant size, a Concat with a fixed-size tensor): the program then takes that
    dimension at the size or in the relation the model needs, with a FixedDimensionWarning."""
    try:
        return torch.export.export(module, inputs, dynamic_shapes=shapes, strict=False)
    except torch._dynamo.exc.UserError as error:
        if "Suggested fixes" not in str(error):
            raise
        fixes = str(error).split("Suggested fixes:", 1)[1].strip().splitlines()
        fixes = [line.strip() for line in fixes if " = " in line]
        refined = torch.export.dynamic_shapes.refine_dynamic_shapes_from_suggested_fixes(
            "Suggested fixes:\n" + "\n".join(fixes), shapes)
    warnings.warn(f"tracing fixed dimensions the model declares symbolic: {'; '.join(fixes)}. The program takes them "
                  "so. A model does this with a Reshape or Concat to a constant size; if onnxruntime runs it at other "
                  "sizes, the conversion fixed them (TORCH_LOGS=+dynamic shows where)", FixedDimensionWarning, stacklevel=3)
    return torch.export.export(module, inputs, dynamic_shapes=refined, strict=False)


def export(
    model: str | os.PathLike | ModelProto | fx.GraphModule,
    *,
    dims: Mapping[str, int | tuple[int | None, int | None]] | None = None,
    example_dims: Mapping[str, int] | None = None,
    strict: bool = True,
    base_dir: str | os.PathLike | None = None,
) -> torch.export.ExportedProgram:
    """Exports ``model`` (a path, a ModelProto, or a module from ``convert(..., integer_shapes=True)``)
    as a ``torch.export.ExportedProgram`` whose parameters and buffers are meta tensors.

    Every ONNX ``dim_param`` of the graph inputs becomes a ``torch.export.Dim`` of that name; a
    dimension the model leaves unnamed is the symbol ``<input>_<axis>``.
    ``dims`` binds a symbol to a size (``{"batch": 1}``) or bounds it (``{"sequence": (1, 4096)}``,
    either side ``None`` for no bound); ``example_dims`` sets the size the example inputs are traced
    with (default 4, moved into the bounds; not 0 or 1, which torch.export would fix). ``strict``: as
    for :func:`convert`. Run the program with real weights through ``ow.materialize(ep.module(),
    path)``. Raises ExportError naming the node where tracing stopped. Where the model fixes a
    dimension it declares symbolic, the program takes it as the model needs, with a
    FixedDimensionWarning naming it.
    """
    from ._convert import convert

    if isinstance(model, fx.GraphModule):
        module = model
    else:
        module = convert(model, strict=strict, base_dir=base_dir, integer_shapes=True)
    fake_mode = FakeTensorMode(shape_env=ShapeEnv())
    with fake_state(module, fake_mode) as meta_state:
        program = _trace(module, fake_mode, dict(dims or {}), dict(example_dims or {}))
    for name in list(program.state_dict):
        program.state_dict[name] = meta_state[name]
    # The example inputs were fakes of this function's FakeTensorMode: meta, as the state, so that
    # torch.export.save writes them and torch.export.load reads them back under weights_only.
    program.example_inputs = tree_map_only(
        torch.Tensor, lambda t: torch.empty(t.shape, dtype=t.dtype, device="meta"), program.example_inputs)
    for name, value in list(program.constants.items()):
        # A constant the trace computed (an index table from torch.from_numpy) is real and stays;
        # one standing for state (fake) becomes meta as the state does.
        if isinstance(value, FakeTensor) or (isinstance(value, torch.Tensor) and value.device.type == "meta"):
            program.constants[name] = torch.empty(value.shape, dtype=value.dtype, device="meta")
    return program


def _trace(module: torch.nn.Module, fake_mode: FakeTensorMode, dims: dict[str, Any], example_dims: dict[str, int]
           ) -> torch.export.ExportedProgram:
    """torch.export of ``module`` (its state already fake) on fake inputs of the declared shapes."""
    symbols: dict[str, torch.export.Dim] = {}
    inputs, dynamic_shapes = [], []
    for placeholder in module.graph.find_nodes(op="placeholder"):
        spec = placeholder.meta.get(ONNX_INPUT)
        if spec is None or spec.dims is None:
            raise ExportError(f"input {placeholder.name!r} has no declared shape to export with")
        shape, dynamic = [], {}
        for axis, dim in enumerate(spec.dims):
            if isinstance(dim, int):
                shape.append(dim)
                continue
            dim = symbol_name(spec.name, axis, dim)  # a size the model leaves unnamed gets a symbol of its own
            bound = dims.get(dim)
            if isinstance(bound, tuple) and bound[0] is not None and bound[0] == bound[1]:
                bound = bound[0]  # a range of one size is that size (torch.export.Dim refuses min == max)
            if isinstance(bound, int):
                shape.append(bound)
                continue
            low, high = bound if bound is not None else (None, None)
            if dim not in symbols:
                symbols[dim] = torch.export.Dim(_dim_name(dim), min=low, max=high)
            shape.append(example_dims.get(dim, _example_size(low, high)))
            dynamic[axis] = symbols[dim]
        try:
            with fake_mode:
                inputs.append(torch.empty(shape, dtype=torch_dtype(spec.elem_type), device="cpu"))
        except RuntimeError as error:  # a declared size no tensor can have (2^62): even a fake one overflows
            raise ExportError(f"input {spec.name!r} of shape {shape} cannot be traced: {error}") from error
        dynamic_shapes.append(dynamic or None)
    shapes: tuple[Any, ...] = tuple(dynamic_shapes)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in inspect.signature(module.forward).parameters.values()):
        shapes = (shapes,)  # torch.export matches a forward(*inputs) to one tuple of inputs
    try:
        program = _export_fixing_pinned_dims(module, tuple(inputs), shapes)
    except Exception as error:  # noqa: BLE001 - named and chained, whatever torch.export raised
        lines = str(error).strip().splitlines()
        where = next((line.strip() for line in lines if line.strip().startswith("While executing")), "")
        raise ExportError(f"torch.export could not trace the module: {type(error).__name__}: "
                          f"{lines[0] if lines else ''}" + (f" ({where})" if where else "")) from error
    return program
