"""com.microsoft GroupQueryAttention against onnxruntime's CPU kernel: prompts and token generation,
grouped heads, packed QKV, right-padded pasts, shared past/present buffers, rotary embedding,
local windows, softcap, smooth softmax and head sinks."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

import onnx_weightless as ow
from tests.conftest import flat_outputs, state_signature
from tests.converter_checks import conversion_refused, reference_outputs

F, I32 = TensorProto.FLOAT, TensorProto.INT32
HEADS, KV_HEADS, SIZE, BATCH = 4, 2, 16, 2


def _model(feeds: dict[str, np.ndarray], inputs: list[str], with_presents: bool = True, **attributes) -> onnx.ModelProto:
    outputs = ["output", "present_key", "present_value"] if with_presents else ["output"]
    node = helper.make_node("GroupQueryAttention", inputs, outputs, name="gqa", domain="com.microsoft",
                            num_heads=HEADS, kv_num_heads=KV_HEADS, **attributes)
    types = {np.dtype(np.float32): F, np.dtype(np.int32): I32, np.dtype(np.int64): TensorProto.INT64}
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(name, types[feeds[name].dtype], feeds[name].shape) for name in inputs if name],
        [helper.make_tensor_value_info(name, F, None) for name in outputs],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    return model


def _feeds(rng, sequence: int, past: int, valid: list[int], total: int, packed: bool = False, rotary: int = 0,
           size: int = SIZE) -> dict:
    """``valid``: each sequence's total length (past included); ``past``: the past buffers' length."""
    feeds = {}
    if packed:
        feeds["query"] = rng.standard_normal((BATCH, sequence, (HEADS + 2 * KV_HEADS) * size)).astype(np.float32)
    else:
        feeds["query"] = rng.standard_normal((BATCH, sequence, HEADS * size)).astype(np.float32)
        feeds["key"] = rng.standard_normal((BATCH, sequence, KV_HEADS * size)).astype(np.float32)
        feeds["value"] = rng.standard_normal((BATCH, sequence, KV_HEADS * size)).astype(np.float32)
    feeds["past_key"] = rng.standard_normal((BATCH, KV_HEADS, past, size)).astype(np.float32)
    feeds["past_value"] = rng.standard_normal((BATCH, KV_HEADS, past, size)).astype(np.float32)
    feeds["seqlens_k"] = np.array([v - 1 for v in valid], np.int32)
    feeds["total_sequence_length"] = np.array(total, np.int32)
    if rotary:
        angles = np.outer(np.arange(32), 1 / 10000 ** (np.arange(rotary // 2) * 2 / rotary)).astype(np.float32)
        feeds["cos_cache"], feeds["sin_cache"] = np.cos(angles), np.sin(angles)
    return feeds


def _inputs(feeds: dict) -> list[str]:
    names = ["query", "key", "value", "past_key", "past_value", "seqlens_k", "total_sequence_length", "cos_cache", "sin_cache"]
    while names[-1] not in feeds:
        names.pop()
    return [name if name in feeds else "" for name in names]


def _check(model: onnx.ModelProto, feeds: dict, atol: float = 1e-5) -> None:
    """With weights: onnxruntime's outputs. Weightless: the same state; its meta forward (the total
    sequence length given real, as shapes give it in real graphs) gives onnxruntime's shapes."""
    expected = reference_outputs(model, feeds)
    names = [value.name for value in model.graph.input]
    tensors = [torch.from_numpy(feeds[name]) for name in names]
    real = ow.convert(model, with_weights=True, strict=True)
    got = flat_outputs(real(*tensors))
    assert len(got) == len(expected)
    for index, (ours, theirs) in enumerate(zip(got, expected)):
        assert tuple(ours.shape) == theirs.shape, (index, tuple(ours.shape), theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs, atol=atol, rtol=1e-5, err_msg=f"output {index}")
    weightless = ow.convert(model, strict=True, size_threshold=0)
    assert state_signature(weightless) == state_signature(real)
    meta_inputs = [t if name == "total_sequence_length" else torch.empty(t.shape, dtype=t.dtype, device="meta")
                   for name, t in zip(names, tensors)]
    meta = flat_outputs(ow.meta_forward(weightless, *meta_inputs))
    assert [(tuple(m.shape), m.device.type) for m in meta] == [(e.shape, "meta") for e in expected]


@pytest.mark.parametrize("packed", [False, True])
def test_a_first_prompt(rng, packed):
    feeds = _feeds(rng, sequence=5, past=0, valid=[5, 5], total=5, packed=packed)
    _check(_model(feeds, _inputs(feeds)), feeds)


def test_token_generation_with_right_padded_pasts(rng):
    feeds = _feeds(rng, sequence=1, past=6, valid=[7, 5], total=7)
    _check(_model(feeds, _inputs(feeds)), feeds)


def test_a_shared_past_and_present_buffer(rng):
    """The past buffers have the maximum length: present has it too, zeros past each sequence."""
    feeds = _feeds(rng, sequence=1, past=12, valid=[7, 4], total=7)
    _check(_model(feeds, _inputs(feeds)), feeds)


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("sequence, past, valid, total", [(6, 0, [6, 6], 6), (1, 5, [6, 3], 6)])
def test_rotary_embedding_inside(rng, interleaved, sequence, past, valid, total):
    feeds = _feeds(rng, sequence, past, valid, total, rotary=SIZE)
    _check(_model(feeds, _inputs(feeds), do_rotary=1, rotary_interleaved=interleaved), feeds)


def test_rotary_on_part_of_each_head(rng):
    feeds = _feeds(rng, 1, 4, [5, 5], 5, packed=True, rotary=16, size=32)
    _check(_model(feeds, _inputs(feeds), do_rotary=1), feeds)


@pytest.mark.parametrize("attributes", [
    {"local_window_size": 2},
    {"softcap": 2.0},
    {"smooth_softmax": 1},
    {"scale": 0.05},
    {"local_window_size": 3, "softcap": 1.5, "smooth_softmax": 1},
])
@pytest.mark.parametrize("sequence, past, valid, total", [(6, 0, [6, 6], 6), (1, 6, [7, 4], 7)])
def test_windows_caps_and_softmax_variants(rng, attributes, sequence, past, valid, total):
    feeds = _feeds(rng, sequence, past, valid, total)
    _check(_model(feeds, _inputs(feeds), **attributes), feeds, atol=2e-5)


def test_the_output_alone(rng):
    feeds = _feeds(rng, 3, 0, [3, 3], 3)
    _check(_model(feeds, _inputs(feeds), with_presents=False), feeds)


def test_unsupported_features_are_refused_at_conversion(rng):
    feeds = _feeds(rng, 1, 2, [3, 3], 3)
    with conversion_refused("qk_output=1"):
        ow.convert(_model(feeds, _inputs(feeds), qk_output=1))
    model = _model(feeds, _inputs(feeds))
    model.graph.node[0].input.extend([""] * (12 - len(model.graph.node[0].input)) + ["k_scale"])
    model.graph.input.append(helper.make_tensor_value_info("k_scale", F, [1]))
    with conversion_refused(r"input 12 \('k_scale'\)"):
        ow.convert(model)


@pytest.mark.parametrize("extra", ["attention_bias", "head_sink", "position_ids"])
@pytest.mark.parametrize("sequence, past, valid, total", [(5, 0, [5, 5], 5), (1, 4, [5, 3], 5)])
def test_optional_inputs_of_newer_releases(rng, extra, sequence, past, valid, total):
    feeds = _feeds(rng, sequence, past, valid, total, rotary=SIZE if extra == "position_ids" else 0)
    if extra == "attention_bias":
        feeds[extra] = rng.standard_normal((BATCH, HEADS, sequence, total)).astype(np.float32)
    elif extra == "head_sink":
        feeds[extra] = rng.standard_normal(HEADS).astype(np.float32)
    else:
        feeds[extra] = (np.arange(sequence)[None] + np.array(valid)[:, None] - sequence + 3).astype(np.int64)
    names = _inputs(feeds)
    names += [""] * (["position_ids", "attention_bias", "head_sink"].index(extra) + 9 - len(names)) + [extra]
    _check(_model(feeds, names, **({"do_rotary": 1} if extra == "position_ids" else {})), feeds)
