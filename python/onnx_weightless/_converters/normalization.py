"""Normalizations onnx2torch lacks: GroupNormalization, RMSNormalization, LpNormalization and
MeanVarianceNormalization. Scales and biases are forward inputs, so they may be meta weights."""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, stash_dtype
from .registry import register


class OnnxGroupNormalization(nn.Module, OnnxToTorchModule):
    """Normalizes each group of channels; ``per_group`` scale/bias (version 18) hold one value per
    group, otherwise one per channel."""

    def __init__(self, num_groups: int, epsilon: float, per_group: bool, stash: torch.dtype | None):
        super().__init__()
        self.num_groups = num_groups
        self.epsilon = epsilon
        self.per_group = per_group
        self.stash = stash  # None: compute in X's dtype

    def forward(self, x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        if channels % self.num_groups:
            raise ValueError(f"GroupNormalization: {channels} channels cannot be split in {self.num_groups} groups")
        grouped = x.to(self.stash or x.dtype).reshape(x.shape[0], self.num_groups, -1)
        variance, mean = torch.var_mean(grouped, dim=-1, unbiased=False, keepdim=True)
        normalized = ((grouped - mean) / torch.sqrt(variance + self.epsilon)).reshape(x.shape).to(x.dtype)
        if self.per_group:
            scale = scale.repeat_interleave(channels // self.num_groups)
            bias = bias.repeat_interleave(channels // self.num_groups)
        affine_shape = [channels] + [1] * (x.dim() - 2)
        return normalized * scale.reshape(affine_shape) + bias.reshape(affine_shape)


@register("GroupNormalization", 18)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    # Version 18: scale and bias per group, statistics in X's dtype.
    module = OnnxGroupNormalization(node.attributes["num_groups"], node.attributes.get("epsilon", 1e-5), True, None)
    return converted(node, module)


@register("GroupNormalization", 21)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    module = OnnxGroupNormalization(
        node.attributes["num_groups"], node.attributes.get("epsilon", 1e-5), False, stash_dtype(node)
    )
    return converted(node, module)


class OnnxRMSNormalization(nn.Module, OnnxToTorchModule):
    """x / sqrt(mean(x^2) + epsilon) over the axes from ``axis`` on, times scale."""

    def __init__(self, axis: int, epsilon: float, stash: torch.dtype):
        super().__init__()
        self.axis = axis
        self.epsilon = epsilon
        self.stash = stash

    def forward(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        axes = tuple(range(self.axis % x.dim(), x.dim()))
        values = x.to(self.stash)
        mean_square = values.square().mean(dim=axes, keepdim=True)
        normalized = (values / torch.sqrt(mean_square + self.epsilon)).to(x.dtype)
        return (normalized * scale).to(x.dtype)


@register("RMSNormalization", 23)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    module = OnnxRMSNormalization(
        axis=node.attributes.get("axis", -1), epsilon=node.attributes.get("epsilon", 1e-5), stash=stash_dtype(node)
    )
    return converted(node, module)


class OnnxLpNormalization(nn.Module, OnnxToTorchModule):
    """x / ||x||_p along ``axis``; 0 where the norm is 0."""

    def __init__(self, axis: int, p: int):
        super().__init__()
        self.axis = axis
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.linalg.vector_norm(x, ord=self.p, dim=self.axis, keepdim=True)
        return torch.where(norm == 0, torch.zeros_like(x), x / norm)


@register("LpNormalization", 1, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    p = node.attributes.get("p", 2)
    if p not in (1, 2):
        raise NotImplementedError(f"LpNormalization: p={p} is not supported (ONNX allows 1 or 2)")
    module = OnnxLpNormalization(axis=node.attributes.get("axis", -1), p=p)
    return converted(node, module)


class OnnxMeanVarianceNormalization(nn.Module, OnnxToTorchModule):
    """(x - mean) / (std + 1e-9) over ``axes``, as the ONNX function body computes it."""

    def __init__(self, axes: list[int]):
        super().__init__()
        self.axes = axes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axes = tuple(self.axes)
        mean = x.mean(dim=axes, keepdim=True)
        variance = (x.square().mean(dim=axes, keepdim=True) - mean.square()).clamp(min=0)
        return (x - mean) / (torch.sqrt(variance) + 1e-9)


@register("MeanVarianceNormalization", 9, 13)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    module = OnnxMeanVarianceNormalization(axes=list(node.attributes.get("axes", [0, 2, 3])))
    return converted(node, module)
