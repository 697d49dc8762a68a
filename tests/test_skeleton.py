"""load(): the skeleton is a valid model whose stripped tensors point at their real bytes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from conftest import linear_reshape_model, make_model, save
from tests.fixtures.models import build


def _stripped(model):
    return [t for t in model.graph.initializer if t.data_location == TensorProto.EXTERNAL]


@pytest.mark.parametrize("name", ["resnet18", "llama_tiny"])
def test_skeleton_passes_checker_and_shape_inference_like_the_original(name, tmp_path):
    fixture = build(name, "embedded")
    model_path = tmp_path / "model.onnx"
    shutil.copyfile(fixture.path, model_path)
    skeleton = ow.load(model_path)
    assert len(skeleton.SerializeToString()) < 0.2 * os.path.getsize(model_path)
    # The checker insists that referenced files exist: saved next to the model, the skeleton's
    # references (into model.onnx) resolve.
    skeleton_path = tmp_path / "skeleton.onnx"
    onnx.save_model(skeleton, str(skeleton_path))
    onnx.checker.check_model(str(skeleton_path))
    original = onnx.load(str(fixture.path))
    inferred = onnx.shape_inference.infer_shapes(skeleton)
    expected = onnx.shape_inference.infer_shapes(original)
    assert [str(v) for v in inferred.graph.value_info] == [str(v) for v in expected.graph.value_info]


def test_stripped_tensors_reference_their_bytes_in_the_model_file(tmp_path, rng):
    model = linear_reshape_model(rng)
    path = save(model, tmp_path)
    skeleton = ow.load(path)
    (weight,) = _stripped(skeleton)
    entries = {e.key: e.value for e in weight.external_data}
    assert entries["location"] == "model.onnx"
    assert (weight.name, list(weight.dims), weight.data_type) == ("W", [64, 64], TensorProto.FLOAT)
    with open(path, "rb") as file:
        file.seek(int(entries["offset"]))
        data = file.read(int(entries["length"]))
    np.testing.assert_array_equal(np.frombuffer(data, np.float32).reshape(64, 64),
                                  numpy_helper.to_array(model.graph.initializer[0]))
    # onnx itself can load the skeleton's data back from those references.
    onnx.load_external_data_for_model(skeleton, str(tmp_path))
    assert skeleton.graph.initializer[0].raw_data == model.graph.initializer[0].raw_data


def test_everything_else_is_kept(tmp_path, rng):
    model = linear_reshape_model(rng)
    model.doc_string = "kept"
    model.metadata_props.add(key="k", value="v")
    path = save(model, tmp_path)
    skeleton = ow.load(path)
    for tensor in _stripped(skeleton):
        tensor.ClearField("external_data")
        tensor.ClearField("data_location")
    original = onnx.load(str(path))
    for tensor in original.graph.initializer:
        if tensor.name == "W":
            tensor.ClearField("raw_data")
    assert skeleton == original


def test_typed_payload_fields_are_decoded_when_read_back(tmp_path):
    # int64_data is varint-encoded: its bytes are not raw_data, so the reference says which field.
    values = np.arange(300, dtype=np.int64) * 1000
    shape_tensor = helper.make_tensor("big", TensorProto.INT64, [300], vals=values.tolist())
    node = helper.make_node("Identity", ["big"], ["y"], name="id")
    model = make_model([node], [], [helper.make_tensor_value_info("y", TensorProto.INT64, [300])], [shape_tensor])
    path = save(model, tmp_path)
    (tensor,) = _stripped(ow.load(path))
    assert {e.key: e.value for e in tensor.external_data}["onnx_weightless.field"] == "int64_data"
    (buffer,) = ow.convert(path, size_threshold=1 << 20).buffers()
    assert buffer.tolist() == values.tolist()


def test_malformed_file_raises_format_error_with_offset(tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ow.FormatError, match=r"byte offset \d+"):
        ow.load(truncated)
    with pytest.raises(ow.FormatError):
        ow.convert(truncated)


def test_unreadable_file_raises_model_read_error(tmp_path):
    with pytest.raises(ow.ModelReadError, match="cannot open"):
        ow.load(tmp_path / "absent.onnx")
    with pytest.raises(ow.ModelReadError, match="not a regular file"):
        ow.load(tmp_path)


def test_cli_inspect(cli, rng, tmp_path):
    path = save(linear_reshape_model(rng), tmp_path, external=True)
    os.remove(str(path) + ".data")
    table = subprocess.run([cli, "inspect", str(path)], check=True, capture_output=True, text=True).stdout
    assert "3 nodes" in table and "model.onnx.data" in table and "FLOAT" in table
    report = json.loads(subprocess.run([cli, "inspect", "--json", str(path)], check=True, capture_output=True,
                                       text=True).stdout)
    assert report["nodes"] == 3
    assert report["op_histogram"] == {"MatMul": 1, "Add": 1, "Reshape": 1}
    assert report["tensors"] == {"tensors": 3, "elements": 64 * 64 + 64 + 3, "bytes": (64 * 64 + 64) * 4 + 24}
    assert report["external_files"]["model.onnx.data"]["tensors"] == 1
    assert report["by_storage"]["inline"]["tensors"] == 2


def test_cli_reports_bad_input(cli, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x3a\xff\xff\xff\x0f")  # graph field claiming 4 GiB
    result = subprocess.run([cli, "inspect", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "runs past its end" in result.stderr and "offset" in result.stderr
