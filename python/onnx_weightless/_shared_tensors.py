"""One ONNX tensor, one torch tensor: ties the copies converters make, and accounts for the rest.

onnx2torch's layer converters (LayerNorm, Linear, Conv...) each put the initializer they are given
into their own Parameter, so an initializer two layers read (a shared LayerNorm scale, a tied
projection) becomes two parameters, counted twice and no longer tied. The conversion hands every
converter the same torch tensor for the same ONNX tensor (see _session.Conversion.tensor), so the
copies share one storage; ``tie`` then makes them one Parameter (or one buffer) object, registered
under every name onnx2torch gives it, as tied weights are in torch. ``gm.parameters()`` counts it
once; ``state_dict()`` still lists every name.

Some converters fold an ONNX tensor into a module attribute (ReduceMean's axes, a Pow exponent)
and keep no tensor of it; unused initializers are not converted at all. ``TENSORS_NOT_HELD`` in
``gm.meta`` lists those by name with their element counts, so the ONNX tensor count
(:func:`inspect`'s ``parameters``) equals the module's tensor elements plus the tensors it does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from onnx import GraphProto, TensorProto
from torch import nn

from ._graphs import node_subgraphs
from ._tensors import _element_count

__all__ = ["TENSORS_NOT_HELD", "tie", "onnx_tensors", "not_held"]

#: GraphModule.meta key: {ONNX tensor name: elements} for the model's tensors the module holds no tensor of.
TENSORS_NOT_HELD = "onnx_weightless.tensors_not_held"


def _view_key(tensor: torch.Tensor) -> tuple:
    return (
        tensor.untyped_storage()._cdata,
        tensor.storage_offset(),
        tuple(tensor.shape),
        tensor.stride(),
        tensor.dtype,
        tensor.device,
    )


def tie(root: nn.Module) -> None:
    """Makes parameters (and buffers) that are the same view of one storage the same object."""
    first: dict[tuple, torch.Tensor] = {}
    for module in root.modules():
        for slots in (module._parameters, module._buffers):
            for name, tensor in slots.items():
                if tensor is None:
                    continue
                key = (isinstance(tensor, nn.Parameter),) + _view_key(tensor)
                kept = first.setdefault(key, tensor)
                if kept is not tensor:
                    slots[name] = kept


def onnx_tensors(graph: GraphProto) -> Iterable[TensorProto]:
    """The initializers and Constant values of the graph and its subgraphs: the tensors the
    model's index counts."""
    yield from graph.initializer
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            for attribute in node.attribute:
                if attribute.name == "value" and attribute.HasField("t"):
                    yield attribute.t
        if node.attribute:
            for subgraph in node_subgraphs(node):
                yield from onnx_tensors(subgraph)


def not_held(root: nn.Module, tensors: Iterable[TensorProto], storages: Mapping[int, set[int]]) -> dict[str, int]:
    """The ONNX tensors of ``tensors`` no parameter or buffer of ``root`` is a view of;
    ``storages`` maps id(proto) to the storages of the tensors the conversion gave for it."""
    held = {
        tensor.untyped_storage()._cdata
        for module in root.modules()
        for slots in (module._parameters, module._buffers)
        for tensor in slots.values()
        if tensor is not None
    }
    return {
        proto.name or f"<constant {position}>": _element_count(proto)
        for position, proto in enumerate(tensors)
        if not storages.get(id(proto), set()) & held
    }
