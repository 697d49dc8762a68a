"""ONNX files made by other people's tools (tests/wild/, written by `make wild-corpus`): each converts
strictly, the module as returned computes onnxruntime's outputs, its weightless twin's meta forward
gives onnxruntime's shapes and dtypes, and without its weight files it has the same state."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

import onnx_weightless as ow
from onnx_weightless._converters.registry import opsets_of
from onnx_weightless._value_inputs import value_uses
from tests.conftest import flat_outputs, state_signature

WILD = Path(__file__).resolve().parent / "wild"
FILES = sorted(WILD.rglob("*.onnx"))

# Sizes of the symbolic dimensions the exporters name; any other symbol is 2.
SIZES = {"batch": 2, "batch_size": 1, "sequence_length": 4, "total_sequence_length": 4, "past_sequence_length": 0,
         "steps": 5}
# Inputs whose values select what runs.
VALUES = {"sr": np.array(16000, np.int64), "steps": np.array(3, np.int64)}
# More runs of a file (by its path in tests/wild without suffix) with other sizes or values.
VARIANTS = {
    "onnxscript/sample_rate_switch": [{"values": {"sr": np.array(8000, np.int64)}}],
    # Past 32 tokens Phi-3's LongRoPE If takes its long-factor branch.
    "genai/phi3-longrope-fp32/model": [{"sizes": {"sequence_length": 40, "total_sequence_length": 40}}],
}

_NUMPY = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.INT64: np.int64, onnx.TensorProto.INT32: np.int32,
          onnx.TensorProto.BOOL: np.bool_, onnx.TensorProto.FLOAT16: np.float16}


def _kv_cache_dim(model: onnx.ModelProto) -> int | None:
    """The head size of onnxruntime-genai's KV caches, which its graphs leave symbolic
    (``kv_cache_dim``): the width of the first GroupQueryAttention's query over its heads."""
    inferred = onnx.shape_inference.infer_shapes(model)
    widths = {v.name: v.type.tensor_type.shape.dim[-1].dim_value for v in inferred.graph.value_info
              if v.type.tensor_type.shape.dim}
    for node in inferred.graph.node:
        if node.op_type == "GroupQueryAttention":
            attributes = {a.name: a.i for a in node.attribute}
            packed = len(node.input) < 2 or not node.input[1]
            heads = attributes["num_heads"] + (2 * attributes["kv_num_heads"] if packed else 0)
            return widths[node.input[0]] // heads
    return None


def _feeds(model: onnx.ModelProto, rng: np.random.Generator, variant: dict) -> dict[str, np.ndarray]:
    sizes = SIZES | {"kv_cache_dim": _kv_cache_dim(model) or 2} | variant.get("sizes", {})
    values = VALUES | variant.get("values", {})
    feeds = {}
    initializers = {i.name for i in model.graph.initializer}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        if value.name in values:
            feeds[value.name] = values[value.name]
            continue
        tensor_type = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else sizes.get(d.dim_param, 2) for d in tensor_type.shape.dim]
        dtype = _NUMPY[tensor_type.elem_type]
        if "mask" in value.name:
            feeds[value.name] = np.ones(shape, dtype)
        elif dtype in (np.int64, np.int32):
            feeds[value.name] = rng.integers(0, 50, shape).astype(dtype)
        else:
            feeds[value.name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def _exact_reference(path: Path, model: onnx.ModelProto, folder: Path) -> Path:
    """The file onnxruntime runs as the reference. MatMulNBits' accuracy_level lets onnxruntime
    quantize activations to int8 (genai's int4 builds ask for level 4); the op itself specifies
    float math, which this package computes, so the reference runs at level 0 (exact)."""
    relaxed = [a for n in model.graph.node if n.op_type == "MatMulNBits" for a in n.attribute
               if a.name == "accuracy_level" and a.i != 0]
    if not relaxed:
        return path
    folder.mkdir()
    exact = onnx.ModelProto()
    exact.CopyFrom(model)
    for node in exact.graph.node:
        for attribute in node.attribute:
            if node.op_type == "MatMulNBits" and attribute.name == "accuracy_level":
                attribute.i = 0
    for data in path.parent.glob(f"{path.name}.data"):
        shutil.copyfile(data, folder / data.name)
    onnx.save(exact, str(folder / path.name))
    return folder / path.name


def _cases() -> list:
    cases = []
    for path in FILES:
        relative = path.relative_to(WILD).as_posix()
        cases.append(pytest.param(path, {}, id=relative))
        for index, variant in enumerate(VARIANTS.get(relative.removesuffix(".onnx"), [])):
            cases.append(pytest.param(path, variant, id=f"{relative}-variant{index}"))
    return cases


def test_the_corpus_is_there():
    assert len(FILES) >= 3, FILES


def test_every_variant_names_a_file():
    assert {f"{p.relative_to(WILD).as_posix().removesuffix('.onnx')}" for p in FILES} >= set(VARIANTS)


@pytest.mark.parametrize("path, variant", _cases())
def test_a_file_made_by_another_tool(path: Path, variant: dict, rng, tmp_path):
    model = onnx.load(str(path), load_external_data=False)
    feeds = _feeds(model, rng, variant)
    reference = _exact_reference(path, model, tmp_path / "reference")
    session = onnxruntime.InferenceSession(str(reference), providers=["CPUExecutionProvider"])
    expected = session.run(None, feeds)
    names = [i.name for i in session.get_inputs()]
    inputs = [torch.from_numpy(np.ascontiguousarray(feeds[name])) for name in names]

    real = ow.convert(path, with_weights=True, strict=True)
    assert not any(isinstance(m, ow.OpaqueOp) for m in real.modules())
    with torch.no_grad():
        got = flat_outputs(real(*inputs))  # as returned: no .eval()
    assert len(got) == len(expected)
    for index, (ours, theirs) in enumerate(zip(got, expected)):
        assert tuple(ours.shape) == theirs.shape, (index, tuple(ours.shape), theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-4, rtol=1e-4, err_msg=f"output {index}")

    weightless = ow.convert(path, strict=True)
    read_as_values = value_uses(model.graph, opsets_of(model))
    meta_inputs = [t if name in read_as_values else torch.empty(t.shape, dtype=t.dtype, device="meta")
                   for name, t in zip(names, inputs)]
    meta = flat_outputs(ow.meta_forward(weightless, *meta_inputs))
    assert [(tuple(m.shape), m.dtype) for m in meta] == [(tuple(g.shape), g.dtype) for g in got]

    # Without its weight files (if it has any), the same structure.
    alone = tmp_path / path.name
    shutil.copyfile(path, alone)
    assert state_signature(ow.convert(alone, strict=True)) == state_signature(real)
