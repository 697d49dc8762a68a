"""export(): an ONNX model as a torch.export.ExportedProgram, without its weights.

The model is converted weightless with integer shapes (``convert(..., integer_shapes=True)``).
torch.export then traces it under a FakeTensorMode in which every parameter, buffer and input is a
fake CPU tensor: nothing is allocated, and every tensor, weights and the ones operators create,
is on one device. Each ONNX ``dim_param`` is a ``torch.export.Dim`` of that name. The program's
state is meta tensors.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Mapping
from typing import Any

import torch
from onnx import ModelProto
from torch import fx
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.symbolic_shapes import ShapeEnv

from ._builder import ONNX_INPUT
from ._dtypes import torch_dtype
from ._errors import ExportError

__all__ = ["export"]

#: Size of a symbolic dimension in the example inputs when ``example_dims`` does not say: neither 0
#: nor 1, which torch.export would specialise on.
DEFAULT_EXAMPLE_SIZE = 4


def _dim_name(symbol: str) -> str:
    """A Python identifier for an ONNX symbol ("batch_size", "unk__54", "past_sequence_length + 1")."""
    name = re.sub(r"\W", "_", symbol)
    return name if name.isidentifier() else f"d_{name}"


def _fake_state(module: torch.nn.Module, fake_mode: FakeTensorMode) -> dict[str, torch.Tensor]:
    """Replaces every tensor of ``module``'s state by a fake CPU tensor of ``fake_mode``, in place;
    returns the meta tensors of the same names, shapes and dtypes (the program's state)."""
    meta: dict[str, torch.Tensor] = {}
    for owner_name, owner in module.named_modules():
        for slots in (owner._parameters, owner._buffers):
            for name, tensor in list(slots.items()):
                if tensor is None:
                    continue
                with fake_mode:
                    fake = torch.empty(tensor.shape, dtype=tensor.dtype, device="cpu")
                slots[name] = torch.nn.Parameter(fake, tensor.requires_grad) if isinstance(tensor, torch.nn.Parameter) else fake
                empty = torch.empty(tensor.shape, dtype=tensor.dtype, device="meta")
                meta[f"{owner_name}.{name}" if owner_name else name] = (
                    torch.nn.Parameter(empty, tensor.requires_grad) if isinstance(tensor, torch.nn.Parameter) else empty)
    return meta


def export(
    model: str | os.PathLike | ModelProto | fx.GraphModule,
    *,
    dims: Mapping[str, int | tuple[int, int]] | None = None,
    example_dims: Mapping[str, int] | None = None,
    strict: bool = True,
    base_dir: str | os.PathLike | None = None,
) -> torch.export.ExportedProgram:
    """Exports ``model`` (a path, a ModelProto, or a module from ``convert(..., integer_shapes=True)``)
    as a ``torch.export.ExportedProgram`` whose parameters and buffers are meta tensors.

    Every ONNX ``dim_param`` of the graph inputs becomes a ``torch.export.Dim`` of that name; a
    dimension the model leaves unnamed is the symbol ``<input>_<axis>``.
    ``dims`` binds a symbol to a size (``{"batch": 1}``) or bounds it (``{"sequence": (1, 4096)}``);
    ``example_dims`` sets the size the example inputs are traced with (default 4). ``strict``: as
    for :func:`convert`. Run the program with real weights through ``ow.materialize(ep.module(),
    path)``. Raises ExportError naming the node where tracing stopped.
    """
    from ._convert import convert

    if isinstance(model, fx.GraphModule):
        module = model
    else:
        module = convert(model, strict=strict, base_dir=base_dir, integer_shapes=True)
    fake_mode = FakeTensorMode(shape_env=ShapeEnv())
    meta_state = _fake_state(module, fake_mode)
    dims, example_dims = dict(dims or {}), dict(example_dims or {})
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
            if dim is None:  # a size the model leaves unnamed gets a symbol of its own
                dim = f"{spec.name}_{axis}"
            bound = dims.get(dim)
            if isinstance(bound, int):
                shape.append(bound)
                continue
            if dim not in symbols:
                low, high = bound if bound is not None else (None, None)
                symbols[dim] = torch.export.Dim(_dim_name(dim), **({"min": low, "max": high} if bound else {}))
            shape.append(example_dims.get(dim, DEFAULT_EXAMPLE_SIZE))
            dynamic[axis] = symbols[dim]
        with fake_mode:
            inputs.append(torch.empty(shape, dtype=torch_dtype(spec.elem_type), device="cpu"))
        dynamic_shapes.append(dynamic or None)
    shapes: tuple[Any, ...] = tuple(dynamic_shapes)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in inspect.signature(module.forward).parameters.values()):
        shapes = (shapes,)  # torch.export matches a forward(*inputs) to one tuple of inputs
    try:
        program = torch.export.export(module, tuple(inputs), dynamic_shapes=shapes, strict=False)
    except Exception as error:  # noqa: BLE001 - named and chained, whatever torch.export raised
        lines = str(error).strip().splitlines()
        where = next((line.strip() for line in lines if line.strip().startswith("While executing")), "")
        raise ExportError(f"torch.export could not trace the module: {type(error).__name__}: "
                          f"{lines[0] if lines else ''}" + (f" ({where})" if where else "")) from error
    for name in list(program.state_dict):
        program.state_dict[name] = meta_state[name]
    for name, value in list(program.constants.items()):
        if isinstance(value, torch.Tensor):
            program.constants[name] = torch.empty(value.shape, dtype=value.dtype, device="meta")
    return program
