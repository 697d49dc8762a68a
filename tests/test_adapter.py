"""The adapter refuses, with a message naming what changed, an onnx2torch that lacks what it relies on."""

from __future__ import annotations

import onnx2torch.onnx_graph
import onnx2torch.onnx_tensor
import pytest
from onnx2torch.node_converters import registry

import onnx_weightless as ow
from onnx_weightless import _adapter
from conftest import linear_reshape_model


@pytest.fixture
def unchecked(monkeypatch):
    monkeypatch.setattr(_adapter, "_checked", False)


def test_a_missing_patch_point_is_named(unchecked, monkeypatch, rng):
    monkeypatch.delattr(onnx2torch.onnx_tensor.OnnxTensor, "to_torch")
    with pytest.raises(_adapter.AdapterError, match=r"OnnxTensor.to_torch is missing .*onnx2torch==1.5.15"):
        ow.convert(linear_reshape_model(rng))


def test_a_changed_signature_is_named(unchecked, monkeypatch, rng):
    monkeypatch.setattr(registry, "get_converter", lambda op_type, opset, domain="": None)
    with pytest.raises(_adapter.AdapterError, match=r"get_converter no longer takes .*'version'"):
        ow.convert(linear_reshape_model(rng))


def test_a_missing_member_is_named(unchecked, monkeypatch, rng):
    monkeypatch.delattr(onnx2torch.onnx_graph.OnnxGraph, "value_as_node_output")
    with pytest.raises(_adapter.AdapterError, match=r"OnnxGraph lacks \['value_as_node_output'\]"):
        ow.convert(linear_reshape_model(rng))


def test_the_installed_onnx2torch_passes(unchecked):
    _adapter.check()
