"""Shared helpers: small models built with onnx.helper, saved under pytest's tmp_path."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.fixtures


def pytest_addoption(parser):
    parser.addoption("--onnx-version", help="fail unless this onnx release is the one imported")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cli_parity: compares the CLI's figures with Python's; both must run the same onnx release's "
        "shape inference (the CLI carries the newest, so the oldest-onnx run deselects these)")
    wanted = config.getoption("--onnx-version")
    if wanted and onnx.__version__ != wanted:
        raise pytest.UsageError(f"expected onnx {wanted}, imported onnx {onnx.__version__} from {onnx.__file__}")


def save(model: onnx.ModelProto, folder: Path, name: str = "model.onnx", external: bool = False,
         size_threshold: int = 1024) -> Path:
    """Saves ``model``; with ``external`` its tensors above ``size_threshold`` go to ``<name>.data``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if external:
        model = copy.deepcopy(model)  # save_model moves the data out of the proto it is given
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=name + ".data", size_threshold=size_threshold)
    else:
        onnx.save_model(model, str(path))
    return path


def make_model(nodes, inputs, outputs, initializers=(), opset: int = 17, **graph_kwargs) -> onnx.ModelProto:
    graph = helper.make_graph(list(nodes), "g", list(inputs), list(outputs), initializer=list(initializers),
                              **graph_kwargs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def flat_outputs(result) -> list:
    """A module's outputs as a list, whether it returned one tensor or several."""
    return list(result) if isinstance(result, (tuple, list)) else [result]


def assert_runs_like_onnxruntime(module, path: Path, feeds_list) -> None:
    """``module`` (with the model's weights) gives onnxruntime's outputs of the model at ``path`` on
    each feed (input name -> array, in the graph's input order), at atol and rtol 1e-4."""
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for feeds in feeds_list:
        expected = session.run(None, feeds)
        with torch.no_grad():
            got = flat_outputs(module(*[torch.from_numpy(np.ascontiguousarray(value)) for value in feeds.values()]))
        assert len(got) == len(expected)
        for ours, theirs in zip(got, expected):
            assert tuple(ours.shape) == theirs.shape
            np.testing.assert_allclose(ours.detach().numpy(), theirs, atol=1e-4, rtol=1e-4)


def state_signature(gm) -> list:
    """(name, shape, dtype) of every parameter and buffer, in order."""
    return [(name, tuple(t.shape), t.dtype) for name, t in gm.state_dict().items()]


def distinct_tensor_elements(gm) -> int:
    """Elements of the distinct tensors a module holds: parameters and buffers counted once per
    storage (tied copies and views of one ONNX tensor count once)."""
    storages = {t.untyped_storage()._cdata: t.untyped_storage().nbytes() // t.element_size() for t in [*gm.parameters(), *gm.buffers()]}
    return sum(storages.values())


def linear_reshape_model(rng: np.random.Generator) -> onnx.ModelProto:
    """x[2,64] @ W[64,64] + b, reshaped to [2, 8, 8] by a shape initializer: a weight, a small
    constant used in arithmetic and a constant read as values."""
    w = numpy_helper.from_array(rng.standard_normal((64, 64)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal((64,)).astype(np.float32), "b")
    shape = numpy_helper.from_array(np.array([2, 8, 8], dtype=np.int64), "shape")
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["h"], name="matmul"),
        helper.make_node("Add", ["h", "b"], ["hb"], name="add"),
        helper.make_node("Reshape", ["hb", "shape"], ["y"], name="reshape"),
    ]
    return make_model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8, 8])],
        [w, b, shape],
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def files_in(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def cli() -> str:
    """Path of the onnx-weightless executable (set by the Makefile, else looked up on PATH)."""
    found = os.environ.get("ONNX_WEIGHTLESS_CLI") or str(REPO / "build" / "cpp" / "onnx-weightless")
    if not os.path.exists(found):
        pytest.fail(f"onnx-weightless executable not found at {found}: run `make cpp` first")
    return found
