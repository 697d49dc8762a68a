"""com.microsoft GroupQueryAttention, the attention of every layer onnxruntime-genai's model builder
emits, as onnxruntime's CPU kernel computes it.

- query [B, S, N*H], key and value [B, S, Nkv*H], or query packing all three [B, S, (N+2Nkv)*H];
  query head ``n`` attends with key/value head ``n // (N / Nkv)``.
- past_key/past_value [B, Nkv, P, H] hold each sequence's first ``past`` positions (right-padded);
  present_key/present_value [B, Nkv, max(total_sequence_length, P), H] hold the past, then the new
  positions, then zeros.
- seqlens_k [B] is each sequence's total length minus one; total_sequence_length (a scalar, read as
  a value) the longest. When S equals it, the call is a first prompt (no past is read); otherwise
  each sequence's past length is seqlens_k + 1 - S.
- do_rotary rotates the first 2 * cos_cache.shape[1] features of query and key heads at their
  positions (position_ids if given, else from the past lengths), pairs split in halves or
  interleaved (rotary_interleaved).
- scores = Q K^T * scale (default 1/sqrt(H)) + attention_bias, capped by softcap * tanh(x / softcap);
  a query sees the keys up to its own position, and with local_window_size only the last
  local_window_size of them (its own included). smooth_softmax adds a zero logit to each row's
  softmax, head_sink a logit per head.

Quantized KV caches, q/k normalization weights, query_seqlens and the output_qk output raise
NotImplementedError at conversion.
"""

from __future__ import annotations

import math

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import TakesPythonValues, given, rotate_pairs, split_heads, values_list
from .registry import register

_DOMAIN = "com.microsoft"
_INPUTS = ("query", "key", "value", "past_key", "past_value", "seqlens_k", "total_sequence_length", "cos_cache",
           "sin_cache", "position_ids", "attention_bias", "head_sink")
_SUPPORTED_ATTRIBUTES = {"num_heads", "kv_num_heads", "scale", "softcap", "do_rotary", "rotary_interleaved",
                         "local_window_size", "smooth_softmax"}
# Attributes whose default is the only value supported.
_DEFAULTS = {"qk_output": 0, "causal": 1, "kv_cache_bit_width": 0, "sliding_window_cache": 0}
# Attributes that act only with the inputs refused at conversion.
_WITH_REFUSED_INPUTS = {"q_norm_epsilon", "k_norm_epsilon", "qk_norm_epsilon", "k_quant_type", "v_quant_type"}


class GroupQueryAttention(nn.Module, OnnxToTorchModule, TakesPythonValues):
    def __init__(
        self,
        num_heads: int,
        kv_num_heads: int,
        scale: float,
        softcap: float,
        do_rotary: bool,
        rotary_interleaved: bool,
        local_window_size: int,
        smooth_softmax: bool,
        with_presents: bool = True,
    ) -> None:
        super().__init__()
        self.with_presents = with_presents
        self.num_heads = num_heads
        self.kv_num_heads = kv_num_heads
        self.scale = scale
        self.softcap = softcap
        self.do_rotary = do_rotary
        self.rotary_interleaved = rotary_interleaved
        self.local_window_size = local_window_size
        self.smooth_softmax = smooth_softmax

    def _rotate(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """x [B, heads, S, H]; cos, sin [B, S, rotary_dim / 2]."""
        rotary = 2 * cos.shape[-1]
        turned = rotate_pairs(x[..., :rotary], cos[:, None], sin[:, None], self.rotary_interleaved)
        return torch.cat((turned, x[..., rotary:]), dim=-1)

    def _present(self, new: torch.Tensor, past: torch.Tensor | None, past_lengths: torch.Tensor, length: int) -> torch.Tensor:
        """Each sequence's past positions, then its new ones, then zeros: [B, Nkv, length, H]."""
        batch, heads, sequence, size = new.shape
        positions = torch.arange(length, device=new.device)
        source = positions[None] - past_lengths[:, None]  # [B, T]: the new position each one takes
        from_new = (source >= 0) & (source < sequence)
        gathered = new.gather(2, source.clamp(0, sequence - 1)[:, None, :, None].expand(batch, heads, length, size))
        if past is None:
            kept = torch.zeros_like(gathered)
        else:
            # length is at least the buffer's: zeros after it (none when equal), never a branch on sizes.
            padding = past.new_zeros(past.shape[0], past.shape[1], length - past.shape[2], past.shape[3])
            kept = torch.cat((past, padding), dim=2)
            kept = kept.where((positions[None] < past_lengths[:, None])[:, None, :, None], torch.zeros_like(kept))
        return gathered.where(from_new[:, None, :, None], kept)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        past_key: torch.Tensor | None = None,
        past_value: torch.Tensor | None = None,
        seqlens_k: torch.Tensor | None = None,
        total_sequence_length: torch.Tensor | None = None,
        cos_cache: torch.Tensor | None = None,
        sin_cache: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        attention_bias: torch.Tensor | None = None,
        head_sink: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        heads, kv_heads = self.num_heads, self.kv_num_heads
        batch, sequence = query.shape[:2]
        if query.device.type == "meta":  # a meta forward: small real inputs (cos/sin caches...) join the meta ones
            cos_cache, sin_cache, position_ids, attention_bias, head_sink, seqlens_k = (
                t.to("meta") if t is not None else None
                for t in (cos_cache, sin_cache, position_ids, attention_bias, head_sink, seqlens_k)
            )
        if key is None:  # packed: query holds Q, K and V
            size = query.shape[2] // (heads + 2 * kv_heads)
            query, key, value = query.split((heads * size, kv_heads * size, kv_heads * size), dim=2)
        q, k, v = split_heads(query, heads), split_heads(key, kv_heads), split_heads(value, kv_heads)
        size = q.shape[-1]
        (total,) = values_list(total_sequence_length)
        for name, past in (("past_key", past_key), ("past_value", past_value)):
            if past is None:
                continue
            for axis, what, expected in ((0, "a batch of", batch), (3, "heads of size", size)):
                if isinstance(past.shape[axis], int) and isinstance(expected, int) and past.shape[axis] != expected:
                    raise ValueError(f"{name} has {what} {past.shape[axis]}, the query {expected}")
                # Symbolic (traced) sizes: the caches' batch and head size are the query's (genai leaves them symbolic).
                torch._check(past.shape[axis] == expected)
        past_buffer = past_key.shape[2] if past_key is not None else 0
        # sym_max and a tensor condition rather than max() and if: symbolic sizes stay unguarded.
        length = torch.sym_max(total, past_buffer)
        steps = torch.arange(sequence, device=q.device)
        # A first prompt (as long as the total) reads nothing of the past.
        first_prompt = torch.scalar_tensor(sequence, dtype=torch.int64, device=q.device) == total
        past_lengths = torch.where(first_prompt, 0, seqlens_k.to(device=q.device, dtype=torch.int64) + 1 - sequence)
        query_positions = past_lengths[:, None] + steps[None]  # [B, S]
        if self.do_rotary:
            positions = position_ids.to(torch.int64) if position_ids is not None else query_positions
            cos, sin = cos_cache[positions], sin_cache[positions]
            q, k = self._rotate(q, cos, sin), self._rotate(k, cos, sin)
        present_key = self._present(k, past_key, past_lengths, length)
        present_value = self._present(v, past_value, past_lengths, length)

        group = heads // kv_heads
        keys = present_key.repeat_interleave(group, dim=1).float()
        values = present_value.repeat_interleave(group, dim=1).float()
        scale = self.scale or 1 / math.sqrt(size)
        scores = (q.float() @ keys.transpose(-1, -2)) * scale  # [B, N, S, T]
        if attention_bias is not None:
            scores = scores + attention_bias.float()
        if self.softcap > 0:
            scores = self.softcap * torch.tanh(scores / self.softcap)
        key_positions = torch.arange(length, device=q.device)
        visible = key_positions[None, None] <= query_positions[:, :, None]  # [B, S, T]
        if self.local_window_size > 0:
            visible = visible & (key_positions[None, None] > query_positions[:, :, None] - self.local_window_size)
        scores = scores.masked_fill(~visible[:, None], float("-inf"))
        if self.smooth_softmax or head_sink is not None:
            sink = head_sink.float().reshape(1, heads, 1, 1) if head_sink is not None else scores.new_zeros(())
            sink = sink.expand(batch, heads, sequence, 1)
            probabilities = torch.softmax(torch.cat((scores, sink), dim=-1), dim=-1)[..., :-1]
        else:
            probabilities = torch.softmax(scores, dim=-1)
        output = (probabilities @ values).to(query.dtype).transpose(1, 2).reshape(batch, sequence, heads * size)
        return (output, present_key, present_value) if self.with_presents else output


@register("GroupQueryAttention", 1, domain=_DOMAIN, value_inputs=(6,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    attributes = node.attributes
    for name, value in attributes.items():
        if name in _SUPPORTED_ATTRIBUTES or name in _WITH_REFUSED_INPUTS or _DEFAULTS.get(name, object()) == value:
            continue
        raise NotImplementedError(f"GroupQueryAttention: {name}={value!r} is not supported")
    inputs = list(node.input_values)
    for position in range(len(_INPUTS), len(inputs)):
        if inputs[position]:
            raise NotImplementedError(f"GroupQueryAttention: input {position} ({inputs[position]!r}) is not supported "
                                      "(quantized KV caches, q/k normalization, query_seqlens)")
    if given(node.output_values, 3):
        raise NotImplementedError("GroupQueryAttention: the output_qk output is not supported")
    module = GroupQueryAttention(
        attributes["num_heads"],
        attributes["kv_num_heads"],
        attributes.get("scale", 0.0),
        attributes.get("softcap", 0.0),
        bool(attributes.get("do_rotary", 0)),
        bool(attributes.get("rotary_interleaved", 0)),
        attributes.get("local_window_size", -1),
        bool(attributes.get("smooth_softmax", 0)),
        with_presents=given(node.output_values, 1) or given(node.output_values, 2),
    )
    outputs = list(node.output_values[:3]) if module.with_presents else list(node.output_values[:1])
    return OperationConverterResult(module, OnnxMapping(inputs=tuple(inputs[: len(_INPUTS)]), outputs=tuple(outputs)))
