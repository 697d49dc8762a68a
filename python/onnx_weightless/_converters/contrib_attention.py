"""onnxruntime's fused attention (com.microsoft): Attention (packed QKV projection, as
onnxruntime.transformers fuses BERT and GPT-2) and MultiHeadAttention (separate Q, K, V).

Semantics (checked against onnxruntime's CPU kernels):
- scores = Q K^T * scale (scale defaults to 1/sqrt(head size)), plus an additive mask, plus
  attention_bias; causal ("unidirectional") masking removes keys after the query's position
  (past tokens included); output = softmax(scores) V, heads concatenated.
- Masks add ``mask_filter_value`` (default -10000) to the scores of masked keys: raw masks
  ([B, T] or [B, S, T]) mask where they are 0; 1-D masks give, per batch, the end of the valid
  keys ([B]) or their end and start ([2B]).
- past/present: Attention's past is K and V stacked, [2, B, N, P, H]; present is the same with the
  new tokens appended. MultiHeadAttention has past_key/past_value and present_key/present_value
  (onnxruntime 1.32's CPU kernel computes something else from a past when the presents are not
  requested; we attend to the past either way).
- MultiHeadAttention's bias [Dq + Dk + Dv] is added to Q, and to K and V when they come as
  [B, L, D]; K and V given in heads ([B, N, L, H]) are taken as projected already.
Features of the GPU kernels (shared past/present buffers, rotary embedding inside Attention,
beam-search cache indirection, packed QKV) raise NotImplementedError at conversion; packed KV
and Megatron's 4-D masks, which onnxruntime's CPU kernels reject too, raise it when met.
"""

from __future__ import annotations

import math

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted, given, rotate_pairs, split_heads
from .registry import register

_DOMAIN = "com.microsoft"
_MASK_FILTER_VALUE = -10000.0


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """[B, N, S, H] -> [B, S, N*H]."""
    batch, heads, sequence, size = x.shape
    return x.transpose(1, 2).reshape(batch, sequence, heads * size)


def additive_mask(mask: torch.Tensor, batch: int, total: int, fill: float, dtype: torch.dtype) -> torch.Tensor:
    """The [B, 1, S or 1, T] bias of an onnxruntime mask: ``fill`` where masked, 0 elsewhere."""
    if mask.dim() == 1:
        if mask.shape[0] not in (batch, 2 * batch):  # [3B + 2]: the GPU kernels' cumulative lengths
            raise NotImplementedError(
                f"com.microsoft attention with a 1-D mask of {mask.shape[0]} entries is not supported"
            )
        positions = torch.arange(total, device=mask.device)
        masked = positions >= mask[:batch, None]
        if mask.shape[0] == 2 * batch:  # ends, then starts
            masked = masked | (positions < mask[batch:, None])
        return (masked.to(dtype) * fill)[:, None, None, :]
    if mask.dim() == 2:  # [B, T]
        mask = mask[:, None, None, :]
    elif mask.dim() == 3:  # [B, S, T]
        mask = mask[:, None]
    else:
        # Megatron's [B, 1, max, max] mask: onnxruntime's CPU kernel rejects it, so there is no
        # reference to match.
        raise NotImplementedError(f"com.microsoft attention with a {mask.dim()}-D mask is not supported")
    return (1 - mask.to(dtype)) * fill


class _HeadsAttention(nn.Module, OnnxToTorchModule):
    """What Attention and MultiHeadAttention share: attention of [B, N, S, H] heads under a mask."""

    def __init__(
        self, num_heads: int, scale: float | None, causal: bool, mask_filter_value: float, outputs: int
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = scale
        self.causal = causal
        self.mask_filter_value = mask_filter_value
        self.outputs = outputs

    def attend(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None,
        attention_bias: torch.Tensor | None,
    ) -> torch.Tensor:
        """softmax(q k^T * scale + masks) v, heads merged: [B, S, N*Hv]. k and v include the past."""
        batch, _, sequence, size = q.shape
        total = k.shape[2]
        scale = self.scale if self.scale is not None else 1 / math.sqrt(size)
        scores = torch.matmul(q, k.transpose(-1, -2)) * scale
        if mask is not None:
            scores = scores + additive_mask(mask, batch, total, self.mask_filter_value, scores.dtype)
        if attention_bias is not None:
            scores = scores + attention_bias
        if self.causal:
            # Query i sits at position total - sequence + i, after the past.
            allowed = torch.ones(sequence, total, dtype=torch.bool, device=scores.device).tril(total - sequence)
            scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        stable = torch.promote_types(scores.dtype, torch.float32)  # half precision softmax in float32
        probabilities = torch.softmax(scores.to(stable), dim=-1).to(v.dtype)
        return merge_heads(torch.matmul(probabilities, v))

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, scale={self.scale}, causal={self.causal}"


class PackedQkvAttention(_HeadsAttention):
    """Attention: Q, K, V projected from one input by one packed weight; outputs (output, present)."""

    def __init__(self, qkv_hidden_sizes: list[int] | None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.qkv_hidden_sizes = qkv_hidden_sizes

    def forward(
        self,
        x: torch.Tensor,
        weights: torch.Tensor,
        bias: torch.Tensor | None = None,
        mask_index: torch.Tensor | None = None,
        past: torch.Tensor | None = None,
        attention_bias: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        projected = torch.matmul(x, weights)
        if bias is not None:
            projected = projected + bias
        sizes = self.qkv_hidden_sizes or [projected.shape[-1] // 3] * 3
        q, k, v = (split_heads(part, self.num_heads) for part in projected.split(sizes, dim=-1))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        output = self.attend(q, k, v, mask_index, attention_bias)
        return output if self.outputs == 1 else (output, torch.stack([k, v]))


class MultiHeadAttention(_HeadsAttention):
    """MultiHeadAttention: Q [B, S, D], K and V as [B, L, D] or [B, N, L, H]; outputs (output,
    present_key, present_value)."""

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor | None = None,  # absent when key packs both
        bias: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        attention_bias: torch.Tensor | None = None,
        past_key: torch.Tensor | None = None,
        past_value: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if key.dim() == 5:
            raise NotImplementedError(
                "com.microsoft::MultiHeadAttention with packed key and value is not supported "
                "(onnxruntime's CPU kernel has no reference for it either)"
            )
        if bias is not None:
            width = query.shape[-1]
            q_bias, k_bias, v_bias = bias.split([width, width, bias.shape[0] - 2 * width])
            query = query + q_bias
            if key.dim() == 3:  # keys already in heads come projected with their bias
                key, value = key + k_bias, value + v_bias
        q = split_heads(query, self.num_heads)
        k = split_heads(key, self.num_heads) if key.dim() == 3 else key
        v = split_heads(value, self.num_heads) if value.dim() == 3 else value
        if past_key is not None:
            k = torch.cat([past_key, k], dim=2)
            v = torch.cat([past_value, v], dim=2)
        output = self.attend(q, k, v, key_padding_mask, attention_bias)
        return output if self.outputs == 1 else (output, k, v)[: self.outputs]


def _common(node: OnnxNode) -> dict[str, object]:
    attributes = node.attributes
    return {
        "num_heads": attributes["num_heads"],
        "scale": attributes.get("scale") or None,  # 0 means the default
        "causal": bool(attributes.get("unidirectional", 0)),
        "mask_filter_value": attributes.get("mask_filter_value", _MASK_FILTER_VALUE),
    }


def _unsupported(node: OnnxNode, attribute: str) -> None:
    value = node.attributes.get(attribute, 0)
    if value:
        raise NotImplementedError(f"com.microsoft::{node.operation_type} with {attribute}={value} is not supported")


@register("Attention", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    for attribute in ("do_rotary", "past_present_share_buffer"):
        _unsupported(node, attribute)
    if given(node.input_values, 6):
        raise NotImplementedError("com.microsoft::Attention with a past_sequence_length input is not supported")
    module = PackedQkvAttention(
        node.attributes.get("qkv_hidden_sizes") or None, outputs=len(node.output_values), **_common(node)
    )
    return converted(node, module)


@register("MultiHeadAttention", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    for position, name in ((8, "past_sequence_length"), (9, "cache_indirection")):
        if given(node.input_values, position):
            raise NotImplementedError(f"com.microsoft::MultiHeadAttention with a {name} input is not supported")
    if not given(node.input_values, 1):
        raise NotImplementedError(
            "com.microsoft::MultiHeadAttention with packed query, key and value is not supported "
            "(onnxruntime's CPU kernel has no reference for it either)"
        )
    if given(node.output_values, 3):
        raise NotImplementedError("com.microsoft::MultiHeadAttention's qk output is not supported")
    module = MultiHeadAttention(outputs=len(node.output_values), **_common(node))
    return converted(node, module)


class RotaryEmbedding(nn.Module, OnnxToTorchModule):
    """Rotates the first ``rotary_dim`` features of each head by the cached angles of its position.

    input [B, S, N*H] or [B, N, S, H]; position_ids [B, S], or [1] as an offset to 0..S-1;
    caches [max positions, rotary_dim / 2]. Pairs are (i, i + rotary_dim/2), or neighbours if
    ``interleaved``; features past rotary_dim are kept.
    """

    def __init__(self, num_heads: int, rotary_dim: int, interleaved: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.rotary_dim = rotary_dim
        self.interleaved = interleaved

    def forward(
        self, x: torch.Tensor, position_ids: torch.Tensor, cos_cache: torch.Tensor, sin_cache: torch.Tensor
    ) -> torch.Tensor:
        merged = x.dim() == 3
        if merged:
            # Without num_heads, heads are as wide as the rotation.
            heads = self.num_heads or x.shape[-1] // (2 * cos_cache.shape[-1])
            x = split_heads(x, heads)
        sequence = x.shape[2]
        if position_ids.dim() == 1:
            position_ids = position_ids + torch.arange(sequence, device=position_ids.device)[None]
        positions = position_ids.long()
        cos, sin = cos_cache[positions][:, None], sin_cache[positions][:, None]  # [B, 1, S, R/2]
        rotary_dim = self.rotary_dim or 2 * cos_cache.shape[-1]
        rotated, kept = x[..., :rotary_dim], x[..., rotary_dim:]
        result = torch.cat([rotate_pairs(rotated, cos, sin, self.interleaved), kept], dim=-1)
        return merge_heads(result) if merged else result

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, rotary_dim={self.rotary_dim}, interleaved={self.interleaved}"


@register("RotaryEmbedding", 1, domain=_DOMAIN)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    _unsupported(node, "is_packed_batching")
    module = RotaryEmbedding(
        attributes.get("num_heads", 0),
        attributes.get("rotary_embedding_dim", 0),
        bool(attributes.get("interleaved", 0)),
    )
    return converted(node, module)
