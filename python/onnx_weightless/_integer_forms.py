"""The functions a graph converted with integer shapes calls (``_builder``): host values computed as
Python integers (``_host_values``) and the operators that read them, given as Python values.

Every function here is module-level, so torch.fx's generated code can name it, and takes Python
values and tensors only: no ``.tolist()``/``.item()`` of a tensor, so torch.export's symbolic
sizes flow through them.
"""

from __future__ import annotations

from typing import Any

import torch

from ._host_values import HOST_OPS, HostValue

__all__ = ["INTEGER_FORMS", "host_apply", "host_shape", "host_size", "host_tensor", "integer_apply"]


def host_shape(x: torch.Tensor, start: int | None, end: int | None) -> list[Any]:
    """ONNX Shape (with its start and end) as a list of sizes."""
    return list(x.shape[start:end])


def host_size(x: torch.Tensor) -> Any:
    return x.numel()


def host_apply(op_type: str, attributes: dict[str, Any], *inputs: HostValue) -> HostValue:
    return HOST_OPS[op_type](attributes, *inputs)


_DTYPES = {"int64": torch.int64, "int32": torch.int32, "bool": torch.bool, "float32": torch.float32,
           "float64": torch.float64, "float16": torch.float16}


def host_tensor(value: HostValue, dtype: str) -> torch.Tensor:
    """A host value as the tensor ONNX has, for an operator that computes with it."""
    return torch.tensor(value, dtype=_DTYPES[dtype])


def _axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


def _as_list(value: HostValue) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _reshape(attributes: dict[str, Any], x: torch.Tensor, shape: HostValue) -> torch.Tensor:
    sizes = _as_list(shape)
    if not attributes.get("allowzero", 0):  # 0 copies the input's size at that position
        sizes = [x.shape[i] if isinstance(size, int) and size == 0 else size for i, size in enumerate(sizes)]
    return x.reshape(sizes)


def _expand(attributes: dict[str, Any], x: torch.Tensor, shape: HostValue) -> torch.Tensor:
    sizes = _as_list(shape)
    rank = max(len(sizes), x.dim())
    ours = [1] * (rank - x.dim()) + list(x.shape)
    theirs = [1] * (rank - len(sizes)) + sizes
    # Bidirectional broadcasting: a 1 on either side takes the other side's size.
    target = [a if isinstance(b, int) and b == 1 else b for a, b in zip(ours, theirs)]
    return x.reshape(ours).expand(target)


def _constant_of_shape(attributes: dict[str, Any], shape: HostValue) -> torch.Tensor:
    return torch.full(_as_list(shape), attributes["value"], dtype=attributes["dtype"])


def _range(attributes: dict[str, Any], start: HostValue, limit: HostValue, delta: HostValue) -> torch.Tensor:
    return torch.arange(start, limit, delta, dtype=attributes["dtype"])


def _slice(attributes: dict[str, Any], x: torch.Tensor, starts: HostValue, ends: HostValue,
           axes: HostValue = None, steps: HostValue = None) -> torch.Tensor:
    starts, ends = _as_list(starts), _as_list(ends)
    axes = list(range(len(starts))) if axes is None else _as_list(axes)
    steps = [1] * len(starts) if steps is None else _as_list(steps)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        if step < 0:
            raise NotImplementedError("Slice with a negative step and integer shapes")
        # aten.slice clamps as ONNX does, and only the sliced axes make an op (indexing with a
        # tuple adds one per full slice when sizes are symbolic).
        x = torch.ops.aten.slice.Tensor(x, _axis(axis, x.dim()), start, end, step)
    return x


def _unsqueeze(attributes: dict[str, Any], x: torch.Tensor, axes: HostValue) -> torch.Tensor:
    axes = _as_list(axes)
    rank = x.dim() + len(axes)
    for axis in sorted(_axis(a, rank) for a in axes):
        x = x.unsqueeze(axis)
    return x


def _squeeze(attributes: dict[str, Any], x: torch.Tensor, axes: HostValue = None) -> torch.Tensor:
    if axes is None:
        return x.squeeze()
    return x.squeeze(tuple(_axis(a, x.dim()) for a in _as_list(axes)))


def _gather(attributes: dict[str, Any], x: torch.Tensor, indices: HostValue) -> torch.Tensor:
    axis = _axis(attributes.get("axis", 0), x.dim())
    if isinstance(indices, list):
        index = torch.tensor([i + x.shape[axis] if i < 0 else i for i in indices], dtype=torch.int64, device=x.device)
        return x.index_select(axis, index)
    return x.select(axis, indices)


def _tile(attributes: dict[str, Any], x: torch.Tensor, repeats: HostValue) -> torch.Tensor:
    return x.repeat(_as_list(repeats))


_REDUCTIONS = {
    "ReduceMean": lambda x, dims, keep: x.mean(dim=dims, keepdim=keep),
    "ReduceSum": lambda x, dims, keep: x.sum(dim=dims, keepdim=keep),
    "ReduceMax": lambda x, dims, keep: x.amax(dim=dims, keepdim=keep),
    "ReduceMin": lambda x, dims, keep: x.amin(dim=dims, keepdim=keep),
    "ReduceProd": lambda x, dims, keep: _product_over(x, dims, keep),
    "ReduceSumSquare": lambda x, dims, keep: (x * x).sum(dim=dims, keepdim=keep),
    "ReduceL1": lambda x, dims, keep: x.abs().sum(dim=dims, keepdim=keep),
    "ReduceL2": lambda x, dims, keep: (x * x).sum(dim=dims, keepdim=keep).sqrt(),
    "ReduceLogSum": lambda x, dims, keep: x.sum(dim=dims, keepdim=keep).log(),
    "ReduceLogSumExp": lambda x, dims, keep: torch.logsumexp(x, dim=dims, keepdim=keep),
}


def _product_over(x: torch.Tensor, dims: tuple[int, ...], keep: bool) -> torch.Tensor:
    for axis in sorted(dims, reverse=True):
        x = x.prod(dim=axis, keepdim=keep)
    return x


def _reduction(op_type: str):
    def reduce(attributes: dict[str, Any], x: torch.Tensor, axes: HostValue = None) -> torch.Tensor:
        """Reduce*-18 (13 for ReduceSum) with its axes as an input: none reduces every axis, unless
        noop_with_empty_axes asks for the identity."""
        keep = bool(attributes.get("keepdims", 1))
        axes = [] if axes is None else _as_list(axes)
        if not axes:
            if attributes.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.dim()))
        return _REDUCTIONS[op_type](x, tuple(_axis(a, x.dim()) for a in axes), keep)

    return reduce


#: op_type -> (attributes, *inputs, with host values at the op's value-input positions) -> output.
INTEGER_FORMS = {
    "Reshape": _reshape,
    "Expand": _expand,
    "ConstantOfShape": _constant_of_shape,
    "Range": _range,
    "Slice": _slice,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Gather": _gather,
    "Tile": _tile,
    **{op_type: _reduction(op_type) for op_type in _REDUCTIONS},
}


def integer_apply(op_type: str, attributes: dict[str, Any], *inputs: Any) -> torch.Tensor:
    return INTEGER_FORMS[op_type](attributes, *inputs)
