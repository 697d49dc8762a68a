"""The Hugging Face hub cache layout (snapshots/<rev>/model.onnx and its data file are symlinks
into blobs/) works on every path that opens external data; escapes from it are refused."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import torch

import onnx_weightless as ow
from conftest import linear_reshape_model, save


@pytest.fixture
def hub_model(tmp_path, rng):
    """<tmp>/models--org--name/snapshots/rev/model.onnx -> ../../blobs/<model>, data likewise."""
    repo = tmp_path / "models--org--name"
    exported = save(linear_reshape_model(rng), tmp_path / "export", external=True)
    (repo / "blobs").mkdir(parents=True)
    (repo / "snapshots" / "rev").mkdir(parents=True)
    os.replace(exported, repo / "blobs" / "1111")
    os.replace(str(exported) + ".data", repo / "blobs" / "2222")
    os.symlink("../../blobs/1111", repo / "snapshots" / "rev" / "model.onnx")
    os.symlink("../../blobs/2222", repo / "snapshots" / "rev" / "model.onnx.data")
    return repo / "snapshots" / "rev" / "model.onnx"


def test_convert_with_weights_and_materialize_read_through_the_symlinks(hub_model):
    reference = ow.convert(hub_model, with_weights=True)
    gm = ow.materialize(ow.convert(hub_model), hub_model)
    x = torch.randn(2, 64)
    torch.testing.assert_close(gm(x), reference(x), rtol=0, atol=0)
    # The folder alone (a ModelProto with base_dir) does not reach blobs/: only the model file's own folder is added.
    with pytest.raises(ow.ExternalDataError, match="outside the model folder"):
        ow.convert(ow.load(hub_model), base_dir=hub_model.parent, with_weights=True)


def test_check_and_manifest_see_the_data_as_present(cli, hub_model, tmp_path):
    result = subprocess.run([cli, "check", "--json", str(hub_model)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (file,) = json.loads(result.stdout)["files"]
    assert file["state"] == "present"
    ow.strip(hub_model, tmp_path / "skeleton.onnx", manifest=tmp_path / "manifest.json")
    tensors = json.loads((tmp_path / "manifest.json").read_text())["tensors"]
    assert all(t["sha256"] for t in tensors if t["storage"] == "external")


def test_a_data_symlink_leaving_both_folders_is_refused(cli, hub_model, tmp_path):
    data = hub_model.parent / "model.onnx.data"
    (tmp_path / "elsewhere").mkdir()
    os.replace(os.path.realpath(data), tmp_path / "elsewhere" / "data")
    data.unlink()
    os.symlink("../../../elsewhere/data", data)
    result = subprocess.run([cli, "check", str(hub_model)], capture_output=True, text=True)
    assert result.returncode == 1 and "refused" in result.stdout and "outside the model folder" in result.stdout
    with pytest.raises(ow.ExternalDataError, match="outside the model folder"):
        ow.convert(hub_model, with_weights=True)
    # The weightless conversion needs no weights, so it still works, with meta weights.
    assert any(t.device.type == "meta" for t in ow.convert(hub_model).state_dict().values())
