"""Running a weightless GraphModule on meta inputs.

torch refuses to mix meta and CPU tensors in one op, while a weightless module holds both: meta
weights, and small real constants some of which are read as values (Reshape's shape, Slice's
starts). The interpreter below runs node by node: values derived from shapes stay real (Shape of a
meta tensor is computed on its size, not on its data), and an op that mixes devices is re-run with
its real operands moved to meta, which is exact for anything that only computes with them.
"""

from __future__ import annotations

from typing import Any

import torch
from onnx2torch.node_converters.shape import OnnxShape
from torch import fx
from torch.func import functional_call
from torch.utils._pytree import tree_flatten, tree_map

__all__ = ["meta_forward"]


def _to_meta(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.device.type != "meta":
        return value.to("meta")
    return value


def _mixes_devices(values: list[Any]) -> bool:
    devices = {v.device.type for v in values if isinstance(v, torch.Tensor)}
    return "meta" in devices and len(devices) > 1


class _MetaInterpreter(fx.Interpreter):
    def call_module(self, target: str, args: Any, kwargs: Any) -> Any:
        module = self.fetch_attr(target)
        if isinstance(module, OnnxShape):
            # Shape reads sizes only: give it a data-free CPU stand-in so the shape stays real.
            (source,) = args
            stand_in = torch.empty((), dtype=source.dtype).expand(source.shape)
            return module(stand_in)
        try:
            return module(*args, **kwargs)
        except (RuntimeError, NotImplementedError, TypeError):
            state = dict(module.named_parameters()) | dict(module.named_buffers())
            flat, _ = tree_flatten((args, kwargs))
            if not _mixes_devices(flat + list(state.values())):
                raise
            meta_state = {name: _to_meta(value) for name, value in state.items()}
            meta_args, meta_kwargs = tree_map(_to_meta, (args, kwargs))
            return functional_call(module, meta_state, meta_args, meta_kwargs, strict=False)

    def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
        try:
            return super().call_function(target, args, kwargs)
        except (RuntimeError, NotImplementedError):
            flat, _ = tree_flatten((args, kwargs))
            if not _mixes_devices(flat):
                raise
            meta_args, meta_kwargs = tree_map(_to_meta, (args, kwargs))
            return super().call_function(target, meta_args, meta_kwargs)


def meta_forward(module: fx.GraphModule, *inputs: Any) -> Any:
    """Runs ``module`` (from :func:`convert`) on ``inputs`` (meta or real tensors) without
    allocating activations; returns what ``module(*inputs)`` would, with meta tensors.

    Inputs whose values matter (token ids feeding a Gather, say) may be given as real tensors;
    everything else may be ``torch.empty(shape, dtype=..., device="meta")``.
    """
    if not isinstance(module, fx.GraphModule):
        raise TypeError(f"meta_forward expects a torch.fx.GraphModule, got {type(module).__name__}")
    with torch.no_grad():
        result = _MetaInterpreter(module).run(*inputs)
    return tree_map(_to_meta, result)


