"""Attention (scaled dot-product attention with masks, KV cache, grouped heads, softcap and
sliding windows) and RotaryEmbedding, from ai.onnx opset 23 on."""

from __future__ import annotations

import math

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from .._dtypes import torch_dtype
from ._common import converted, rotate_pairs, split_heads
from .registry import register


def _allowed_bias(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """0 where allowed, -inf elsewhere."""
    return torch.zeros((), dtype=dtype, device=allowed.device).masked_fill(~allowed, float("-inf"))


class OnnxAttention(nn.Module, OnnxToTorchModule):
    """softmax(Q K^T * scale (softcapped) + bias) V; the bias comes from attn_mask, is_causal,
    nonpad_kv_seqlen and the sliding window. Returns Y, present_key, present_value and
    qk_matmul_output (the first ``outputs`` of them)."""

    def __init__(
        self,
        *,
        outputs: int,
        scale: float | None,
        is_causal: bool,
        q_num_heads: int | None,
        kv_num_heads: int | None,
        softcap: float,
        softmax_dtype: torch.dtype | None,
        qk_output_mode: int,
        pad_short_mask: bool,
        left_window: int = -1,
        right_window: int = -1,
    ):
        super().__init__()
        self.outputs = outputs
        self.scale = scale
        self.is_causal = is_causal
        self.q_num_heads = q_num_heads
        self.kv_num_heads = kv_num_heads
        self.softcap = softcap
        self.softmax_dtype = softmax_dtype
        self.qk_output_mode = qk_output_mode
        self.pad_short_mask = pad_short_mask
        self.left_window = left_window
        self.right_window = right_window

    def _bias(
        self,
        mask: torch.Tensor | None,
        dtype: torch.dtype,
        q_length: int,
        kv_length: int,
        past_length: int,
        nonpad_kv_seqlen: torch.Tensor | None,
        device: torch.device,
    ) -> torch.Tensor:
        """The additive attention bias, broadcastable to [batch, heads, q, kv]."""
        bias = torch.zeros((q_length, kv_length), dtype=dtype, device=device)
        if mask is not None:
            if self.pad_short_mask and mask.shape[-1] < kv_length:
                # Keys past the mask's end are masked out (version 24 on).
                fill = False if mask.dtype == torch.bool else float("-inf")
                mask = torch.nn.functional.pad(mask, (0, kv_length - mask.shape[-1]), value=fill)
            bias = bias + (_allowed_bias(mask, dtype) if mask.dtype == torch.bool else mask.to(dtype))
        if not self.is_causal and self.left_window < 0 and self.right_window < 0:
            return self._padding(bias, nonpad_kv_seqlen, kv_length)
        # Offset of the query block among the keys: the cache length, or per batch (external cache).
        queries = torch.arange(q_length, device=device).reshape(q_length, 1)
        keys = torch.arange(kv_length, device=device).reshape(1, kv_length)
        if nonpad_kv_seqlen is not None and past_length == 0:
            offset = (nonpad_kv_seqlen.reshape(-1) - q_length).reshape(-1, 1, 1, 1).to(device)
        else:
            offset = torch.tensor(past_length, device=device)
        distance = queries + offset - keys  # how far key j is behind query i
        allowed = torch.ones_like(distance, dtype=torch.bool)
        if self.is_causal:
            allowed = allowed & (distance >= 0)
        if self.left_window >= 0:
            allowed = allowed & (distance <= self.left_window)
        if self.right_window >= 0:
            allowed = allowed & (-distance <= self.right_window)
        return self._padding(bias + _allowed_bias(allowed, dtype), nonpad_kv_seqlen, kv_length)

    @staticmethod
    def _padding(bias: torch.Tensor, nonpad_kv_seqlen: torch.Tensor | None, kv_length: int) -> torch.Tensor:
        if nonpad_kv_seqlen is None:
            return bias
        keys = torch.arange(kv_length, device=bias.device)
        valid = keys < nonpad_kv_seqlen.reshape(-1, 1, 1, 1).to(bias.device)
        return bias + _allowed_bias(valid, bias.dtype)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        past_key: torch.Tensor | None = None,
        past_value: torch.Tensor | None = None,
        nonpad_kv_seqlen: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor | None, ...]:
        three_d = query.dim() == 3
        if three_d:
            if self.q_num_heads is None or self.kv_num_heads is None:
                raise ValueError("Attention with 3-D inputs needs the q_num_heads and kv_num_heads attributes")
            query = split_heads(query, self.q_num_heads)
            key = split_heads(key, self.kv_num_heads)
            value = split_heads(value, self.kv_num_heads)
        if (past_key is None) != (past_value is None):
            raise ValueError("Attention: past_key and past_value must be given together")
        past_length = 0 if past_key is None else past_key.shape[2]
        if past_key is not None:
            key = torch.cat((past_key, key), dim=2)
            value = torch.cat((past_value, value), dim=2)
        present_key, present_value = key, value

        heads, kv_heads = query.shape[1], key.shape[1]
        if heads != kv_heads:
            if heads % kv_heads:
                raise ValueError(f"Attention: {heads} query heads cannot share {kv_heads} key/value heads")
            key = key.repeat_interleave(heads // kv_heads, dim=1)
            value = value.repeat_interleave(heads // kv_heads, dim=1)

        dtype = query.dtype
        root_scale = math.sqrt(self.scale if self.scale is not None else 1 / math.sqrt(query.shape[-1]))
        # Q and K are each scaled by sqrt(scale) before the product, as the spec says (overflow).
        qk = torch.matmul(query * root_scale, (key * root_scale).transpose(-1, -2))
        capped = self.softcap * torch.tanh(qk / self.softcap) if self.softcap > 0 else qk
        bias = self._bias(attn_mask, dtype, query.shape[2], key.shape[2], past_length, nonpad_kv_seqlen, qk.device)
        logits = capped + bias
        scores = logits.to(self.softmax_dtype) if self.softmax_dtype is not None else logits
        probabilities = torch.softmax(scores, dim=-1)
        # A query row whose every key is masked gives zeros, not NaN.
        fully_masked = torch.isneginf(bias.amax(dim=-1, keepdim=True))
        probabilities = probabilities.masked_fill(fully_masked, 0).to(dtype)
        output = torch.matmul(probabilities.to(value.dtype), value).to(dtype)
        if three_d:
            output = output.transpose(1, 2).reshape(output.shape[0], output.shape[2], -1)
        if self.outputs == 1:
            return output
        qk_output = (qk, capped, logits, probabilities)[self.qk_output_mode].to(dtype)
        return (output, present_key, present_value, qk_output)[: self.outputs]


def _attention(node: OnnxNode, version: int) -> OperationConverterResult:
    attributes = node.attributes
    mode = attributes.get("qk_matmul_output_mode", 0)
    if mode not in (0, 1, 2, 3):
        raise NotImplementedError(f"Attention: qk_matmul_output_mode={mode} is not supported (ONNX defines 0 to 3)")
    softmax_precision = attributes.get("softmax_precision")
    softmax_dtype = torch_dtype(softmax_precision) if softmax_precision else None
    if softmax_dtype is not None and not softmax_dtype.is_floating_point:
        raise NotImplementedError(f"Attention: softmax_precision={softmax_precision} is not a float type")
    windows = {"left_window": attributes.get("left_window_size", -1), "right_window": attributes.get("right_window_size", -1)}
    for name, size in windows.items():
        if size < -1:
            raise ValueError(f"Attention: {name}_size must be -1 or nonnegative, got {size}")
    module = OnnxAttention(
        outputs=len(node.output_values),
        scale=attributes.get("scale"),
        is_causal=bool(attributes.get("is_causal", 0)),
        q_num_heads=attributes.get("q_num_heads"),
        kv_num_heads=attributes.get("kv_num_heads"),
        softcap=attributes.get("softcap", 0.0),
        softmax_dtype=softmax_dtype,
        qk_output_mode=mode,
        pad_short_mask=version >= 24,
        **windows,
    )
    return converted(node, module)


@register("Attention", 23)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return _attention(node, 23)


@register("Attention", 24, 25)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    # 24 adds nonpad_kv_seqlen and short masks; 25 adds left/right_window_size (absent before).
    return _attention(node, 24)


class OnnxRotaryEmbedding(nn.Module, OnnxToTorchModule):
    """Rotates the first ``rotary_dim`` features of each head (all when 0) by the angles whose
    cos/sin the caches hold; pairs are halves, or neighbours when ``interleaved``."""

    def __init__(self, interleaved: bool, rotary_dim: int, num_heads: int | None):
        super().__init__()
        self.interleaved = interleaved
        self.rotary_dim = rotary_dim
        self.num_heads = num_heads

    def forward(
        self, x: torch.Tensor, cos_cache: torch.Tensor, sin_cache: torch.Tensor, position_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        if x.dim() == 3:
            if not self.num_heads:
                raise ValueError("RotaryEmbedding with a 3-D input needs the num_heads attribute")
            heads = x.reshape(x.shape[0], x.shape[1], self.num_heads, -1)  # [batch, sequence, heads, size]
        else:
            heads = x.transpose(1, 2)
        rotary_dim = self.rotary_dim or heads.shape[-1]
        rotated, kept = heads[..., :rotary_dim], heads[..., rotary_dim:]
        if position_ids is not None:
            cos_cache, sin_cache = cos_cache[position_ids], sin_cache[position_ids]
        cos, sin = cos_cache.unsqueeze(2), sin_cache.unsqueeze(2)  # [batch, sequence, 1, rotary_dim / 2]
        result = torch.cat((rotate_pairs(rotated, cos, sin, self.interleaved), kept), dim=-1)
        return result.reshape(x.shape) if x.dim() == 3 else result.transpose(1, 2)


@register("RotaryEmbedding", 23)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = node.attributes
    module = OnnxRotaryEmbedding(
        interleaved=bool(attributes.get("interleaved", 0)),
        rotary_dim=attributes.get("rotary_embedding_dim", 0),
        num_heads=attributes.get("num_heads"),
    )
    return converted(node, module)
