"""materialize: the weightless module filled from the model's files computes exactly what the
with-weights conversion computes; made-up weights run a real forward."""

from __future__ import annotations

import os
import shutil

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from onnx_weightless import _core
from conftest import flat_outputs, linear_reshape_model, save
from tests.fixtures.architectures import build


@pytest.mark.parametrize("external", [False, True], ids=["embedded", "external"])
def test_from_the_model_equals_the_with_weights_conversion(tmp_path, rng, external):
    path = save(linear_reshape_model(rng), tmp_path, external=external)
    gm = ow.convert(path)
    assert any(t.device.type == "meta" for t in gm.state_dict().values())
    assert ow.materialize(gm, path) is gm
    assert all(t.device.type == "cpu" for t in gm.state_dict().values())
    x = torch.randn(2, 64)
    torch.testing.assert_close(gm(x), ow.convert(path, with_weights=True)(x), rtol=0, atol=0)


@pytest.mark.parametrize("name", ["llama", "resnet18", "bert_ort_fused"])
def test_architectures(name):
    fixture = build(name, "default", "external")
    gm = ow.materialize(ow.convert(fixture.path), fixture.path)
    reference = ow.convert(fixture.path, with_weights=True)
    with torch.no_grad():
        ours, theirs = flat_outputs(gm(*fixture.example_inputs)), flat_outputs(reference(*fixture.example_inputs))
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_missing_weights_are_named(tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path, external=True)
    gm = ow.convert(path)
    os.remove(str(path) + ".data")
    with pytest.raises(ow.MissingWeightsError, match="model.onnx.data"):
        ow.materialize(gm, path)
    assert any(t.device.type == "meta" for t in gm.state_dict().values()), "left unchanged"


def test_another_model_is_refused(tmp_path, rng):
    gm = ow.convert(save(linear_reshape_model(rng), tmp_path / "a"))
    other = onnx.load(str(save(linear_reshape_model(rng), tmp_path / "b")))
    weight = next(t for t in other.graph.initializer if len(t.dims) == 2)  # half as wide
    weight.dims[1] //= 2
    weight.raw_data = weight.raw_data[: len(weight.raw_data) // 2]
    path = tmp_path / "b" / "other.onnx"
    onnx.save(other, path)
    with pytest.raises(ValueError, match="not converted from this model"):
        ow.materialize(gm, path)


@pytest.mark.parametrize("init", ["zeros", "random"])
def test_made_up_weights_run_a_cpu_forward(tmp_path, init):
    fixture = build("gpt2", 17, "external")
    alone = tmp_path / "model.onnx"
    shutil.copyfile(fixture.path, alone)  # the data file stays behind
    gm = ow.materialize(ow.convert(alone), init=init, generator=torch.Generator().manual_seed(0))
    assert all(t.device.type == "cpu" for t in gm.state_dict().values())
    with torch.no_grad():
        (logits,) = flat_outputs(gm(*fixture.example_inputs))
    assert logits.shape == (1, 8, 256) and torch.isfinite(logits).all()
    if init == "random":
        assert logits.std() > 0


def test_arguments():
    gm = torch.fx.symbolic_trace(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="either source"):
        ow.materialize(gm)
    with pytest.raises(ValueError, match="init must be one of"):
        ow.materialize(gm, init="ones")
    with pytest.raises(TypeError, match="expects a torch.fx.GraphModule"):
        ow.materialize(torch.nn.Linear(2, 2), init="zeros")


def test_large_weights_are_mapped_not_read(tmp_path, monkeypatch):
    """Weights of 64 KiB and more come from a copy-on-write mapping: never read into memory, and
    writing to them leaves the file as it was."""
    weight = np.arange(256 * 128, dtype=np.float32).reshape(256, 128)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "mapped",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 128])],
        [numpy_helper.from_array(weight, "w")],
    )
    path = save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path, external=True)
    data = (tmp_path / "model.onnx.data").read_bytes()

    def refuse(*args, **kwargs):
        raise AssertionError("read instead of mapped")

    monkeypatch.setattr(_core, "read_external", refuse)
    gm = ow.materialize(ow.convert(path), path)
    (mapped,) = [t for t in gm.state_dict().values() if t.shape == (256, 128)]
    np.testing.assert_array_equal(mapped.numpy(), weight)
    mapped.add_(1.0)
    assert (tmp_path / "model.onnx.data").read_bytes() == data
