"""weightless_onnx_loader(): the seed's usage, drop-in; patches only while open, restored always."""

from __future__ import annotations

import os
import subprocess
import sys
import gc
import threading

import onnx
import onnx2torch
import onnx2torch.converter
import pytest
import torch

import onnx_weightless as ow
from onnx_weightless import _adapter
from conftest import linear_reshape_model, save

PATCHED = [(owner, attribute, getattr(owner, attribute)) for owner, attribute in _adapter.patch_targets()]


def assert_restored():
    for owner, attribute, original in PATCHED:
        assert getattr(owner, attribute) is original, f"{owner}.{attribute} left patched"


@pytest.fixture
def missing_weights(tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path, external=True)
    os.remove(str(path) + ".data")
    return path


def test_seed_usage_with_weight_file_missing(missing_weights):
    with ow.weightless_onnx_loader():
        onnx_model = onnx.load(str(missing_weights))
        torch_model = onnx2torch.convert(onnx_model)
    assert isinstance(torch_model, torch.fx.GraphModule)
    assert {tuple(t.shape): t.device.type for t in torch_model.buffers()}[(64, 64)] == "meta"
    assert_restored()


def test_convert_given_a_path_inside_the_loader(missing_weights):
    with ow.weightless_onnx_loader():
        torch_model = onnx2torch.convert(str(missing_weights))
    out = ow.meta_forward(torch_model, torch.empty(2, 64, device="meta"))
    assert tuple(out.shape) == (2, 8, 8)


def test_onnx_load_returns_the_skeleton_inside_only(tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path)
    with ow.weightless_onnx_loader():
        inside = onnx.load(str(path))
    outside = onnx.load(str(path))
    weight_inside = next(t for t in inside.graph.initializer if t.name == "W")
    weight_outside = next(t for t in outside.graph.initializer if t.name == "W")
    assert weight_inside.data_location == onnx.TensorProto.EXTERNAL and not weight_inside.raw_data
    assert len(weight_outside.raw_data) == 64 * 64 * 4


def test_importing_patches_nothing():
    code = (
        "import onnx, onnx2torch, onnx2torch.converter as c, onnx2torch.onnx_tensor as t\n"
        "before = (onnx.load, onnx.load_model, c.safe_shape_inference, c.get_converter, t.OnnxTensor.to_torch)\n"
        "import onnx_weightless\n"
        "after = (onnx.load, onnx.load_model, c.safe_shape_inference, c.get_converter, t.OnnxTensor.to_torch)\n"
        "assert before == after, 'import patched something'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_restored_after_an_exception(missing_weights):
    with pytest.raises(KeyError):
        with ow.weightless_onnx_loader():
            onnx2torch.convert(str(missing_weights))
            raise KeyError("boom")
    assert_restored()


def test_nested_contexts_restore_only_at_the_outermost_exit(missing_weights):
    with ow.weightless_onnx_loader():
        with ow.weightless_onnx_loader():
            onnx2torch.convert(onnx.load(str(missing_weights)))
        # still inside the outer one: still weightless
        model = onnx.load(str(missing_weights))
        onnx2torch.convert(model)
    assert_restored()


def test_plain_onnx2torch_outside_the_context_still_needs_weights(missing_weights):
    with ow.weightless_onnx_loader():
        pass
    with pytest.raises(onnx.checker.ValidationError, match="model.onnx.data"):
        onnx2torch.convert(onnx.load(str(missing_weights)))


def test_other_threads_keep_plain_behaviour(tmp_path, rng, missing_weights):
    full = save(linear_reshape_model(rng), tmp_path / "full")
    entered = threading.Event()
    release = threading.Event()
    seen = {}

    def weightless():
        with ow.weightless_onnx_loader():
            entered.set()
            release.wait(timeout=30)
            seen["weightless"] = onnx2torch.convert(onnx.load(str(missing_weights)))

    thread = threading.Thread(target=weightless)
    thread.start()
    assert entered.wait(timeout=30)
    try:
        plain = onnx2torch.convert(onnx.load(str(full)))  # patches are installed, but not for this thread
        assert all(t.device.type == "cpu" for t in plain.buffers())
    finally:
        release.set()
        thread.join()
    assert {tuple(t.shape): t.device.type for t in seen["weightless"].buffers()}[(64, 64)] == "meta"
    assert_restored()


def test_concurrent_converts(tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path, external=True)
    os.remove(str(path) + ".data")
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(ow.convert(path))
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 20
    assert_restored()
    assert gc.isenabled()


def test_convert_pauses_the_collector_and_restores_it(missing_weights, monkeypatch):
    states = []
    original = ow._convert.build_graph_module

    def spy(*args, **kwargs):
        states.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(ow._convert, "build_graph_module", spy)
    assert gc.isenabled()
    ow.convert(missing_weights)
    assert states == [False] and gc.isenabled()

    with pytest.raises(ow.UnsupportedOperatorError):
        ow.convert(opaque_model_path(missing_weights.parent), strict=True)
    assert gc.isenabled()

    gc.disable()
    try:
        ow.convert(missing_weights)
        assert not gc.isenabled(), "a caller's disabled collector must stay disabled"
    finally:
        gc.enable()


def opaque_model_path(directory):
    node = onnx.helper.make_node("NoSuchOp", ["x"], ["y"], domain="example.custom")
    graph = onnx.helper.make_graph(
        [node],
        "opaque",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])],
    )
    model = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", 17), onnx.helper.make_opsetid("example.custom", 1)]
    )
    path = directory / "opaque.onnx"
    onnx.save(model, path)
    return path
