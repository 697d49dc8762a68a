"""`onnx-weightless check` and `strip`: external data checked without reading it; skeletons
written as new files only, whose stripped tensors resolve to the original model's bytes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import jsonschema
import onnx
import pytest
import torch
from onnx import numpy_helper

import onnx_weightless as ow
from conftest import files_in, linear_reshape_model, save

REPO = Path(__file__).resolve().parent.parent


def run(cli, *args):
    return subprocess.run([cli, *map(str, args)], capture_output=True, text=True)


def check_json(cli, path):
    result = run(cli, "check", "--json", path)
    return result.returncode, json.loads(result.stdout)


def test_check_present_missing_truncated(cli, tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path, external=True)
    data = tmp_path / "model.onnx.data"
    status, report = check_json(cli, path)
    assert status == 0 and report["ok"]
    (file,) = report["files"]
    assert file["location"] == "model.onnx.data" and file["state"] == "present"
    assert file["required_size"] <= file["size"] == data.stat().st_size

    with open(data, "r+b") as f:
        f.truncate(data.stat().st_size - 16)
    status, report = check_json(cli, path)
    assert status == 1 and not report["ok"]
    assert "beyond the file's" in report["files"][0]["problems"][0]["problem"]
    text = run(cli, "check", path)
    assert text.returncode == 1 and "problems found" in text.stdout

    os.remove(data)
    status, report = check_json(cli, path)
    assert status == 1 and report["files"][0]["state"] == "missing"


def test_check_refuses_escaping_locations(cli, tmp_path, rng):
    model = linear_reshape_model(rng)
    inner = tmp_path / "inner"
    path = save(model, inner, external=True)
    escaped = onnx.load(str(path), load_external_data=False)
    for tensor in escaped.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../model.onnx.data"
    onnx.save(escaped, str(path))
    os.replace(inner / "model.onnx.data", tmp_path / "model.onnx.data")
    status, report = check_json(cli, path)
    assert status == 1 and report["files"][0]["state"] == "refused"


def test_check_without_external_data(cli, tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path)
    result = run(cli, "check", path)
    assert result.returncode == 0 and "no external data" in result.stdout


def test_strip_writes_a_skeleton_that_resolves_to_the_original(cli, tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path)
    skeleton = tmp_path / "skeleton.onnx"
    before = files_in(tmp_path)
    result = run(cli, "strip", path, "-o", skeleton)
    assert result.returncode == 0, result.stderr
    assert files_in(tmp_path) == before | {"skeleton.onnx"}
    assert skeleton.stat().st_size < path.stat().st_size / 4
    stripped = [t for t in onnx.load(str(skeleton), load_external_data=False).graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL]
    assert stripped and all({e.key: e.value for e in t.external_data}["location"] == "model.onnx" for t in stripped)
    # Next to the model, the skeleton's weights are the model's own bytes.
    original = ow.convert(path, with_weights=True)
    rebuilt = ow.convert(skeleton, with_weights=True)
    x = torch.randn(2, 64)
    torch.testing.assert_close(rebuilt(x), original(x), rtol=0, atol=0)
    # Elsewhere, they are missing: the skeleton alone still converts weightless.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.replace(skeleton, elsewhere / "skeleton.onnx")
    assert ow.meta_forward(ow.convert(elsewhere / "skeleton.onnx"), x.to("meta")).shape == (2, 8, 8)


def test_strip_never_overwrites_by_accident(cli, tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path)
    original = path.read_bytes()
    itself = run(cli, "strip", path, "-o", path)
    assert itself.returncode == 1 and "the model itself" in itself.stderr
    existing = tmp_path / "existing.onnx"
    existing.write_bytes(b"keep")
    refused = run(cli, "strip", path, "-o", existing)
    assert refused.returncode == 1 and "--force" in refused.stderr and existing.read_bytes() == b"keep"
    assert run(cli, "strip", path, "-o", existing, "--force").returncode == 0
    assert existing.read_bytes() != b"keep" and path.read_bytes() == original


def test_strip_of_a_malformed_file_writes_nothing(cli, tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(path.read_bytes()[:-9])
    before = files_in(tmp_path)
    result = run(cli, "strip", broken, "-o", tmp_path / "out.onnx")
    assert result.returncode == 2 and "onnx-weightless:" in result.stderr
    assert files_in(tmp_path) == before


def test_python_strip_matches_the_cli(cli, tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path)
    size = ow.strip(path, tmp_path / "py.onnx")
    assert run(cli, "strip", path, "-o", tmp_path / "cli.onnx").returncode == 0
    assert (tmp_path / "py.onnx").read_bytes() == (tmp_path / "cli.onnx").read_bytes()
    assert size == (tmp_path / "py.onnx").stat().st_size
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ow.strip(path, tmp_path / "py.onnx")
    with pytest.raises(ValueError, match="refusing to replace the model"):
        ow.strip(path, path)
    assert not [name for name in files_in(tmp_path) if name.endswith(".partial")]


def test_strip_manifest_hashes_the_data_that_is_present(cli, tmp_path, rng):
    model = linear_reshape_model(rng)
    path = save(model, tmp_path, external=True)
    manifest = tmp_path / "skeleton.json"
    assert run(cli, "strip", path, "-o", tmp_path / "skeleton.onnx", "--manifest", manifest).returncode == 0
    data = json.loads(manifest.read_text())
    schema = json.loads((REPO / "docs" / "schemas" / "manifest.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["model"] == "model.onnx" and data["skeleton"] == "skeleton.onnx"
    by_name = {t["name"]: t for t in data["tensors"]}
    for tensor in model.graph.initializer:
        entry = by_name[tensor.name]
        raw = numpy_helper.to_array(tensor).tobytes()
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest(), tensor.name
        assert entry["bytes"] == len(raw)
    # Without the data file, the external tensors have no digest; the inline ones still do.
    os.remove(str(path) + ".data")
    assert run(cli, "strip", path, "-o", tmp_path / "skeleton.onnx", "--manifest", manifest, "--force").returncode == 0
    entries = json.loads(manifest.read_text())["tensors"]
    assert {e["storage"]: e["sha256"] is None for e in entries} == {"external": True, "inline": False}


def test_python_strip_writes_the_cli_manifest(cli, tmp_path, rng):
    path = save(linear_reshape_model(rng), tmp_path, external=True)
    ow.strip(path, tmp_path / "py.onnx", manifest=tmp_path / "py.json")
    assert run(cli, "strip", path, "-o", tmp_path / "cli.onnx", "--manifest", tmp_path / "cli.json").returncode == 0
    ours, theirs = json.loads((tmp_path / "py.json").read_text()), json.loads((tmp_path / "cli.json").read_text())
    assert ours.pop("skeleton") == "py.onnx" and theirs.pop("skeleton") == "cli.onnx"
    assert ours == theirs and all(t["sha256"] for t in ours["tensors"])
    # An existing manifest is refused before anything is written.
    (tmp_path / "py.onnx").unlink()
    with pytest.raises(FileExistsError, match="py.json exists; pass overwrite=True"):
        ow.strip(path, tmp_path / "py.onnx", manifest=tmp_path / "py.json")
    assert not (tmp_path / "py.onnx").exists()
