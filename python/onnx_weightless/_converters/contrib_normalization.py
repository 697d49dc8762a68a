"""onnxruntime's layer normalizations: SkipLayerNormalization, SkipSimplifiedLayerNormalization and
EmbedLayerNormalization (com.microsoft), and SimplifiedLayerNormalization and LayerNormalization,
which onnxruntime registers in the default domain at version 1 (LayerNormalization became an ONNX
operator only at opset 17).

Semantics (checked against onnxruntime's CPU kernels):
- Skip*: h = input + skip (+ bias), normalized over the last axis; outputs (normalized * gamma
  (+ beta), mean, inv_std_var, h). Statistics are float32, of shape [..., 1]; the simplified
  (RMS) variant has no mean and onnxruntime writes zeros there. epsilon defaults to 1e-12.
- SimplifiedLayerNormalization: RMS normalization over axes [axis, rank), outputs (Y, inv_std_var);
  LayerNormalization: outputs (Y, Mean, InvStdDev). epsilon defaults to 1e-5, statistics are
  computed in stash_type (float by default).
- EmbedLayerNormalization: word[input_ids] + position[position_ids or 0..S-1] (+ segment[segment_ids])
  layer-normalized (epsilon 1e-12); outputs (output, mask_index = number of non-zero mask entries per
  row as int32, zeros without a mask, embedding_sum).
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, normalize, stash_dtype
from .registry import register

_DOMAIN = "com.microsoft"
_FUSED_EPSILON = 1e-12  # onnxruntime's default for the fused Skip* and Embed* ops
_LAYER_NORM_EPSILON = 1e-5


def _stash_for(x: torch.Tensor) -> torch.dtype:
    """The fused ops keep float32 statistics, in float64 for float64 inputs."""
    return torch.promote_types(x.dtype, torch.float32)


class _OutputCount(nn.Module, OnnxToTorchModule):
    """A module returning the node's first ``outputs`` results (one tensor when it has one)."""

    def __init__(self, outputs: int) -> None:
        super().__init__()
        self.outputs = outputs

    def _select(self, results: tuple[torch.Tensor, ...]) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return results[0] if self.outputs == 1 else results[: self.outputs]


class SkipLayerNorm(_OutputCount):
    """SkipLayerNormalization: (output, mean, inv_std_var, input_skip_bias_sum)."""

    def __init__(self, epsilon: float, outputs: int) -> None:
        super().__init__(outputs)
        self.epsilon = epsilon

    def forward(
        self,
        x: torch.Tensor,
        skip: torch.Tensor,
        gamma: torch.Tensor,
        beta: torch.Tensor | None = None,
        bias: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        summed = x + skip if bias is None else x + skip + bias
        normalized, mean, inv_std = normalize(summed, -1, self.epsilon, rms=False, stash=_stash_for(summed))
        y = normalized * gamma if beta is None else normalized * gamma + beta
        return self._select((y, mean.float(), inv_std.float(), summed))


class SkipSimplifiedLayerNorm(_OutputCount):
    """SkipSimplifiedLayerNormalization: (output, zeros for mean, inv_std_var, input_skip_bias_sum)."""

    def __init__(self, epsilon: float, outputs: int) -> None:
        super().__init__(outputs)
        self.epsilon = epsilon

    def forward(
        self, x: torch.Tensor, skip: torch.Tensor, gamma: torch.Tensor, bias: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        summed = x + skip if bias is None else x + skip + bias
        normalized, _, inv_std = normalize(summed, -1, self.epsilon, rms=True, stash=_stash_for(summed))
        inv_std = inv_std.float()
        return self._select((normalized * gamma, torch.zeros_like(inv_std), inv_std, summed))


class StashedLayerNorm(_OutputCount):
    """LayerNormalization (Y, Mean, InvStdDev) or, ``rms``, SimplifiedLayerNormalization
    (Y, inv_std_var), normalizing axes [axis, rank) with statistics in ``stash``."""

    def __init__(self, axis: int, epsilon: float, stash: torch.dtype, rms: bool, outputs: int) -> None:
        super().__init__(outputs)
        self.axis = axis
        self.epsilon = epsilon
        self.stash = stash
        self.rms = rms

    def forward(
        self, x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        normalized, mean, inv_std = normalize(x, self.axis, self.epsilon, self.rms, self.stash)
        y = normalized * scale if bias is None else normalized * scale + bias
        return self._select((y, inv_std) if self.rms else (y, mean, inv_std))


class EmbedLayerNorm(_OutputCount):
    """EmbedLayerNormalization: (output, mask_index, embedding_sum)."""

    def __init__(self, epsilon: float, outputs: int) -> None:
        super().__init__(outputs)
        self.epsilon = epsilon

    def forward(
        self,
        input_ids: torch.Tensor,
        segment_ids: torch.Tensor | None = None,
        word_embedding: torch.Tensor | None = None,
        position_embedding: torch.Tensor | None = None,
        segment_embedding: torch.Tensor | None = None,
        gamma: torch.Tensor | None = None,
        beta: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        batch, sequence = input_ids.shape
        if position_ids is None:
            position_ids = torch.arange(sequence, device=input_ids.device).unsqueeze(0)
        embedding = word_embedding[input_ids.long()] + position_embedding[position_ids.long()]
        if segment_ids is not None:
            embedding = embedding + segment_embedding[segment_ids.long()]
        normalized, _, _ = normalize(embedding, -1, self.epsilon, rms=False, stash=_stash_for(embedding))
        y = normalized * gamma + beta
        if mask is None:
            mask_index = torch.zeros(batch, dtype=torch.int32, device=input_ids.device)
        else:
            mask_index = (mask != 0).sum(dim=1, dtype=torch.int32)
        return self._select((y, mask_index, embedding))


@register("SkipLayerNormalization", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    epsilon = node.attributes.get("epsilon", _FUSED_EPSILON)
    return converted(node, SkipLayerNorm(epsilon, len(node.output_values)))


@register("SkipSimplifiedLayerNormalization", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    epsilon = node.attributes.get("epsilon", _FUSED_EPSILON)
    return converted(node, SkipSimplifiedLayerNorm(epsilon, len(node.output_values)))


def _stashed(node: OnnxNode, rms: bool) -> OperationConverterResult:
    attributes = node.attributes
    module = StashedLayerNorm(
        attributes.get("axis", -1), attributes.get("epsilon", _LAYER_NORM_EPSILON), stash_dtype(node), rms,
        len(node.output_values),
    )
    return converted(node, module)


# Default domain, version 1: resolved for models whose opset has no ONNX schema of that name.
@register("SimplifiedLayerNormalization", 1)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return _stashed(node, rms=True)


@register("LayerNormalization", 1)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return _stashed(node, rms=False)


@register("EmbedLayerNormalization", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    epsilon = node.attributes.get("epsilon", _FUSED_EPSILON)
    return converted(node, EmbedLayerNorm(epsilon, len(node.output_values)))
