"""ai.onnx.preview.training's optimizer steps: Adagrad, Momentum and Adam (version 1). Each takes
the learning rate R and update count T, then n tensors X, their gradients G and their optimizer
states, and returns the updated tensors and states, as the spec writes it. Computed with tensors
only (the T > 0 cases with torch.where), so they run on meta inputs too."""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register

_DOMAIN = "ai.onnx.preview.training"
_MOMENTUM_MODES = ("standard", "nesterov")


def _groups(values: tuple[torch.Tensor, ...], count: int) -> list[tuple[torch.Tensor, ...]]:
    """The inputs after R and T as ``count`` equal groups (X, G, then each state), per tensor."""
    per_group = len(values) // count
    if per_group * count != len(values):
        raise ValueError(f"{len(values)} optimizer inputs do not split into {count} groups")
    return [tuple(values[group * per_group + i] for group in range(count)) for i in range(per_group)]


def _outputs(updates: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
    """The updates (per tensor: the new X, then each new state) in ONNX's order: every new X, then
    every first state, ..."""
    return tuple(update[k] for k in range(len(updates[0])) for update in updates)


class OnnxAdagrad(nn.Module, OnnxToTorchModule):
    def __init__(self, decay_factor: float, epsilon: float, norm_coefficient: float) -> None:
        super().__init__()
        self.decay_factor, self.epsilon, self.norm_coefficient = decay_factor, epsilon, norm_coefficient

    def forward(self, rate: torch.Tensor, step: torch.Tensor, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        decayed = rate / (1 + step.to(rate.dtype) * self.decay_factor)
        updates = []
        for x, gradient, squares in _groups(values, 3):
            regularized = self.norm_coefficient * x + gradient
            new_squares = squares + regularized * regularized
            updates.append((x - decayed * regularized / (torch.sqrt(new_squares) + self.epsilon), new_squares))
        return _outputs(updates)


class OnnxMomentum(nn.Module, OnnxToTorchModule):
    def __init__(self, alpha: float, beta: float, nesterov: bool, norm_coefficient: float) -> None:
        super().__init__()
        self.alpha, self.beta, self.nesterov, self.norm_coefficient = alpha, beta, nesterov, norm_coefficient

    def forward(self, rate: torch.Tensor, step: torch.Tensor, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        beta = torch.where(step > 0, self.beta, 1.0).to(rate.dtype)  # the first step takes the whole gradient
        updates = []
        for x, gradient, velocity in _groups(values, 3):
            regularized = self.norm_coefficient * x + gradient
            new_velocity = self.alpha * velocity + beta * regularized
            direction = regularized + self.alpha * new_velocity if self.nesterov else new_velocity
            updates.append((x - rate * direction, new_velocity))
        return _outputs(updates)


class OnnxAdam(nn.Module, OnnxToTorchModule):
    def __init__(self, alpha: float, beta: float, epsilon: float, norm_coefficient: float, norm_coefficient_post: float) -> None:
        super().__init__()
        self.alpha, self.beta, self.epsilon = alpha, beta, epsilon
        self.norm_coefficient, self.norm_coefficient_post = norm_coefficient, norm_coefficient_post

    def forward(self, rate: torch.Tensor, step: torch.Tensor, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        steps = step.to(torch.float64)
        corrected = rate * torch.sqrt(1 - self.beta**steps) / (1 - self.alpha**steps)  # bias correction
        adjusted = torch.where(step > 0, corrected.to(rate.dtype), rate)
        updates = []
        for x, gradient, velocity, squares in _groups(values, 4):
            regularized = self.norm_coefficient * x + gradient
            new_velocity = self.alpha * velocity + (1 - self.alpha) * regularized
            new_squares = self.beta * squares + (1 - self.beta) * regularized * regularized
            new_x = x - adjusted * new_velocity / (torch.sqrt(new_squares) + self.epsilon)
            updates.append(((1 - self.norm_coefficient_post) * new_x, new_velocity, new_squares))
        return _outputs(updates)


@register("Adagrad", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    a = node.attributes
    return converted(node, OnnxAdagrad(a.get("decay_factor", 0.0), a.get("epsilon", 1e-6), a.get("norm_coefficient", 0.0)))


@register("Momentum", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    a = node.attributes
    mode = a.get("mode")
    if mode not in _MOMENTUM_MODES:
        raise NotImplementedError(f"Momentum mode={mode!r} is not one of {_MOMENTUM_MODES}")
    for name in ("alpha", "beta", "norm_coefficient"):
        if name not in a:
            raise ValueError(f"Momentum needs its {name} attribute")
    return converted(node, OnnxMomentum(a["alpha"], a["beta"], mode == "nesterov", a["norm_coefficient"]))


@register("Adam", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    a = node.attributes
    return converted(node, OnnxAdam(a.get("alpha", 0.9), a.get("beta", 0.999), a.get("epsilon", 1e-6),
                                    a.get("norm_coefficient", 0.0), a.get("norm_coefficient_post", 0.0)))
