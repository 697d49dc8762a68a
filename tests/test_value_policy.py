"""The value policy: weights meta, small constants real, values-read constants always real."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import onnx
import onnx2torch
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from conftest import files_in, linear_reshape_model, make_model, save


def _buffers(gm):
    return dict(gm.named_buffers())


def test_weights_are_meta_and_small_constants_real(tmp_path, rng):
    model = linear_reshape_model(rng)
    path = save(model, tmp_path)
    gm = ow.convert(path)
    buffers = _buffers(gm)
    by_shape = {tuple(t.shape): t for t in buffers.values()}
    assert by_shape[(64, 64)].device.type == "meta"  # 16 KiB weight
    assert by_shape[(64,)].device.type == "cpu"  # 256-byte bias: small and at hand
    np.testing.assert_array_equal(by_shape[(64,)].numpy(), numpy_helper.to_array(model.graph.initializer[1]))
    assert by_shape[(3,)].tolist() == [2, 8, 8]  # the Reshape shape keeps its values


def test_meta_forward_matches_real_forward_shapes(tmp_path, rng):
    model = linear_reshape_model(rng)
    path = save(model, tmp_path)
    real = onnx2torch.convert(onnx.load(path))(torch.randn(2, 64))
    out = ow.meta_forward(ow.convert(path), torch.empty(2, 64, device="meta"))
    assert out.device.type == "meta"
    assert (out.shape, out.dtype) == (real.shape, real.dtype)


def test_size_threshold_decides_what_is_real(tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path)
    everything_real = ow.convert(path, size_threshold=1 << 20)
    assert all(t.device.type == "cpu" for t in everything_real.buffers())
    nothing_small = ow.convert(path, size_threshold=0)
    devices = {tuple(t.shape): t.device.type for t in nothing_small.buffers()}
    assert devices == {(64, 64): "meta", (64,): "meta", (3,): "cpu"}  # the shape is still read as values


def test_small_tensor_in_present_external_file_is_read(tmp_path, rng):
    model = linear_reshape_model(rng)
    path = save(model, tmp_path, external=True, size_threshold=0)  # even the shape goes external
    gm = ow.convert(path)
    by_shape = {tuple(t.shape): t for t in gm.buffers()}
    assert by_shape[(3,)].tolist() == [2, 8, 8]
    np.testing.assert_array_equal(by_shape[(64,)].numpy(), numpy_helper.to_array(model.graph.initializer[1]))
    assert by_shape[(64, 64)].device.type == "meta"


def test_values_in_a_missing_file_name_tensor_op_and_file(tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path, external=True, size_threshold=0)
    os.remove(str(path) + ".data")
    with pytest.raises(ow.MissingWeightsError) as caught:
        ow.convert(path)
    message = str(caught.value)
    assert "'shape'" in message and "Reshape node 'reshape'" in message and "model.onnx.data" in message


def test_values_in_a_missing_file_fail_inside_the_seed_loader_too(tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path, external=True, size_threshold=0)
    os.remove(str(path) + ".data")
    with ow.weightless_onnx_loader(), pytest.raises(ow.MissingWeightsError, match="Reshape"):
        onnx2torch.convert(onnx.load(path))


def test_weights_in_missing_file_are_fine(tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path, external=True)
    os.remove(str(path) + ".data")
    gm = ow.convert(path)
    assert {tuple(t.shape): t.device.type for t in gm.buffers()} == {(64, 64): "meta", (64,): "cpu", (3,): "cpu"}


def test_constant_node_feeding_values_stays_real(tmp_path, rng):
    # A large Constant (over the threshold) read as Reshape's shape must still be real.
    big_shape = np.array([2, 64] + [1] * 200, dtype=np.int64)  # 1616 bytes
    nodes = [
        helper.make_node("Constant", [], ["s"], name="const_shape", value=numpy_helper.from_array(big_shape)),
        helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape"),
    ]
    model = make_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [int(d) for d in big_shape])])
    path = save(model, tmp_path)
    gm = ow.convert(path)
    out = ow.meta_forward(gm, torch.empty(2, 64, device="meta"))
    assert tuple(out.shape) == tuple(big_shape)


def test_nothing_is_written_next_to_the_model(tmp_path, rng, monkeypatch):
    path = save(linear_reshape_model(rng), tmp_path, external=True)
    before = files_in(tmp_path)
    # onnx2torch's own path shape inference writes a temporary copy next to the model and deletes
    # it afterwards, which a before/after listing cannot see: any temporary file fails the test.
    def no_temporary_files(*args, **kwargs):
        raise AssertionError(f"temporary file created: {args} {kwargs}")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", no_temporary_files)
    monkeypatch.setattr(tempfile, "TemporaryDirectory", no_temporary_files)
    ow.convert(path)
    with ow.weightless_onnx_loader():
        onnx2torch.convert(str(path))
    assert files_in(tmp_path) == before


def test_in_memory_model_without_base_dir_makes_external_weights_meta(tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path, external=True)
    skeleton = ow.load(path)
    gm = ow.convert(skeleton)  # folder unknown: external tensors cannot be read, and none is needed
    assert {tuple(t.shape): t.device.type for t in gm.buffers()} == {(64, 64): "meta", (64,): "cpu", (3,): "cpu"}
    gm = ow.convert(skeleton, base_dir=tmp_path, size_threshold=1 << 20)
    assert all(t.device.type == "cpu" for t in gm.buffers())
