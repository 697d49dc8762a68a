"""Weightless conversion gives exactly the structure of the conversion with the weights present.

For each fixture (torchvision CNNs, transformers decoders) and each layout (external data file
deleted; weights embedded in the .onnx): the same parameter and buffer names, shapes and dtypes
and the same FX nodes as ``convert(with_weights=True)``, and a meta forward whose outputs have the
real forward's shapes and dtypes. The with-weights conversion is checked against plain onnx2torch:
same parameters and modules, same outputs; its buffers are onnx2torch's without the copy onnx2torch
makes per use of a shared initializer.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnx2torch
import pytest
import torch

import onnx_weightless as ow
from onnx_weightless._skeleton import load_skeleton
from conftest import flat_outputs
from tests.fixtures.models import LAYOUTS, MODELS, build

WINDOW = 64 * 1024  # the scan's read-ahead window: the most it may over-read per tensor


def _signature(gm: torch.fx.GraphModule):
    params = [(name, tuple(p.shape), p.dtype) for name, p in gm.named_parameters(remove_duplicate=False)]
    buffers = [(name, tuple(b.shape), b.dtype) for name, b in gm.named_buffers(remove_duplicate=False)]
    nodes = [(n.name, n.op, str(n.target)) for n in gm.graph.nodes]
    modules = [(name, type(m).__name__) for name, m in gm.named_modules()]
    return params, buffers, nodes, modules


def _outputs(result):
    return [(tuple(t.shape), t.dtype) for t in flat_outputs(result)]


@functools.lru_cache(maxsize=None)
def _reference(name: str, layout: str):
    """The fixture, its conversion with weights, and that module's real output."""
    fixture = build(name, layout)
    reference = ow.convert(fixture.path, with_weights=True)
    with torch.no_grad():
        real_out = reference(*fixture.example_inputs)
    return fixture, reference, real_out


def test_with_weights_matches_plain_onnx2torch(case):
    fixture, reference, real_out = case
    plain = onnx2torch.convert(onnx.load(str(fixture.path)))
    with torch.no_grad():
        plain_out = plain(*fixture.example_inputs)
    for ours, theirs in zip(flat_outputs(real_out), flat_outputs(plain_out), strict=True):
        assert torch.equal(ours, theirs)
    params, buffers, _, modules = _signature(reference)
    plain_params, plain_buffers, _, plain_modules = _signature(plain)
    assert params == plain_params
    # The same submodules; their types differ where a converter of ours replaces a faulty one.
    assert [name for name, _ in modules] == [name for name, _ in plain_modules]
    # onnx2torch registers one buffer per use of an initializer, numbered in order of use; ours
    # one per initializer. Without sharing the two lists are equal; with it, ours is shorter.
    shared = len(plain_buffers) - len(buffers)
    assert shared >= 0
    if shared == 0:
        assert buffers == plain_buffers
    assert {(shape, dtype) for _, shape, dtype in buffers} == {(shape, dtype) for _, shape, dtype in plain_buffers}


@pytest.fixture(params=[(m, l) for m in MODELS for l in LAYOUTS], ids=lambda p: f"{p[0]}-{p[1]}")
def case(request):
    return _reference(*request.param)


@pytest.fixture(params=MODELS)
def embedded_case(request):
    return _reference(request.param, "embedded")


def _weightless_copy(fixture, folder: Path) -> Path:
    """The model file alone in a fresh folder: for the external layout, the data file is absent."""
    folder.mkdir()
    target = folder / fixture.path.name
    shutil.copyfile(fixture.path, target)
    return target


def _meta_inputs(fixture):
    return [torch.empty(t.shape, dtype=t.dtype, device="meta") for t in fixture.example_inputs]


def test_same_structure_as_with_weights(case, tmp_path):
    fixture, reference, real_out = case
    path = _weightless_copy(fixture, tmp_path / "weightless")
    gm = ow.convert(path)
    assert _signature(gm) == _signature(reference)
    # Everything big is meta; nothing parameter-sized was materialised.
    for name, tensor in list(gm.named_parameters(remove_duplicate=False)) + list(gm.named_buffers(remove_duplicate=False)):
        if tensor.numel() * tensor.element_size() > ow.DEFAULT_SIZE_THRESHOLD:
            assert tensor.device.type == "meta", name
    assert _outputs(ow.meta_forward(gm, *_meta_inputs(fixture))) == _outputs(real_out)


def test_seed_loader_gives_plain_onnx2torch_structure(case, tmp_path):
    fixture, _, _ = case
    path = _weightless_copy(fixture, tmp_path / "weightless")
    with ow.weightless_onnx_loader():
        gm = onnx2torch.convert(onnx.load(str(path)))
    params, buffers, nodes, modules = _signature(gm)
    plain_params, plain_buffers, plain_nodes, plain_modules = _signature(onnx2torch.convert(onnx.load(str(fixture.path))))
    assert (params, buffers, nodes) == (plain_params, plain_buffers, plain_nodes)
    assert [name for name, _ in modules] == [name for name, _ in plain_modules]


def test_embedded_payloads_are_never_read(embedded_case, tmp_path):
    fixture, reference, real_out = embedded_case
    path = _weightless_copy(fixture, tmp_path / "garbage")
    index = ow.scan(path)
    stripped = [t for t in index.tensors if t.storage == "inline" and t.byte_size > ow.DEFAULT_SIZE_THRESHOLD]
    assert stripped, "fixture should embed large tensors"
    # Overwrite every large payload with random bytes: a reader that looked at them would see garbage.
    rng = np.random.default_rng(1)
    with open(path, "r+b") as file:
        for tensor in stripped:
            file.seek(tensor.payload_offset)
            file.write(rng.integers(0, 256, tensor.payload_length, dtype=np.uint8).tobytes())
    original = load_skeleton(fixture.path)
    garbled = load_skeleton(path)
    assert garbled.model.SerializeToString() == original.model.SerializeToString()
    # Bytes read: the graph bytes twice (scan, then the writer copying them) plus at most one
    # read-ahead window per tensor.
    graph_bytes = index.file_size - garbled.stripped_bytes
    assert garbled.bytes_read <= 2 * graph_bytes + WINDOW * len(index.tensors)
    gm = ow.convert(path)
    assert _signature(gm) == _signature(reference)
    assert _outputs(ow.meta_forward(gm, *_meta_inputs(fixture))) == _outputs(real_out)
