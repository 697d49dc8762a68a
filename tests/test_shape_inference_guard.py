"""ONNX shape inference hands an operator's inference function a null type for an input it cannot
type, and ai.onnx.ml's LabelEncoder (among others) reads through it: the process dies. inspect,
convert and the CLI declare such values with an empty type first
(python/onnx_weightless/_shape_inference.py, cpp/cli/shape_inference.cpp). The calls run in a
child process, so that a regression fails the test rather than killing the run."""

from __future__ import annotations

import subprocess
import sys

import onnx
import pytest
from onnx import TensorProto, helper

import onnx_weightless as ow
from onnx_weightless._shape_inference import infer_shapes


def _label_encoder_after(producer: onnx.NodeProto | None) -> onnx.ModelProto:
    """A LabelEncoder reading 'y': made by ``producer``, or by nothing when it is None."""
    nodes = [producer] if producer is not None else []
    nodes.append(helper.make_node("LabelEncoder", ["y"], ["z"], name="encoder", domain="ai.onnx.ml",
                                  keys_int64s=[1], values_int64s=[2]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.INT64, [3])],
                              [helper.make_tensor_value_info("z", TensorProto.INT64, [3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3),
                                                   helper.make_opsetid("acme", 1)])


AFTER_A_CUSTOM_OP = _label_encoder_after(helper.make_node("Decode", ["x"], ["y"], name="decode", domain="acme"))


def _in_a_child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_onnx_itself_crashes_on_the_model():
    """The reason for the guard: onnx's own inference dies of SIGSEGV (if it ever stops, the guard
    may go)."""
    child = _in_a_child(f"import onnx; onnx.shape_inference.infer_shapes(onnx.load_from_string({AFTER_A_CUSTOM_OP.SerializeToString()!r}))")
    assert child.returncode < 0, child.stderr


def test_inspect_and_convert_survive_a_label_encoder_after_a_custom_op(tmp_path):
    path = tmp_path / "model.onnx"
    onnx.save(AFTER_A_CUSTOM_OP, path)
    child = _in_a_child(f"""
import onnx_weightless as ow
report = ow.inspect({str(path)!r})
print(sorted(report.analysis.by_op))
gm = ow.convert({str(path)!r})
print(sorted(type(m).__name__ for m in gm.children()))
""")
    assert child.returncode == 0, child.stderr
    by_op, modules = child.stdout.splitlines()[-2:]
    assert "LabelEncoder" in by_op and "Decode" in by_op
    assert "OpaqueOp" in modules


def test_inspect_survives_a_value_nothing_produces(tmp_path):
    # Found by the pipeline fuzzer: a node's output renamed, so that its reader's input is produced
    # by nothing. inspect reports; convert refuses it in the structural check.
    path = tmp_path / "model.onnx"
    onnx.save(_label_encoder_after(None), path)
    child = _in_a_child(f"import onnx_weightless as ow; ow.inspect({str(path)!r}); print('inspected')")
    assert child.returncode == 0 and "inspected" in child.stdout, child.stderr
    with pytest.raises(ow.FormatError, match=r"node 0 \('encoder', ai\.onnx\.ml::LabelEncoder\), input 0: 'y' is produced by no"):
        ow.convert(path)


@pytest.mark.parametrize("model", [AFTER_A_CUSTOM_OP, _label_encoder_after(None)], ids=["custom-op", "unproduced"])
def test_the_cli_survives_them(tmp_path, cli, model):
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    run = subprocess.run([cli, "inspect", str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "LabelEncoder" in run.stdout


def test_the_model_given_is_left_as_it_was_and_empty_types_are_not_returned():
    model = onnx.ModelProto()
    model.CopyFrom(AFTER_A_CUSTOM_OP)
    del model.graph.output[0].type.tensor_type.shape.dim[:]
    model.graph.output[0].ClearField("type")
    before = model.SerializeToString()
    inferred = infer_shapes(model)
    assert model.SerializeToString() == before
    assert all(value.type.WhichOneof("value") for value in inferred.graph.value_info)
    assert not inferred.graph.output[0].HasField("type")  # nothing could type it: left undeclared as it was


def test_inferred_types_are_those_onnx_gives_where_it_does_not_crash():
    """Seeding changes nothing onnx infers: a model with a Loop, a sequence and a custom op whose
    output nothing reads."""
    body = helper.make_graph(
        [helper.make_node("Add", ["carried", "one"], ["next"]), helper.make_node("Identity", ["condition"], ["condition_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("condition", TensorProto.BOOL, []),
         helper.make_tensor_value_info("carried", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("condition_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("next", TensorProto.FLOAT, None)],
        [onnx.numpy_helper.from_array(__import__("numpy").ones(1, "float32"), "one")],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["trips", "", "x"], ["looped"], body=body),
         helper.make_node("SequenceConstruct", ["looped", "looped"], ["sequence"]),
         helper.make_node("ConcatFromSequence", ["sequence"], ["y"], axis=0),
         helper.make_node("Decode", ["x"], ["unused"], domain="acme")],
        "g",
        [helper.make_tensor_value_info("trips", TensorProto.INT64, []), helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("acme", 1)])
    ours, theirs = infer_shapes(model), onnx.shape_inference.infer_shapes(model)

    def types(m: onnx.ModelProto) -> dict[str, bytes]:
        values = [*m.graph.value_info, *m.graph.output, *m.graph.node[0].attribute[0].g.value_info]
        return {value.name: value.type.SerializeToString() for value in values}

    assert types(ours) == types(theirs)
    assert "sequence" in types(ours)


def _label_encoder_of_an_empty_input() -> onnx.ModelProto:
    model = _label_encoder_after(None)
    model.graph.node[0].input[0] = ""
    return model


def test_a_required_input_left_empty_is_not_inferred_and_a_conversion_refuses_it(tmp_path, cli):
    # Found by the pipeline fuzzer: a LabelEncoder whose input was renamed ''. No declaration can
    # give '' a type, so the model is not inferred at all.
    path = tmp_path / "model.onnx"
    onnx.save(_label_encoder_of_an_empty_input(), path)
    child = _in_a_child(f"import onnx_weightless as ow; print(ow.inspect({str(path)!r}).shapes_from)")
    assert child.returncode == 0, child.stderr
    assert child.stdout.split()[-1] == "declared"  # not inferred: the file's own shapes
    run = subprocess.run([cli, "inspect", str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "ONNX shape inference cannot run: node 0 ('encoder', ai.onnx.ml::LabelEncoder), input 0: is empty" in run.stdout
    with pytest.raises(ow.FormatError, match=r"node 0 \('encoder', ai\.onnx\.ml::LabelEncoder\), input 0: is empty, "
                                             r"but LabelEncoder-2 requires it"):
        ow.convert(path)


def test_an_optional_input_left_out_is_inferred_as_before():
    # Resize's roi (input 1) is optional: '' is how a model leaves it out.
    graph = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [onnx.numpy_helper.from_array(__import__("numpy").array([1, 1, 2, 2], "float32"), "scales")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    inferred = infer_shapes(model)
    dims = [d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [1, 1, 4, 4]
    assert ow.convert(model) is not None


def _slice_of_a_shape_declared_negative() -> onnx.ModelProto:
    """Shape then Slice with a negative step, the Shape's output declared of -340 elements: onnx
    1.23's Slice inference clamps to bounds computed from it and its wheel, built with assertions,
    aborts the process."""
    import numpy as np

    graph = helper.make_graph(
        [helper.make_node("Shape", ["x"], ["s"], name="shape"),
         helper.make_node("Slice", ["s", "starts", "ends", "axes", "steps"], ["y"], name="slice")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
        [onnx.numpy_helper.from_array(np.array([v], np.int64), n) for n, v in (("starts", -1), ("ends", -1000), ("axes", 0), ("steps", -1))],
        value_info=[helper.make_tensor_value_info("s", TensorProto.INT64, [-340])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_negative_dimension_is_not_inferred_and_a_conversion_refuses_it(tmp_path, cli):
    # Found by the pipeline fuzzer: a paddle2onnx model whose Shape output was declared of -340.
    path = tmp_path / "model.onnx"
    onnx.save(_slice_of_a_shape_declared_negative(), path)
    child = _in_a_child(f"import onnx_weightless as ow; print(ow.inspect({str(path)!r}).shapes_from)")
    assert child.returncode == 0, child.stderr
    assert child.stdout.split()[-1] == "declared"
    run = subprocess.run([cli, "inspect", str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "value 's', dimension 0: is negative (-340)" in run.stdout, run.stderr
    with pytest.raises(ow.FormatError, match=r"value 's', dimension 0: is negative"):
        ow.convert(path)
