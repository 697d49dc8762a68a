"""diff() and `onnx-weightless diff`: two exports of one model compared without their weights: an
fp32 export against onnxruntime-genai's int4 one, an opset 17 export against an opset 20 one, a
model against itself and its skeleton, and edits of a single attribute, input and tensor."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import onnx
import pytest
from onnx import TensorProto, helper

import onnx_weightless as ow
from tests.fixtures.architectures import build
from tests.wild_sweep import WILD

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "schemas" / "diff.schema.json").read_text())
FP32 = WILD / "genai" / "llama-fp32" / "model.onnx"
INT4 = WILD / "genai" / "llama-int4" / "model.onnx"


def _cli_diff(cli: str, a, b) -> tuple[int, dict]:
    done = subprocess.run([cli, "diff", "--json", str(a), str(b)], capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, SCHEMA)
    return done.returncode, data


def test_int4_quantization_replaces_every_matmul_and_shrinks_the_weights(cli):
    d = ow.diff(FP32, INT4)
    assert not d.identical
    ops = {change.name: (change.before, change.after) for change in d.ops}
    assert ops["MatMul"] == (11, 0) and ops["com.microsoft::MatMulNBits"] == (0, 11)
    assert ops["com.microsoft::GatherBlockQuantized"] == (0, 1)
    # The quantized MatMuls are aligned with the ones they replace (by name scope: .../MatMul_Q4).
    replaced = [n for n in d.nodes_changed if (n.op_before, n.op_after) == ("MatMul", "com.microsoft::MatMulNBits")]
    assert len(replaced) == 11
    assert all(n.name_after == n.name_before + "_Q4" and n.inputs_after == 3 for n in replaced)
    assert {a.name: a.after for a in replaced[0].attributes}.items() >= {"bits": "4", "block_size": "32"}.items()
    # fp32 weights [K, N] removed; uint8 blocks [N, K/32, 16] and their scales added.
    removed = {t.name: t for t in d.tensors if t.change == "removed"}
    added = {t.name: t for t in d.tensors if t.change == "added"}
    assert removed["model.layers.0.mlp.down_proj.MatMul.weight"].dims_before == [128, 64]
    packed = added["model.layers.0.mlp.down_proj.MatMul.weight_Q4"]
    assert (packed.dtype_after, packed.dims_after) == ("UINT8", [64, 4, 16])
    assert d.weights_after.bytes < d.weights_before.bytes / 4
    # The same multiply-accumulates, and the same inputs and outputs.
    assert d.macs_before == d.macs_after and str(d.macs_after) == "90112*batch_size*sequence_length"
    assert d.inputs == [] and d.outputs == [] and d.opsets == []

    status, data = _cli_diff(cli, FP32, INT4)
    assert status == 1 and not data["identical"]
    assert [(o["name"], o["before"], o["after"]) for o in data["ops"]] == [(c.name, c.before, c.after) for c in d.ops]
    assert len(data["nodes"]["changed"]) == len(d.nodes_changed) and len(data["tensors"]) == len(d.tensors)
    assert data["totals"]["after"]["weights"]["bytes"] == d.weights_after.bytes


def test_opset_17_and_opset_20_exports_of_one_model(cli):
    old, new = build("llama", 17, "embedded").path, build("llama", "default", "embedded").path
    d = ow.diff(old, new)
    assert [(o.name, o.before, o.after) for o in d.opsets] == [("", 17, 20)]
    assert (d.ir_before, d.ir_after) == (8, 10)
    # Two exporters, one model: the same weights and inputs, and the same MACs once sized in full.
    assert d.weights_before.elements == pytest.approx(d.weights_after.elements, rel=1e-3)
    assert d.macs_before == d.macs_after == ow.inspect(new).analysis.macs
    # The TorchScript exporter's Constant nodes are initializers in the dynamo export.
    ops = {change.name: (change.before, change.after) for change in d.ops}
    assert ops["Constant"][0] > 0 and ops["Constant"][1] == 0
    status, data = _cli_diff(cli, old, new)
    assert status == 1 and data["opsets"] == [{"name": "", "before": 17, "after": 20}]


def test_a_model_is_identical_to_itself_and_to_its_skeleton(cli, tmp_path):
    model = Path(__file__).resolve().parents[1] / "models" / "llama3-8b.onnx"
    skeleton = tmp_path / "skeleton.onnx"
    ow.strip(model, skeleton, size_threshold=0)
    for other in (model, skeleton):
        d = ow.diff(model, other)
        assert d.identical and d.ops == [] and d.tensors == [] and d.nodes_changed == []
        assert d.matched_by_name == d.nodes_before == d.nodes_after
        status, data = _cli_diff(cli, model, other)
        assert status == 0 and data["identical"]


def _small_model(path: Path, *, pads: int = 1, batch: str | int = "batch", weight_dims=(8, 3, 3, 3)) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[pads] * 4),
         helper.make_node("Relu", ["y"], ["z"], name="relu")],
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 8, 8])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        [helper.make_tensor("w", TensorProto.FLOAT, weight_dims, [0.0] * (weight_dims[0] * 27))],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_one_edit_is_reported_where_it_was_made(tmp_path):
    base = _small_model(tmp_path / "base.onnx")
    d = ow.diff(base, _small_model(tmp_path / "pads.onnx", pads=0))
    assert [(n.name_before, [(a.name, a.before, a.after) for a in n.attributes]) for n in d.nodes_changed] == [
        ("conv", [("pads", "[1, 1, 1, 1]", "[0, 0, 0, 0]")])]
    assert d.tensors == [] and d.inputs == [] and not d.identical
    d = ow.diff(base, _small_model(tmp_path / "batch.onnx", batch=4))
    assert [(c.name, c.before, c.after) for c in d.inputs] == [("x", "FLOAT[batch, 3, 8, 8]", "FLOAT[4, 3, 8, 8]")]
    d = ow.diff(base, _small_model(tmp_path / "wide.onnx", weight_dims=(16, 3, 3, 3)))
    assert [(t.name, t.change, t.dims_before, t.dims_after) for t in d.tensors] == [("w", "reshaped", [8, 3, 3, 3], [16, 3, 3, 3])]
    assert d.nodes_changed == [] and d.ops == []
