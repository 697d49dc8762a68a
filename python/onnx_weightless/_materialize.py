"""materialize(): real tensors for a weightless module, from the model's files or made up."""

from __future__ import annotations

import os
from typing import Any

import torch
from onnx import ModelProto
from torch import fx, nn

from ._progress import Progress

__all__ = ["materialize"]

_INITS = ("zeros", "random")


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {**dict(module.named_parameters(remove_duplicate=False)), **dict(module.named_buffers(remove_duplicate=False))}


def _replace(module: nn.Module, name: str, value: torch.Tensor) -> None:
    owner_name, _, attribute = name.rpartition(".")
    owner = module.get_submodule(owner_name)
    slots = owner._parameters if attribute in owner._parameters else owner._buffers
    slots[attribute] = value


def _made_up(tensor: torch.Tensor, init: str, device: Any, generator: torch.Generator | None) -> torch.Tensor:
    if init == "zeros" or not (tensor.dtype.is_floating_point or tensor.dtype.is_complex):
        return torch.zeros(tensor.shape, dtype=tensor.dtype, device=device)
    # The initialisation transformers uses for most weights: N(0, 0.02).
    values = torch.randn(tensor.shape, dtype=torch.float32, generator=generator) * 0.02
    return values.to(device=device, dtype=tensor.dtype)


def materialize(
    module: fx.GraphModule,
    source: str | os.PathLike | ModelProto | None = None,
    *,
    device: str | torch.device = "cpu",
    init: str | None = None,
    base_dir: str | os.PathLike | None = None,
    generator: torch.Generator | None = None,
    progress: bool | None = None,
) -> fx.GraphModule:
    """Gives every ``meta`` tensor of ``module`` (from :func:`convert`) real values on ``device``,
    in place, and returns the module; tensors that are already real move to ``device``.

    With ``source`` (the model ``module`` was converted from: a path, or a ModelProto with
    ``base_dir``), the values are the model's own, read from its embedded payloads and external
    files under the rules every external read follows; the module's tensors must match the
    model's by name, shape and dtype (ValueError naming the first differences otherwise), and a
    missing file raises MissingWeightsError. With ``init="zeros"`` or ``init="random"`` (N(0,
    0.02) for floating tensors, zeros otherwise; ``generator`` seeds it) the values are made up,
    for running the architecture without its weights. ``progress`` as for :func:`convert`.

    Tensors of 64 KiB and more stored raw in a file are mapped copy-on-write, not read (see
    _tensors); the rest are read. Tensors a converter reshapes or transposes are copied.
    """
    if not isinstance(module, fx.GraphModule):
        raise TypeError(f"materialize expects a torch.fx.GraphModule, got {type(module).__name__}")
    if (source is None) == (init is None):
        raise ValueError('give either source (the model to read the weights from) or init="zeros"/"random"')
    if init is not None and init not in _INITS:
        raise ValueError(f"init must be one of {_INITS}, got {init!r}")
    state = _state(module)
    if source is not None:
        from ._convert import convert

        reference = _state(convert(source, with_weights=True, base_dir=base_dir, progress=progress))
        differences = [
            f"{name}: {tuple(ours.shape)} {ours.dtype} here, "
            + (f"{tuple(reference[name].shape)} {reference[name].dtype} in the model" if name in reference else "absent from the model")
            for name, ours in state.items()
            if name not in reference or reference[name].shape != ours.shape or reference[name].dtype != ours.dtype
        ]
        # The model may hold more than the module: a program torch.export made drops the state
        # its graph never reads (the modules an integer-shape conversion computes without).
        if differences:
            shown = "; ".join(differences[:5]) + (f"; and {len(differences) - 5} more" if len(differences) > 5 else "")
            raise ValueError(f"the module was not converted from this model: {shown}")
    shown = Progress("materializing", len(state), "tensors", progress)
    # A tensor registered under several names (tied, see _shared_tensors) gets one replacement.
    replacements: dict[int, torch.Tensor] = {}
    for done, (name, tensor) in enumerate(state.items()):
        shown.update(done)
        value = replacements.get(id(tensor))
        if value is None:
            if tensor.device.type == "meta":
                value = reference[name].to(device) if source is not None else _made_up(tensor, init, device, generator)
            else:
                value = tensor.to(device)
            if isinstance(tensor, nn.Parameter):
                value = nn.Parameter(value, requires_grad=tensor.requires_grad)
            replacements[id(tensor)] = value
        _replace(module, name, value)
    shown.close()
    return module
