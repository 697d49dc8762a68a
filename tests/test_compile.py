"""torch.compile of materialised modules: every file of tests/wild/, converted with integer shapes and
its weights, compiles with ``fullgraph=True, dynamic=True`` (which refuses any graph break) and the
compiled module computes onnxruntime's outputs. The files that do not compile in one graph yet are
listed with the reason, and must still fail (a fixed one is moved out of the list)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import onnx_weightless as ow
from tests.conftest import flat_outputs
from tests.wild_sweep import WILD, WildCase, cases, reference

#: Case name -> why it does not compile in one graph yet.
NOT_ONE_GRAPH: dict[str, str] = {}

FILES = [case for case in cases() if not case.variant]


def _compile(module: torch.nn.Module, backend: str = "eager") -> torch.nn.Module:
    torch._dynamo.reset()
    return torch.compile(module, fullgraph=True, dynamic=True, backend=backend)


def _check(case: WildCase, compiled: torch.nn.Module, tmp_path: Path) -> None:
    feeds, names, expected = reference(case, tmp_path)
    with torch.no_grad():
        got = flat_outputs(compiled(*[torch.from_numpy(np.ascontiguousarray(feeds[name])) for name in names]))
    assert len(got) == len(expected)
    for index, (ours, theirs) in enumerate(zip(got, expected)):
        assert tuple(ours.shape) == theirs.shape, (index, tuple(ours.shape), theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-4, rtol=1e-4, err_msg=f"output {index}")


# NonZero's and Unique's output sizes are data: torch.compile traces them as unbacked sizes when
# asked to (they are a graph break otherwise).
@torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True, capture_scalar_outputs=True)
@pytest.mark.parametrize("case", FILES, ids=lambda case: case.name)
def test_a_materialised_module_compiles_in_one_graph(case: WildCase, tmp_path: Path):
    module = ow.convert(case.path, with_weights=True, integer_shapes=True)
    compiled = _compile(module)
    if case.name in NOT_ONE_GRAPH:
        with pytest.raises(Exception):  # noqa: PT011 - whatever dynamo raises on the graph break
            _check(case, compiled, tmp_path)
        return
    _check(case, compiled, tmp_path)


def test_inductor_compiles_a_materialised_module(tmp_path: Path):
    # torch.compile's default backend, generating and building C++ kernels for the CPU.
    (case,) = [case for case in FILES if case.path == WILD / "tf2onnx" / "cnn_nhwc.onnx"]
    _check(case, _compile(ow.convert(case.path, with_weights=True, integer_shapes=True), backend="inductor"), tmp_path)


def test_every_listed_failure_names_a_file():
    assert set(NOT_ONE_GRAPH) <= {case.name for case in FILES}
