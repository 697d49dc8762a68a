"""The CLI's output: JSON validated against the published schemas (docs/schemas), and the
readable tables compared with golden files (ONNX_WEIGHTLESS_UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import linear_reshape_model, save
from tests.fixtures.architectures import build

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "docs" / "schemas"
GOLDEN = Path(__file__).resolve().parent / "golden"


def _schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def _golden_model(folder: Path) -> Path:
    """A small fixed model: Conv -> Relu -> MaxPool -> Flatten -> Gemm, one weight in an absent
    data file, a symbolic batch, shapes declared for every value."""
    conv_w = numpy_helper.from_array(np.arange(8 * 3 * 3 * 3, dtype=np.float32).reshape(8, 3, 3, 3) / 100, "conv.weight")
    fc_w = numpy_helper.from_array(np.ones((10, 8 * 4 * 4), dtype=np.float32), "fc.weight")
    fc_b = numpy_helper.from_array(np.zeros(10, dtype=np.float32), "fc.bias")
    onnx.external_data_helper.set_external_data(fc_w, "golden.onnx.data")
    fc_w.ClearField("raw_data")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="conv", pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"], name="relu"),
            helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
            helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="fc", transB=1),
        ],
        "golden",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        [conv_w, fc_w, fc_b],
        value_info=[
            helper.make_tensor_value_info("c", TensorProto.FLOAT, ["batch", 8, 8, 8]),
            helper.make_tensor_value_info("r", TensorProto.FLOAT, ["batch", 8, 8, 8]),
            helper.make_tensor_value_info("p", TensorProto.FLOAT, ["batch", 8, 4, 4]),
            helper.make_tensor_value_info("f", TensorProto.FLOAT, ["batch", 128]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8,
                              producer_name="onnx-weightless-tests", producer_version="1")
    path = folder / "golden.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def _readable(cli: str, folder: Path, *args: str) -> str:
    out = subprocess.run([cli, *args], cwd=folder, capture_output=True, text=True, check=True).stdout
    return _normalized(out, folder)


def _normalized(out: str, folder: Path) -> str:
    return re.sub(r" in [0-9.]+ ms", " in <time> ms", out).replace(str(folder), "<folder>")


@pytest.mark.parametrize(
    "name, args",
    [
        ("inspect", ("inspect", "golden.onnx")),
        ("inspect_dims", ("inspect", "--dim", "batch=4", "--largest", "3", "golden.onnx")),
        ("check", ("check", "golden.onnx")),
    ],
)
def test_readable_output_is_the_golden_one(cli, tmp_path, name, args):
    _golden_model(tmp_path)
    try:
        out = _readable(cli, tmp_path, *args)
    except subprocess.CalledProcessError as failed:  # check exits 1: the data file is absent
        assert name == "check" and failed.returncode == 1
        out = _normalized(failed.stdout, tmp_path)
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("ONNX_WEIGHTLESS_UPDATE_GOLDEN") == "1":
        golden.write_text(out)
    expected = golden.read_text()
    assert out == expected, "\n" + "".join(difflib.unified_diff(expected.splitlines(True), out.splitlines(True)))


def _inspect_json(cli: str, path: Path, *args: str) -> dict:
    out = subprocess.run([cli, "inspect", "--json", *args, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("fixture", [("resnet18", 17, "external"), ("gpt2", "default", "embedded"),
                                     ("bert_ort_fused", "default", "external")], ids=str)
def test_inspect_json_follows_the_schema(cli, tmp_path, fixture):
    built = build(*fixture)
    alone = tmp_path / "model.onnx"
    shutil.copyfile(built.path, alone)  # external data left behind
    jsonschema.validate(_inspect_json(cli, alone, "--dim", "batch=1", "--dim", "sequence=8"), _schema("inspect"))


def test_inspect_json_of_the_demo_and_golden_models(cli, tmp_path):
    jsonschema.validate(_inspect_json(cli, REPO / "models" / "llama3-8b.onnx"), _schema("inspect"))
    data = _inspect_json(cli, _golden_model(tmp_path), "--dim", "batch=2")
    jsonschema.validate(data, _schema("inspect"))
    # Conv 2x8x8x8 outputs x 27, Gemm 2x10 outputs x 128.
    assert data["analysis"]["macs"] == 2 * 8 * 8 * 8 * 27 + 2 * 10 * 128


def test_schemas_reject_what_they_should(cli, tmp_path):
    data = _inspect_json(cli, _golden_model(tmp_path))
    data["analysis"]["macs"] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, _schema("inspect"))


def test_check_json_follows_the_schema(cli, tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path, external=True)

    def checked() -> dict:
        data = json.loads(subprocess.run([cli, "check", "--json", str(path)], capture_output=True, text=True).stdout)
        jsonschema.validate(data, _schema("check"))
        return data

    assert checked()["files"][0]["state"] == "present"
    os.remove(str(path) + ".data")
    assert checked()["files"][0]["state"] == "missing"
