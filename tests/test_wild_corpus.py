"""ONNX files made by other people's tools (tests/wild/, written by `make wild-corpus`): each converts
strictly, the module as returned computes onnxruntime's outputs, its weightless twin's meta forward
called on meta inputs gives onnxruntime's shapes and dtypes, and without its weight files it has the same state."""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest
import torch

import onnx_weightless as ow
from onnx_weightless._converters.registry import opsets_of
from onnx_weightless._value_inputs import value_uses
from tests.conftest import flat_outputs, state_signature
from tests.wild_sweep import FILES, VARIANTS, WILD, WildCase, cases, reference


def test_the_corpus_is_there():
    assert len(FILES) >= 3, FILES


def test_every_variant_names_a_file():
    assert {p.relative_to(WILD).as_posix().removesuffix(".onnx") for p in FILES} >= set(VARIANTS)


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_a_file_made_by_another_tool(case: WildCase, tmp_path):
    feeds, names, expected = reference(case, tmp_path)
    inputs = [torch.from_numpy(np.ascontiguousarray(feeds[name])) for name in names]

    real = ow.convert(case.path, with_weights=True, strict=True)
    assert not any(isinstance(m, ow.OpaqueOp) for m in real.modules())
    with torch.no_grad():
        got = flat_outputs(real(*inputs))  # as returned: no .eval()
    assert len(got) == len(expected)
    for index, (ours, theirs) in enumerate(zip(got, expected)):
        assert tuple(ours.shape) == theirs.shape, (index, tuple(ours.shape), theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-4, rtol=1e-4, err_msg=f"output {index}")

    weightless = ow.convert(case.path, strict=True)
    model = onnx.load(str(case.path), load_external_data=False)
    read_as_values = value_uses(model.graph, opsets_of(model))
    meta_inputs = [t if name in read_as_values else torch.empty(t.shape, dtype=t.dtype, device="meta")
                   for name, t in zip(names, inputs)]
    with torch.no_grad():
        meta = flat_outputs(weightless(*meta_inputs))  # called as returned, on meta inputs
    assert [(tuple(m.shape), m.dtype) for m in meta] == [(tuple(g.shape), g.dtype) for g in got]

    # Without its weight files (if it has any), the same structure.
    alone = tmp_path / case.path.name
    shutil.copyfile(case.path, alone)
    assert state_signature(ow.convert(alone, strict=True)) == state_signature(real)
