"""`python -m onnx_weightless export`: a .pt2 file without weight bytes that torch.export.load reads
back and that, given the model's weights (materialize), computes what onnxruntime does; --dim
bounds in the loaded program; usage and model errors with their exit status, no traceback and no
file written."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch.utils._sympy.numbers import int_oo

import onnx_weightless as ow
from onnx_weightless._cli import main
from onnx_weightless._cli.atomic import write_atomically
from tests.conftest import REPO, assert_runs_like_onnxruntime, files_in, make_model, save

F = TensorProto.FLOAT
WIDTH = 512
WEIGHT_BYTES = WIDTH * WIDTH * 4


def _cli(*args) -> subprocess.CompletedProcess:
    """Runs ``python -m onnx_weightless ARGS`` with the imports this process has."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    return subprocess.run([sys.executable, "-m", "onnx_weightless", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600)


def _dense_model() -> onnx.ModelProto:
    """relu(x[batch, 512] @ W[512, 512] + b): one MiB of weights."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "b"], ["hb"]),
             helper.make_node("Relu", ["hb"], ["y"])]
    weights = [numpy_helper.from_array((rng.standard_normal((WIDTH, WIDTH)) / 16).astype(np.float32), "W"),
               numpy_helper.from_array(rng.standard_normal(WIDTH).astype(np.float32), "b")]
    return make_model(nodes, [helper.make_tensor_value_info("x", F, ["batch", WIDTH])],
                      [helper.make_tensor_value_info("y", F, ["batch", WIDTH])], weights)


def _assert_runs_like_onnxruntime(pt2: Path, model: Path, sizes) -> None:
    """Loads the program, gives it the model's weights and compares it with onnxruntime, every
    symbolic dimension of the inputs at each of ``sizes``."""
    module = ow.materialize(torch.export.load(pt2).module(), model)
    rng = np.random.default_rng(1)
    inputs = onnx.load(str(model), load_external_data=False).graph.input
    feeds_list = [{value.name: rng.standard_normal([d.dim_value if d.HasField("dim_value") else size
                                                    for d in value.type.tensor_type.shape.dim]).astype(np.float32)
                   for value in inputs} for size in sizes]
    assert_runs_like_onnxruntime(module, model, feeds_list)


def test_export_writes_a_program_without_weight_bytes_that_runs_with_the_model_weights(tmp_path):
    model = save(_dense_model(), tmp_path)
    output = tmp_path / "model.pt2"
    result = _cli("export", model, "-o", output, "--dim", "batch=1:64")
    assert result.returncode == 0, result.stderr
    program = torch.export.load(output)
    # One line: the file, its size, the node count, each symbol by the model's name and its range.
    assert result.stdout == f"{output}: {output.stat().st_size / 1024:.2f} KiB, {len(program.graph.nodes)} nodes; dims batch in [1, 64]\n"
    (constraint,) = program.range_constraints.values()
    assert (constraint.lower, constraint.upper) == (1, 64)
    # The state is names, shapes and dtypes: every weight file in the archive is empty.
    assert output.stat().st_size < WEIGHT_BYTES / 8
    with zipfile.ZipFile(output) as archive:
        weights = [entry for entry in archive.infolist() if "/data/weights/" in entry.filename and not entry.filename.endswith(".json")]
    assert weights and all(entry.file_size == 0 for entry in weights)
    assert {(tuple(t.shape), t.device.type) for t in program.state_dict.values()} == {((WIDTH, WIDTH), "meta"), ((WIDTH,), "meta")}
    _assert_runs_like_onnxruntime(output, model, sizes=(1, 2, 5))
    assert files_in(tmp_path) == {"model.onnx", "model.pt2"}  # no temporary file left behind


def test_a_file_made_by_another_tool_round_trips(tmp_path):
    # Paddle's transformer encoder, its sequence axis the symbol "DynamicDimension.0".
    model = REPO / "tests" / "wild" / "paddle2onnx" / "transformer_encoder_opset17.onnx"
    output = tmp_path / "encoder.pt2"
    result = _cli("export", model, "-o", output)
    assert result.returncode == 0, result.stderr
    assert "dims DynamicDimension.0 in [" in result.stdout
    _assert_runs_like_onnxruntime(output, model, sizes=(2, 3, 7))


@pytest.mark.parametrize(("dim", "lower", "upper", "sizes"), [
    ("batch=8:", 8, int_oo, (8, 9)),  # above export()'s default example size: traced at 8
    ("batch=:4096", None, 4096, (2, 3)),
    ("batch=3", None, None, (3,)),  # fixed: no symbol left
])
def test_dim_bounds_reach_the_loaded_program(tmp_path, dim, lower, upper, sizes):
    model = save(_dense_model(), tmp_path)
    output = tmp_path / "model.pt2"
    result = _cli("export", model, "-o", output, "--dim", dim)
    assert result.returncode == 0, result.stderr
    program = torch.export.load(output)
    if upper is None:
        assert program.range_constraints == {} and result.stdout.endswith("; no symbolic dims\n")
    else:
        (constraint,) = program.range_constraints.values()
        assert constraint.upper == upper and (lower is None or constraint.lower == lower)
    _assert_runs_like_onnxruntime(output, model, sizes)


def _main(argv, capsys) -> tuple[int, str, str]:
    """main() in this process, as ``python -m onnx_weightless`` runs it (argparse exits for a
    malformed argument): (exit status, stdout, stderr). Saves a Python start and a torch import
    per case; test_exit_status_in_a_shell runs the module itself."""
    try:
        status = main([str(arg) for arg in argv])
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def _unsupported_model() -> onnx.ModelProto:
    model = make_model([helper.make_node("Foo", ["x"], ["y"], domain="acme")], [helper.make_tensor_value_info("x", F, ["batch", 3])],
                       [helper.make_tensor_value_info("y", F, ["batch", 3])])
    model.opset_import.append(helper.make_opsetid("acme", 1))
    return model


@pytest.mark.parametrize(("args", "status", "message"), [
    (["--dim", "batch=a:3"], 2, "argument --dim: expected NAME=SIZE or NAME=MIN:MAX"),
    ([], 1, "ModelReadError: [open] cannot open '{model}'"),  # the model file does not exist
])
def test_exit_status_in_a_shell(tmp_path, args, status, message):
    model = tmp_path / "model.onnx"
    if status == 2:
        save(_dense_model(), tmp_path)
    result = _cli("export", model, "-o", tmp_path / "model.pt2", *args)
    assert result.returncode == status
    assert message.format(model=model) in result.stderr and "Traceback" not in result.stderr and result.stdout == ""
    assert files_in(tmp_path) == ({"model.onnx"} if status == 2 else set())


@pytest.mark.parametrize(("args", "message"), [
    (["--dim", "batch=64:1"], "MIN is above MAX; write batch=1:64?"),
    (["--dim", "bacth=2"], "model.onnx has no symbolic dimension 'bacth'; its symbolic dimensions are batch"),
    (["--dim", "batch=8:16", "--example-dim", "batch=4"], "pick a size from 8 to 16"),
    (["--example-dim", "batch=1"], "give 2 or more, or --dim batch=1 to fix it"),
    (["--dim", "batch=2", "--dim", "batch=3"], "--dim batch is given twice"),
])
def test_a_usage_error_exits_2_naming_the_fix_and_writes_nothing(tmp_path, capsys, args, message):
    model = save(_dense_model(), tmp_path)
    status, out, err = _main(["export", model, "-o", tmp_path / "model.pt2", *args], capsys)
    assert (status, out) == (2, "") and message in err and err.startswith("usage: python -m onnx_weightless export")
    assert files_in(tmp_path) == {"model.onnx"}


def test_a_model_error_exits_1_and_leaves_the_output_as_it_was(tmp_path, capsys):
    model = save(_unsupported_model(), tmp_path)
    output = tmp_path / "model.pt2"
    output.write_bytes(b"an earlier export")
    status, out, err = _main(["export", model, "-o", output], capsys)
    assert (status, out) == (1, "")
    assert err.startswith("python -m onnx_weightless export: error: UnsupportedOperatorError: 1 operator(s) have no converter:\n  acme::Foo-1")
    assert output.read_bytes() == b"an earlier export" and files_in(tmp_path) == {"model.onnx", "model.pt2"}


def _model_fixing_its_width() -> onnx.ModelProto:
    """x[batch, width] @ w[8, 4]: the weight fixes the width the model declares symbolic."""
    w = numpy_helper.from_array(np.ones((8, 4), np.float32), "w")
    return make_model([helper.make_node("MatMul", ["x", "w"], ["y"])], [helper.make_tensor_value_info("x", F, ["batch", "width"])],
                      [helper.make_tensor_value_info("y", F, ["batch", 4])], [w])


def test_a_failed_trace_is_one_line_without_torch_logging_its_traceback(tmp_path, capsys):
    # Traced at the default width 4, the MatMul fails; torch logs the failing step's traceback at ERROR.
    model = save(_model_fixing_its_width(), tmp_path)
    status, out, err = _main(["export", model, "-o", tmp_path / "model.pt2"], capsys)
    assert (status, out) == (1, "") and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("python -m onnx_weightless export: error: ExportError: torch.export could not trace the module")


def test_a_warning_is_one_line(tmp_path, capsys):
    # Traced at width 8, the program fixes it: export() warns, and the width is no symbol of the program.
    model = save(_model_fixing_its_width(), tmp_path)
    status, out, err = _main(["export", model, "-o", tmp_path / "model.pt2", "--example-dim", "width=8"], capsys)
    assert status == 0 and "; dims batch in [" in out
    assert err.count("\n") == 1
    assert err.startswith("python -m onnx_weightless export: warning: FixedDimensionWarning: "
                          "tracing fixed dimensions the model declares symbolic: width = 8. ")


def test_a_failed_write_leaves_neither_a_partial_file_nor_a_temporary_one(tmp_path):
    output = tmp_path / "model.pt2"
    output.write_bytes(b"an earlier export")

    def fail_halfway(path: Path) -> None:
        path.write_bytes(b"half a program")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(output, fail_halfway)
    assert output.read_bytes() == b"an earlier export" and files_in(tmp_path) == {"model.pt2"}
    write_atomically(output, lambda path: path.write_bytes(b"a new export"))
    assert output.read_bytes() == b"a new export" and files_in(tmp_path) == {"model.pt2"}
