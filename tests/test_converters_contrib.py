"""onnxruntime's com.microsoft contrib operators (and its default-domain extras), checked against
onnxruntime itself, or against numpy where onnxruntime has no CPU kernel."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.conftest import make_model
from tests.converter_checks import check_converter, conversion_refused

MS = "com.microsoft"


def contrib_model(nodes, inputs, outputs, initializers=(), opset: int = 17) -> onnx.ModelProto:
    model = make_model(nodes, inputs, outputs, initializers, opset=opset)
    model.opset_import.append(helper.make_opsetid(MS, 1))
    return model


def node_model(op, inputs, feeds, weights, outputs, domain=MS, opset=17, **attrs):
    """One ``op`` node reading ``inputs`` (names; "" skips one): graph inputs from ``feeds``,
    initializers from ``weights`` (name -> array); ``outputs``: names ("" skips one), types unknown,
    as onnx knows nothing of these ops."""
    node = helper.make_node(op, list(inputs), list(outputs), domain=domain, **attrs)
    graph_inputs = [
        helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape)
        for name, array in feeds.items()
    ]
    graph_outputs = [helper.make_empty_tensor_value_info(name) for name in outputs if name]
    initializers = [numpy_helper.from_array(array, name) for name, array in weights.items()]
    return contrib_model([node], graph_inputs, graph_outputs, initializers, opset=opset)


def normal(rng: np.random.Generator, *shape: int, dtype=np.float32) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


# --- activations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, with_bias, attrs",
    [
        ("Gelu", False, {}),
        ("FastGelu", False, {}),
        ("FastGelu", True, {}),
        ("BiasGelu", True, {}),
        ("QuickGelu", False, {}),
        ("QuickGelu", False, {"alpha": 1.3}),
    ],
)
def test_activations(rng, op, with_bias, attrs):
    x = normal(rng, 2, 3, 8) * 3
    weights = {"bias": normal(rng, 8)} if with_bias else {}
    model = node_model(op, ["x", *weights], {"x": x}, weights, ["y"], **attrs)
    check_converter(model, {"x": x}, atol=1e-5)


def check_against(model: onnx.ModelProto, feeds: dict, expected: list[np.ndarray], atol: float = 1e-5) -> None:
    """For ops onnxruntime has no CPU kernel for: the converted model against numpy, and the
    weightless conversion's meta forward."""
    inputs = [torch.from_numpy(feeds[value.name]) for value in model.graph.input]
    real = ow.convert(model, with_weights=True, strict=True)
    got = real(*inputs)
    got = list(got) if isinstance(got, tuple) else [got]
    for ours, theirs in zip(got, expected, strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs, atol=atol, rtol=1e-5)
    weightless = ow.convert(model, strict=True, size_threshold=0)
    meta = ow.meta_forward(weightless, *[t.to("meta") for t in inputs])
    meta = list(meta) if isinstance(meta, tuple) else [meta]
    assert [(m.shape, m.dtype) for m in meta] == [(g.shape, g.dtype) for g in got]


def test_bias_add(rng):
    x, bias, skip = normal(rng, 2, 3, 8), normal(rng, 8), normal(rng, 2, 3, 8)
    model = node_model("BiasAdd", ["x", "bias", "skip"], {"x": x, "skip": skip}, {"bias": bias}, ["y"])
    check_against(model, {"x": x, "skip": skip}, [x + bias + skip])


def test_bias_split_gelu(rng):
    x, bias = normal(rng, 2, 4, 16), normal(rng, 16)
    model = node_model("BiasSplitGelu", ["x", "bias"], {"x": x}, {"bias": bias}, ["y"])
    left, right = np.split(x + bias, 2, axis=-1)
    gelu = torch.nn.functional.gelu(torch.from_numpy(right)).numpy()  # erf form, as onnxruntime's Gelu
    check_against(model, {"x": x}, [left * gelu])


# --- normalizations ---------------------------------------------------------------------------


SKIP_OUTPUTS = [["y"], ["y", "mean", "inv_std", "sum"], ["y", "", "", "sum"]]


@pytest.mark.parametrize("outputs", SKIP_OUTPUTS)
@pytest.mark.parametrize("beta, bias", [(False, False), (True, False), (True, True), (False, True)])
@pytest.mark.parametrize("skip_shape", [(2, 3, 8), (1, 3, 8), (3, 8)])
def test_skip_layer_normalization(rng, outputs, beta, bias, skip_shape):
    x, skip = normal(rng, 2, 3, 8) * 3 + 1, normal(rng, *skip_shape)
    weights = {"gamma": normal(rng, 8), "beta": normal(rng, 8), "bias": normal(rng, 8)}
    names = ["x", "skip", "gamma", "beta" if beta else "", "bias" if bias else ""]
    weights = {name: weights[name] for name in names[2:] if name}
    model = node_model("SkipLayerNormalization", names, {"x": x, "skip": skip}, weights, outputs, epsilon=1e-5)
    check_converter(model, {"x": x, "skip": skip}, atol=1e-5)


@pytest.mark.parametrize("outputs", SKIP_OUTPUTS)
@pytest.mark.parametrize("bias", [False, True])
def test_skip_simplified_layer_normalization(rng, outputs, bias):
    x, skip = normal(rng, 2, 3, 8) * 3 + 1, normal(rng, 2, 3, 8)
    weights = {"gamma": normal(rng, 8)} | ({"bias": normal(rng, 8)} if bias else {})
    model = node_model("SkipSimplifiedLayerNormalization", ["x", "skip", *weights], {"x": x, "skip": skip}, weights,
                       outputs)
    check_converter(model, {"x": x, "skip": skip}, atol=1e-5)


@pytest.mark.parametrize("op", ["SkipLayerNormalization", "SkipSimplifiedLayerNormalization"])
def test_skip_normalization_default_epsilon_and_float16(rng, op):
    # A near-constant row makes the variance small enough for epsilon (1e-12 by default) to matter.
    x = (normal(rng, 2, 3, 8) * 1e-3 + 1).astype(np.float16)
    skip = normal(rng, 2, 3, 8, dtype=np.float16)
    skip[0, 0] = 0
    model = node_model(op, ["x", "skip", "gamma"], {"x": x, "skip": skip}, {"gamma": normal(rng, 8, dtype=np.float16)},
                       ["y", "mean", "inv_std", "sum"])
    check_converter(model, {"x": x, "skip": skip}, atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize("outputs", [["y"], ["y", "inv_std"]])
@pytest.mark.parametrize(
    "axis, dtype, stash_type",
    [(-1, np.float32, TensorProto.FLOAT), (1, np.float32, TensorProto.FLOAT), (-1, np.float16, TensorProto.FLOAT)],
)
def test_simplified_layer_normalization(rng, outputs, axis, dtype, stash_type):
    x = normal(rng, 2, 3, 8, dtype=dtype) * 3
    scale = normal(rng, *x.shape[axis:], dtype=dtype)
    model = node_model("SimplifiedLayerNormalization", ["x", "scale"], {"x": x}, {"scale": scale}, outputs,
                       domain="", opset=16, axis=axis, stash_type=stash_type)
    check_converter(model, {"x": x}, atol=1e-2 if dtype == np.float16 else 1e-5)


@pytest.mark.parametrize("outputs", [["y"], ["y", "mean", "inv_std"], ["y", "", "inv_std"]])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("axis", [-1, 1])
def test_layer_normalization_before_opset_17(rng, outputs, bias, axis):
    x = normal(rng, 2, 3, 8) * 3 + 1
    weights = {"scale": normal(rng, *x.shape[axis:])} | ({"bias": normal(rng, *x.shape[axis:])} if bias else {})
    model = node_model("LayerNormalization", ["x", *weights], {"x": x}, weights, outputs, domain="", opset=16,
                       axis=axis)
    check_converter(model, {"x": x}, atol=1e-5)


@pytest.mark.parametrize("segment", [False, True])
@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("position_ids", [None, (2, 5), (1, 5)])
@pytest.mark.parametrize("outputs", [["y", "mask_index"], ["y", "mask_index", "sum"]])  # mask_index is required
def test_embed_layer_normalization(rng, segment, mask, position_ids, outputs):
    batch, sequence, hidden, vocab = 2, 5, 8, 20
    feeds = {"ids": rng.integers(0, vocab, (batch, sequence)).astype(np.int32)}
    weights = {"word": normal(rng, vocab, hidden), "position": normal(rng, 16, hidden)}
    if segment:
        feeds["segment_ids"] = rng.integers(0, 2, (batch, sequence)).astype(np.int32)
        weights["segment"] = normal(rng, 2, hidden)
    weights |= {"gamma": normal(rng, hidden), "beta": normal(rng, hidden)}
    if mask:
        feeds["mask"] = np.array([[1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], np.int32)
    if position_ids:
        feeds["position_ids"] = rng.integers(0, 16, position_ids).astype(np.int32)
    names = ["ids", "segment_ids", "word", "position", "segment", "gamma", "beta", "mask", "position_ids"]
    names = [name if name in feeds or name in weights else "" for name in names]
    while not names[-1]:
        names.pop()
    model = node_model("EmbedLayerNormalization", names, feeds, weights, outputs)
    check_converter(model, feeds, atol=1e-5)


# --- attention --------------------------------------------------------------------------------

BATCH, SEQUENCE, HIDDEN, HEADS = 2, 4, 8, 2


def attention_masks(total: int) -> dict[str, np.ndarray]:
    """mask_index in each format onnxruntime's Attention accepts, for [2, total] keys."""
    raw = np.ones((BATCH, total), np.int32)
    raw[0, -2:] = 0
    raw[1, 0] = 0
    return {
        "raw_2d": raw,
        "raw_3d": np.tril(np.ones((SEQUENCE, total), np.int32), total - SEQUENCE)[None].repeat(BATCH, 0),
        "ends": np.array([total - 1, total - 2], np.int32),
        "ends_starts": np.array([total - 1, total, 1, 0], np.int32),
    }


@pytest.mark.parametrize("mask", [None, "raw_2d", "raw_3d", "ends", "ends_starts"])
@pytest.mark.parametrize("past", [False, True])
@pytest.mark.parametrize("unidirectional", [0, 1])
def test_attention_masks_past_unidirectional(rng, mask, past, unidirectional):
    past_length = 3 if past else 0
    feeds = {"x": normal(rng, BATCH, SEQUENCE, HIDDEN)}
    weights = {"w": normal(rng, HIDDEN, 3 * HIDDEN), "b": normal(rng, 3 * HIDDEN)}
    names = ["x", "w", "b", "", "", ""]
    if mask:
        feeds["mask"] = attention_masks(SEQUENCE + past_length)[mask]
        names[3] = "mask"
    if past:
        feeds["past"] = normal(rng, 2, BATCH, HEADS, past_length, HIDDEN // HEADS)
        names[4] = "past"
    while not names[-1]:
        names.pop()
    outputs = ["y", "present"] if past else ["y"]
    model = node_model("Attention", names, feeds, weights, outputs, num_heads=HEADS, unidirectional=unidirectional)
    check_converter(model, feeds, atol=1e-4)


@pytest.mark.parametrize(
    "attrs",
    [
        {"scale": 0.7},
        {"mask_filter_value": -5.0},
        {"qkv_hidden_sizes": [8, 8, 4]},
        {"qkv_hidden_sizes": [4, 4, 12]},
    ],
)
@pytest.mark.parametrize("attention_bias", [False, True])
def test_attention_attributes(rng, attrs, attention_bias):
    sizes = attrs.get("qkv_hidden_sizes", [HIDDEN] * 3)
    feeds = {"x": normal(rng, BATCH, SEQUENCE, HIDDEN) * 2, "mask": attention_masks(SEQUENCE)["raw_2d"]}
    weights = {"w": normal(rng, HIDDEN, sum(sizes))}
    names = ["x", "w", "", "mask"]
    if attention_bias:
        feeds["attention_bias"] = normal(rng, 1, HEADS, SEQUENCE, SEQUENCE)
        names += ["", "attention_bias"]
    model = node_model("Attention", names, feeds, weights, ["y"], num_heads=HEADS, **attrs)
    check_converter(model, feeds, atol=1e-4)


@pytest.mark.parametrize("mask, message", [(np.ones((BATCH, 1, 8, 8), np.int32), "4-D mask"),
                                           (np.ones(3 * BATCH + 2, np.int32), "1-D mask of 8 entries")])
def test_attention_unsupported_masks(rng, mask, message):
    feeds = {"x": normal(rng, BATCH, SEQUENCE, HIDDEN), "mask": mask}
    model = node_model("Attention", ["x", "w", "", "mask"], feeds, {"w": normal(rng, HIDDEN, 3 * HIDDEN)}, ["y"],
                       num_heads=HEADS)
    module = ow.convert(model, with_weights=True, strict=True)
    with pytest.raises(NotImplementedError, match=message):
        module(*(torch.from_numpy(array) for array in feeds.values()))


@pytest.mark.parametrize(
    "op, attrs, inputs, message",
    [
        ("Attention", {"do_rotary": 1}, ["x", "w"], "do_rotary=1"),
        ("Attention", {"past_present_share_buffer": 1}, ["x", "w"], "past_present_share_buffer=1"),
        ("Attention", {}, ["x", "w", "", "", "", "", "x"], "past_sequence_length"),
        ("MultiHeadAttention", {}, ["x", "x", "x", "", "", "", "", "", "x"], "past_sequence_length"),
        ("MultiHeadAttention", {}, ["x", "x", "x", "", "", "", "", "", "", "x"], "cache_indirection"),
        ("MultiHeadAttention", {}, ["x", "x", "x"], "qk output"),
    ],
)
def test_attention_unsupported_features(rng, op, attrs, inputs, message):
    outputs = ["y", "", "", "qk"] if message == "qk output" else ["y"]
    model = node_model(op, inputs, {"x": normal(rng, BATCH, SEQUENCE, HIDDEN)}, {"w": normal(rng, HIDDEN, 3 * HIDDEN)},
                       outputs, num_heads=HEADS, **attrs)
    with conversion_refused(message):
        ow.convert(model, with_weights=True, strict=True)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("mask", [None, "ends", "raw_2d", "raw_3d"])
@pytest.mark.parametrize("kv_length", [SEQUENCE, 6])
def test_multi_head_attention(rng, bias, mask, kv_length):
    feeds = {
        "q": normal(rng, BATCH, SEQUENCE, HIDDEN),
        "k": normal(rng, BATCH, kv_length, HIDDEN),
        "v": normal(rng, BATCH, kv_length, HIDDEN),
    }
    weights = {"bias": normal(rng, 3 * HIDDEN)} if bias else {}
    names = ["q", "k", "v", "bias" if bias else ""]
    if mask:
        feeds["mask"] = attention_masks(kv_length)[mask]
        names.append("mask")
    while not names[-1]:
        names.pop()
    model = node_model("MultiHeadAttention", names, feeds, weights, ["y"], num_heads=HEADS)
    check_converter(model, feeds, atol=1e-4)


HEAD = HIDDEN // HEADS


@pytest.mark.parametrize("bias", [False, True])
def test_multi_head_attention_keys_in_heads(rng, bias):
    feeds = {"q": normal(rng, BATCH, SEQUENCE, HIDDEN), "k": normal(rng, BATCH, HEADS, 6, HEAD),
             "v": normal(rng, BATCH, HEADS, 6, HEAD)}
    weights = {"bias": normal(rng, 3 * HIDDEN)} if bias else {}
    model = node_model("MultiHeadAttention", ["q", "k", "v", *weights], feeds, weights, ["y"], num_heads=HEADS)
    check_converter(model, feeds, atol=1e-4)


def test_multi_head_attention_packed_layouts_are_refused(rng):
    qkv = {"q": normal(rng, BATCH, SEQUENCE, HEADS, 3, HEAD)}
    with conversion_refused("packed query, key and value"):
        ow.convert(node_model("MultiHeadAttention", ["q"], qkv, {}, ["y"], num_heads=HEADS), strict=True)
    feeds = {"q": normal(rng, BATCH, SEQUENCE, HIDDEN), "kv": normal(rng, BATCH, 6, HEADS, 2, HEAD)}
    module = ow.convert(node_model("MultiHeadAttention", ["q", "kv"], feeds, {}, ["y"], num_heads=HEADS), strict=True)
    with pytest.raises(NotImplementedError, match="packed key and value"):
        module(*(torch.from_numpy(array) for array in feeds.values()))


@pytest.mark.parametrize("unidirectional", [0, 1])
@pytest.mark.parametrize("attention_bias", [None, (1, HEADS), (BATCH, 1)])
def test_multi_head_attention_past(rng, unidirectional, attention_bias):
    # With a past but no present outputs, onnxruntime 1.32's CPU kernel computes neither attention
    # with the past nor without it, so only nodes with presents are compared.
    past = 3
    feeds = {name: normal(rng, BATCH, SEQUENCE, HIDDEN) for name in ("q", "k", "v")}
    names = ["q", "k", "v", "", ""]
    if attention_bias:
        feeds["attention_bias"] = normal(rng, *attention_bias, SEQUENCE, SEQUENCE + past)
    names.append("attention_bias" if attention_bias else "")
    feeds["past_key"] = normal(rng, BATCH, HEADS, past, HEAD)
    feeds["past_value"] = normal(rng, BATCH, HEADS, past, HEAD)
    names += ["past_key", "past_value"]
    model = node_model("MultiHeadAttention", names, feeds, {}, ["y", "present_key", "present_value"], num_heads=HEADS,
                       unidirectional=unidirectional,
                       scale=0.3)
    check_converter(model, feeds, atol=1e-4)


# --- matrix products --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a_shape, b_shape, attrs",
    [
        ((2, 3, 4), (2, 4, 5), {}),
        ((3, 4), (4, 5), {"alpha": 0.5}),
        ((2, 4, 3), (2, 4, 5), {"transA": 1}),
        ((2, 3, 4), (2, 5, 4), {"transB": 1, "alpha": 2.0}),
        ((2, 4, 3), (5, 4), {"transA": 1, "transB": 1}),
        ((5, 2, 3), (2, 3, 6), {"transBatchA": 1}),
        ((4, 2, 5), (2, 4, 6), {"transBatchA": 1, "transA": 1}),
        ((2, 3, 4), (4, 2, 6), {"transBatchB": 1}),
        ((2, 3, 4), (6, 2, 4), {"transBatchB": 1, "transB": 1}),
        ((3, 2, 7, 4), (4, 2, 7, 5), {"transBatchA": 1, "transBatchB": 1, "alpha": 0.25}),
    ],
)
def test_fused_matmul(rng, a_shape, b_shape, attrs):
    feeds = {"a": normal(rng, *a_shape), "b": normal(rng, *b_shape)}
    check_converter(node_model("FusedMatMul", ["a", "b"], feeds, {}, ["y"], **attrs), feeds, atol=1e-5)


def test_fused_matmul_weight_initializer(rng):
    feeds = {"a": normal(rng, 2, 3, 4)}
    model = node_model("FusedMatMul", ["a", "w"], feeds, {"w": normal(rng, 5, 4)}, ["y"], transB=1)
    check_converter(model, feeds, atol=1e-5)


def quantized_weights(rng, n: int, k: int, bits: int, block_size: int, zero_points: str | None, dtype=np.float32):
    """MatMulNBits' B, scales and zero points ("packed" uint8 or "float") for random values."""
    blocks = -(-k // block_size)
    per_byte = 8 // bits
    values = rng.integers(0, 1 << bits, (n, blocks, block_size)).astype(np.uint8)
    shifts = np.arange(0, 8, bits, dtype=np.uint8)
    packed = (values.reshape(n, blocks, -1, per_byte) << shifts).sum(-1, dtype=np.uint8)
    weights = {"b": packed, "scales": (rng.random(n * blocks) * 0.1 + 0.01).astype(dtype)}
    if zero_points == "packed":
        zero = rng.integers(0, 1 << bits, (n, -(-blocks // per_byte) * per_byte)).astype(np.uint8)
        weights["zero_points"] = (zero.reshape(n, -1, per_byte) << shifts).sum(-1, dtype=np.uint8).reshape(-1)
    elif zero_points == "float":
        weights["zero_points"] = (rng.random(n * blocks) * (1 << bits)).astype(dtype)
    return weights


# onnxruntime's CPU kernel refuses 8-bit weights with float zero points: no reference for those.
NBITS_ZERO_POINTS = [(bits, zero) for bits in (2, 4, 8) for zero in (None, "packed", "float") if (bits, zero) != (8, "float")]


@pytest.mark.parametrize("bits, zero_points", NBITS_ZERO_POINTS)
@pytest.mark.parametrize("k, block_size", [(64, 32), (48, 32), (40, 16)])
@pytest.mark.parametrize("bias", [False, True])
def test_matmul_nbits(rng, bits, zero_points, k, block_size, bias):
    n = 6
    weights = quantized_weights(rng, n, k, bits, block_size, zero_points)
    names = ["a", "b", "scales", "zero_points" if zero_points else ""]
    if bias:
        weights["bias"] = normal(rng, n)
        names += ["", "bias"]
    while not names[-1]:
        names.pop()
    feeds = {"a": normal(rng, 2, 3, k)}
    model = node_model("MatMulNBits", names, feeds, weights, ["y"], K=k, N=n, bits=bits, block_size=block_size)
    check_converter(model, feeds, atol=1e-4)


def test_matmul_nbits_float16(rng):
    weights = quantized_weights(rng, 6, 64, 4, 32, "packed", dtype=np.float16)
    feeds = {"a": normal(rng, 3, 64, dtype=np.float16)}
    model = node_model("MatMulNBits", ["a", *weights], feeds, weights, ["y"], K=64, N=6, bits=4, block_size=32)
    check_converter(model, feeds, atol=2e-2, rtol=1e-2)


@pytest.mark.parametrize("attrs, inputs, message", [({"bits": 3}, ["a", "b", "scales"], "bits=3"),
                                                     ({}, ["a", "b", "scales", "", "g_idx"], "g_idx")])
def test_matmul_nbits_unsupported(rng, attrs, inputs, message):
    weights = quantized_weights(rng, 6, 64, 4, 32, None) | {"g_idx": np.zeros(64, np.int32)}
    feeds = {"a": normal(rng, 3, 64)}
    model = node_model("MatMulNBits", inputs, feeds, weights, ["y"], K=64, N=6, block_size=32, **({"bits": 4} | attrs))
    with conversion_refused(message):
        ow.convert(model, strict=True)


# --- rotary embedding -------------------------------------------------------------------------


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("layout", ["bsd", "bnsh"])
@pytest.mark.parametrize("rotary_dim", [None, 4])
@pytest.mark.parametrize("positions", ["ids", "offset"])
def test_rotary_embedding(rng, interleaved, layout, rotary_dim, positions):
    heads, head, sequence = 2, 8, 5
    x = normal(rng, BATCH, sequence, heads * head) if layout == "bsd" else normal(rng, BATCH, heads, sequence, head)
    half = (rotary_dim or head) // 2
    angles = np.arange(16)[:, None] * (1e-2 ** (np.arange(half) / half))[None]
    weights = {"cos": np.cos(angles).astype(np.float32), "sin": np.sin(angles).astype(np.float32)}
    if positions == "ids":
        position_ids = rng.integers(0, 16, (BATCH, sequence)).astype(np.int64)
    else:
        position_ids = np.array([3], np.int64)
    feeds = {"x": x, "position_ids": position_ids}
    attrs = {"interleaved": interleaved}
    if rotary_dim:
        attrs |= {"rotary_embedding_dim": rotary_dim, "num_heads": heads}
    model = node_model("RotaryEmbedding", ["x", "position_ids", "cos", "sin"], feeds, weights, ["y"], **attrs)
    check_converter(model, feeds, atol=1e-5)


def test_rotary_embedding_packed_batching_is_refused(rng):
    feeds = {"x": normal(rng, 1, 5, 16), "position_ids": np.zeros((1, 5), np.int64)}
    weights = {"cos": normal(rng, 16, 4), "sin": normal(rng, 16, 4)}
    model = node_model("RotaryEmbedding", ["x", "position_ids", "cos", "sin"], feeds, weights, ["y"],
                       is_packed_batching=1)
    with conversion_refused("is_packed_batching=1"):
        ow.convert(model, strict=True)


# --- end to end: a BERT optimized by onnxruntime.transformers ---------------------------------


class _LastHiddenState(torch.nn.Module):
    def __init__(self, bert: torch.nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids).last_hidden_state


def test_optimized_bert(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    transformers = pytest.importorskip("transformers")
    from onnxruntime.transformers.optimizer import optimize_model

    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=64, max_position_embeddings=64)
    config._attn_implementation = "eager"  # the attention pattern onnxruntime's fusion recognizes
    bert = _LastHiddenState(transformers.BertModel(config).eval())
    input_ids = torch.randint(0, 100, (2, 7))
    attention_mask = torch.ones(2, 7, dtype=torch.int64)
    attention_mask[0, 5:] = 0
    token_type_ids = torch.zeros(2, 7, dtype=torch.int64)
    token_type_ids[:, 4:] = 1
    names = ["input_ids", "attention_mask", "token_type_ids"]
    path = tmp_path / "bert.onnx"
    torch.onnx.export(bert, (input_ids, attention_mask, token_type_ids), str(path), dynamo=False, opset_version=17,
                      input_names=names, output_names=["last_hidden_state"],
                      dynamic_axes={name: {0: "batch", 1: "sequence"} for name in names})
    model = optimize_model(str(path), model_type="bert", num_heads=4, hidden_size=32).model

    fused = {node.op_type for node in model.graph.node if node.domain == MS}
    assert {"EmbedLayerNormalization", "Attention", "SkipLayerNormalization", "BiasGelu"} <= fused, fused
    feeds = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy(),
             "token_type_ids": token_type_ids.numpy()}
    check_converter(model, feeds, atol=1e-4)
