"""One ONNX tensor is one torch tensor: layers sharing an initializer share one Parameter, weightless,
with weights and after materialize; tensors folded into attributes are listed."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from conftest import distinct_tensor_elements


def _shared_model(tmp_path, rng) -> str:
    """Two Gemms (transB=1 and transB=0) and two LayerNorms reading the same initializers, an Add
    reading the LayerNorm scale as a plain input, and a ReduceSum-13 whose axes input onnx2torch
    folds into its module's attributes."""
    w = numpy_helper.from_array(rng.standard_normal((16, 16)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b")
    scale = numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "scale")
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["g1"], transB=1),
        helper.make_node("LayerNormalization", ["g1", "scale", "b"], ["n1"]),
        helper.make_node("Gemm", ["n1", "w", "b"], ["g2"], transB=0),
        helper.make_node("LayerNormalization", ["g2", "scale", "b"], ["n2"]),
        helper.make_node("Add", ["n2", "scale"], ["a"]),
        helper.make_node("ReduceSum", ["a", "axes"], ["y"], keepdims=1),
    ]
    graph = helper.make_graph(
        nodes,
        "shared",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 1])],
        initializer=[w, b, scale, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = str(tmp_path / "shared.onnx")
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("with_weights", [False, True], ids=["weightless", "with_weights"])
def test_layers_sharing_an_initializer_share_one_parameter(tmp_path, rng, with_weights):
    gm = ow.convert(_shared_model(tmp_path, rng), with_weights=with_weights)
    named = dict(gm.named_parameters(remove_duplicate=False))
    # The first Gemm holds w itself, the second its transpose: a view of the same storage.
    first, second = named["Gemm.weight"], named["Gemm_1.weight"]
    assert first.untyped_storage()._cdata == second.untyped_storage()._cdata
    assert torch.equal(first.T, second) if with_weights else second.shape == first.T.shape
    assert named["LayerNormalization.weight"] is named["LayerNormalization_1.weight"]
    assert named["Gemm.bias"] is named["Gemm_1.bias"]
    # state_dict still names every holder; parameters() counts each tensor once.
    assert len(gm.state_dict()) > len(list(gm.parameters())) + len(list(gm.buffers()))
    assert gm.meta[ow.TENSORS_NOT_HELD] == {"axes": 1}
    assert ow.inspect(tmp_path / "shared.onnx").parameters == distinct_tensor_elements(gm) + sum(gm.meta[ow.TENSORS_NOT_HELD].values())


def test_weightless_layer_weights_stay_meta_where_other_nodes_read_them(tmp_path, rng):
    gm = ow.convert(_shared_model(tmp_path, rng))
    assert all(p.device.type == "meta" for p in gm.parameters())
    # The Add reads the LayerNorm scale as a buffer: the same meta tensor, not a real copy.
    scale = dict(gm.named_parameters(remove_duplicate=False))["LayerNormalization.weight"]
    buffers = [b for b in gm.buffers() if b.untyped_storage()._cdata == scale.untyped_storage()._cdata]
    assert len(buffers) == 1 and buffers[0].device.type == "meta"


def test_tensors_folded_into_attributes_are_listed(tmp_path, rng):
    path = str(tmp_path / "folded.onnx")
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    unused = numpy_helper.from_array(np.zeros(3, dtype=np.float32), "unused")
    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=1)],
        "folded",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 1])],
        initializer=[axes, unused],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    gm = ow.convert(path)
    assert gm.meta[ow.TENSORS_NOT_HELD] == {"axes": 1, "unused": 3}
    assert ow.inspect(path).parameters == 4


@pytest.mark.parametrize("init", [None, "zeros"])
def test_materialize_keeps_ties(tmp_path, rng, init):
    path = _shared_model(tmp_path, rng)
    gm = ow.materialize(ow.convert(path), path if init is None else None, init=init)
    named = dict(gm.named_parameters(remove_duplicate=False))
    assert named["LayerNormalization.weight"] is named["LayerNormalization_1.weight"]
    assert named["LayerNormalization.weight"].device.type == "cpu"
    x = torch.randn(2, 16)
    if init is None:
        torch.testing.assert_close(gm(x), ow.convert(path, with_weights=True)(x), rtol=0, atol=0)
