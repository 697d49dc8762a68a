"""export(): a weightless ExportedProgram with symbolic sizes, checked by running ``ep.module()``
with the model's weights (materialize) against onnxruntime at several sizes per symbol; and
convert(integer_shapes=True), the conversion it rests on."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.conftest import REPO, assert_runs_like_onnxruntime, make_model, save, state_signature

F, I64 = TensorProto.FLOAT, TensorProto.INT64
WILD = REPO / "tests" / "wild"


def _const(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def _shape_model(sliced: bool = True) -> onnx.ModelProto:
    """x[batch, seq, 8]: every way an exporter computes shapes, feeding every operator that reads
    them: Reshape to [batch, seq, 2, -1] from Shape/Gather/Unsqueeze/Concat, Expand to a Shape,
    Range over seq, ConstantOfShape of [batch, seq], Slice to seq - 1 (Sub), ReduceMean and
    ReduceSum over axes given as an input, Size and Div."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "i0"], ["b"], axis=0),
        helper.make_node("Gather", ["s", "i1"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["b", "zero"], ["b1"]),
        helper.make_node("Unsqueeze", ["n", "zero"], ["n1"]),
        helper.make_node("Concat", ["b1", "n1", "two", "minus_one"], ["split_shape"], axis=0),
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("Reshape", ["h", "split_shape"], ["heads"]),
        helper.make_node("ReduceMean", ["heads", "last"], ["pooled"], keepdims=0),
        helper.make_node("Range", ["i0", "n", "i1"], ["positions"]),
        helper.make_node("Cast", ["positions"], ["positions_f"], to=F),
        helper.make_node("Concat", ["b1", "n1"], ["grid"], axis=0),
        helper.make_node("ConstantOfShape", ["grid"], ["ones"], value=numpy_helper.from_array(np.array([1.0], np.float32))),
        helper.make_node("Mul", ["ones", "positions_f"], ["ramp"]),
        helper.make_node("Sub", ["n1", "one"], ["shorter"]),
        helper.make_node("Slice", ["h", "zero", "shorter", "one"], ["trimmed"]),
        helper.make_node("ReduceSum", ["trimmed", "one"], ["trimmed_sum"], keepdims=0),
        helper.make_node("Shape", ["x"], ["s3"], start=-1),
        helper.make_node("Expand", ["bias", "s3"], ["bias_wide"]),
        helper.make_node("Size", ["x"], ["count"]),
        helper.make_node("Div", ["count", "eight"], ["rows"]),
        helper.make_node("Unsqueeze", ["rows", "zero"], ["rows1"]),
        helper.make_node("Reshape", ["x", "rows1_8"], ["flat"]),
        helper.make_node("Concat", ["rows1", "eight1"], ["rows1_8"], axis=0),
    ]
    nodes = nodes[:-2] + [nodes[-1], nodes[-2]]  # the Concat before the Reshape reading it
    initializers = [
        _const("i0", np.array(0, np.int64)), _const("i1", np.array(1, np.int64)), _const("zero", np.array([0], np.int64)),
        _const("one", np.array([1], np.int64)), _const("two", np.array([2], np.int64)),
        _const("minus_one", np.array([-1], np.int64)), _const("last", np.array([-1], np.int64)),
        _const("eight", np.array(8, np.int64)), _const("eight1", np.array([8], np.int64)),
        _const("w", np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32)),
        _const("bias", np.random.default_rng(1).standard_normal((1,)).astype(np.float32)),
    ]
    outputs = [helper.make_tensor_value_info(name, F, None) for name in ("pooled", "ramp", "bias_wide", "flat", "trimmed_sum")]
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, ["batch", "seq", 8])], outputs, initializers, opset=18)
    if not sliced:
        # torch.export guards a sliced axis of size seq - 1 against being 1 (a contiguity check in
        # its reductions), which no range of seq expresses: exported without the slice.
        del model.graph.output[-1]
        kept = [node for node in model.graph.node if node.output[0] not in ("shorter", "trimmed", "trimmed_sum")]
        del model.graph.node[:]
        model.graph.node.extend(kept)
    return model


def _run_against_onnxruntime(program, path, feeds_list) -> None:
    assert_runs_like_onnxruntime(ow.materialize(program.module(), path), path, feeds_list)


def test_shapes_computed_as_integers_export_with_symbolic_sizes(tmp_path):
    path = save(_shape_model(sliced=False), tmp_path)
    program = ow.export(path)
    # The program's inputs have the ONNX symbols as sizes, never a number the example had.
    (placeholder,) = [n for n in program.graph.nodes if n.op == "placeholder" and n.name not in program.graph_signature.inputs_to_buffers]
    sizes = placeholder.meta["val"].shape
    assert not isinstance(sizes[0], int) and not isinstance(sizes[1], int) and sizes[2] == 8
    assert all(tensor.device.type == "meta" for tensor in program.state_dict.values())  # never allocated
    rng = np.random.default_rng(0)
    _run_against_onnxruntime(program, path, [{"x": rng.standard_normal((b, s, 8)).astype(np.float32)}
                                             for b, s in [(1, 3), (2, 5), (3, 9)]])


def test_integer_shapes_keep_the_state_and_compute_what_onnxruntime_does(tmp_path):
    model = _shape_model()
    x = np.random.default_rng(2).standard_normal((2, 6, 8)).astype(np.float32)
    expected = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    plain = ow.convert(model, with_weights=True)
    integer = ow.convert(model, with_weights=True, integer_shapes=True)
    assert state_signature(integer) == state_signature(plain)
    # No module reads a shape as a tensor: Shape, Gather, Concat and the like are integer arithmetic.
    assert not any(type(m).__name__ in ("OnnxShape", "OnnxGather", "OnnxConcat") for m in integer.modules()
                   if m in {integer.get_submodule(n.target) for n in integer.graph.nodes if n.op == "call_module"})
    for ours, theirs in zip(integer(torch.from_numpy(x)), expected):
        np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-5, rtol=1e-5)


def test_dims_bind_a_symbol_to_a_size_or_bound_it(tmp_path):
    path = save(_shape_model(sliced=False), tmp_path)
    bound = ow.export(path, dims={"batch": 3, "seq": (2, 64)})
    (placeholder,) = [n for n in bound.graph.nodes if n.op == "placeholder" and n.name not in bound.graph_signature.inputs_to_buffers]
    batch, seq, _ = placeholder.meta["val"].shape
    assert batch == 3 and not isinstance(seq, int)
    (constraint,) = bound.range_constraints.values()
    assert (constraint.lower, constraint.upper) == (2, 64)


@pytest.mark.parametrize("name", ["tf2onnx/cnn_nhwc", "optimum/whisper/encoder_model", "paddle2onnx/transformer_encoder_opset17",
                                  "torchscript-old-opsets/t5-opset13",
                                  # An unnamed batch dimension (skl2onnx's) gets a symbol of its own.
                                  "skl2onnx/gradient_boosting_classifier", "skl2onnx/scaler_logistic_regression"])
def test_files_made_by_other_tools_export_and_run_at_several_sizes(name):
    path = WILD / f"{name}.onnx"
    model = onnx.load(str(path), load_external_data=False)
    program = ow.export(path)
    rng = np.random.default_rng(0)
    feeds_list = []
    for size in (2, 3, 5):
        feeds = {}
        for value in model.graph.input:
            dims = [d.dim_value if d.HasField("dim_value") else size for d in value.type.tensor_type.shape.dim]
            if value.type.tensor_type.elem_type == I64:
                feeds[value.name] = rng.integers(0, 50, dims).astype(np.int64)
            else:
                feeds[value.name] = rng.standard_normal(dims).astype(np.float32)
        feeds_list.append(feeds)
    _run_against_onnxruntime(program, path, feeds_list)


@pytest.mark.parametrize("name", ["tf2onnx/cond_branches", "spox/gated_if", "paddle2onnx/if_branches_opset13"])
def test_an_if_on_a_computed_value_exports_as_torch_cond_with_both_branches(name):
    path = WILD / f"{name}.onnx"
    model = onnx.load(str(path), load_external_data=False)
    program = ow.export(path)
    assert any("cond" in str(node.target) for node in program.graph.nodes if node.op == "call_function")
    (value,) = model.graph.input
    width = value.type.tensor_type.shape.dim[-1].dim_value
    # The If reads the sign of the input's mean or sum: one feed takes each branch.
    rising = np.linspace(-0.5, 1.0, 2 * width, dtype=np.float32).reshape(2, width)
    _run_against_onnxruntime(program, path, [{value.name: rising}, {value.name: -rising}])


def _counting_loop(compare: str = "Greater", step: int = 2) -> onnx.ModelProto:
    """x[seq, 4]: a Loop without a trip count stepping a counter t by ``step`` while t < seq (as
    ``Greater(seq, t)`` or ``Less(t, seq)``), summing rows x[t] and stacking 2·x[t] per iteration;
    the bound seq is carried through unchanged, as tf2onnx writes a ``tf.while_loop``. With
    ``compare="data"`` the condition reads the running sum instead: the count is data."""
    t_next = helper.make_node("Add", ["t", "step"], ["t_next"])
    compared = {"Greater": helper.make_node("Greater", ["n", "t_next"], ["going"]),
                "Less": helper.make_node("Less", ["t_next", "n"], ["going"]),
                "data": helper.make_node("Less", ["total_sum", "limit"], ["going"])}[compare]
    body = helper.make_graph(
        [helper.make_node("Gather", ["x", "t"], ["row"], axis=0), helper.make_node("Add", ["total", "row"], ["total_next"]),
         helper.make_node("Mul", ["row", "two"], ["twice"]), t_next,
         helper.make_node("ReduceSum", ["total_next"], ["total_sum"], keepdims=0), compared],
        "body",
        [helper.make_tensor_value_info("i", I64, []), helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         helper.make_tensor_value_info("t", I64, []), helper.make_tensor_value_info("n", I64, []),
         helper.make_tensor_value_info("total", F, [4])],
        [helper.make_tensor_value_info("going", TensorProto.BOOL, []), helper.make_tensor_value_info("t_next", I64, []),
         helper.make_tensor_value_info("n", I64, []), helper.make_tensor_value_info("total_next", F, [4]),
         helper.make_tensor_value_info("twice", F, [4])],
        initializer=[_const("step", np.array(step, np.int64)), _const("two", np.array(2.0, np.float32)),
                     _const("limit", np.array(1.0, np.float32))])
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "i0"], ["seq"], axis=0),
        helper.make_node("Less", ["i0", "seq"], ["first"]),
        helper.make_node("Loop", ["", "first", "i0", "seq", "zeros"], ["t_end", "n_end", "total_end", "stacked"], body=body),
    ]
    return make_model(nodes, [helper.make_tensor_value_info("x", F, ["seq", 4])],
                      [helper.make_tensor_value_info(name, F, None) for name in ("total_end", "stacked")],
                      [_const("i0", np.array(0, np.int64)), _const("zeros", np.zeros(4, np.float32))], opset=17)


@pytest.mark.parametrize("compare", ["Greater", "Less"])
def test_a_loop_counting_to_a_size_stacks_its_scan_output_along_a_symbolic_length(tmp_path, compare):
    path = save(_counting_loop(compare), tmp_path)
    program = ow.export(path)
    assert any("while_loop" in str(node.target) for node in program.graph.nodes if node.op == "call_function")
    # ceil(seq / 2) rows, a size of the program's symbol: nothing fixed at the traced length.
    stacked = next(node for node in program.graph.nodes if node.op == "output").args[0][1].meta["val"]
    assert not isinstance(stacked.shape[0], int), stacked.shape
    # torch.export takes a size of 1 apart: the program holds for the seqs giving 2 rows or more.
    rng = np.random.default_rng(6)
    _run_against_onnxruntime(program, path, [{"x": rng.standard_normal((seq, 4)).astype(np.float32)} for seq in (3, 4, 7)])


def test_a_module_that_cannot_be_traced_raises_export_error_naming_the_node(tmp_path):
    # A Loop whose iteration count is data, with a scan output: while_loop stacks no outputs, and
    # no buffer length is known before it runs.
    with pytest.raises(ow.ExportError, match=r"scan output 0.*While executing .*loop") as raised:
        ow.export(save(_counting_loop("data"), tmp_path))
    assert isinstance(raised.value.__cause__, Exception)


def test_a_shape_split_into_parts_is_computed_as_integers(tmp_path):
    # tf2onnx splits a Shape into its parts (Split of sizes given, and an equal Split-18).
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Split", ["shape", "sizes"], ["leading", "last"], axis=0),
        helper.make_node("Split", ["leading"], ["batch", "seq"], axis=0, num_outputs=2),
        helper.make_node("Mul", ["batch", "seq"], ["rows"]),
        helper.make_node("Concat", ["rows", "last"], ["flat_shape"], axis=0),
        helper.make_node("Reshape", ["x", "flat_shape"], ["flat"]),
        helper.make_node("ConstantOfShape", ["seq"], ["ones"], value=numpy_helper.from_array(np.array([1.0], np.float32))),
    ]
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, ["batch", "seq", 8])],
                       [helper.make_tensor_value_info(name, F, None) for name in ("flat", "ones")],
                       [_const("sizes", np.array([2, 1], np.int64))], opset=18)
    path = save(model, tmp_path)
    module = ow.convert(path, integer_shapes=True)
    assert not [node for node in module.graph.nodes if node.op == "call_module" and "split" in str(node.target).lower()]
    program = ow.export(path)
    rng = np.random.default_rng(7)
    _run_against_onnxruntime(program, path, [{"x": rng.standard_normal((b, n, 8)).astype(np.float32)} for b, n in [(2, 3), (3, 5), (4, 2)]])


@pytest.mark.parametrize("name", ["tf2onnx/while_loop", "paddle2onnx/while_loop_opset11"])
def test_a_loop_on_a_computed_condition_exports_as_a_while_loop(name):
    path = WILD / f"{name}.onnx"
    program = ow.export(path)
    assert any("while_loop" in str(node.target) for node in program.graph.nodes if node.op == "call_function")
    model = onnx.load(str(path), load_external_data=False)
    names = [value.name for value in model.graph.input]
    rng = np.random.default_rng(3)
    feeds = []
    for steps in (0, 2, 7):  # the iteration count is data: one program runs each
        feed = {}
        for value in model.graph.input:
            dims = [d.dim_value or 2 for d in value.type.tensor_type.shape.dim]
            feed[value.name] = (np.array(steps, np.int64) if value.name == "steps"
                                else rng.standard_normal(dims).astype(np.float32))
        feeds.append({name: feed[name] for name in names})
    _run_against_onnxruntime(program, path, feeds)


def test_a_loop_whose_trip_count_is_a_size_writes_its_scan_output_into_a_buffer():
    # spox's recurrent Loop: trip count from Shape, one scan output stacked per step.
    path = WILD / "spox" / "gru_loop.onnx"
    program = ow.export(path)
    assert any("while_loop" in str(node.target) for node in program.graph.nodes if node.op == "call_function")
    rng = np.random.default_rng(4)
    _run_against_onnxruntime(program, path, [
        {"x": rng.standard_normal((steps, batch, 8)).astype(np.float32), "h0": rng.standard_normal((batch, 32)).astype(np.float32)}
        for steps, batch in [(2, 1), (3, 2), (6, 3)]])


def test_a_dimension_the_model_fixes_is_taken_at_that_size_with_a_warning(tmp_path):
    # "batch" is declared symbolic, but a Reshape to [3, 8] fixes it at 3.
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"])]
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, ["batch", 8])], [helper.make_tensor_value_info("y", F, None)],
                       [_const("shape", np.array([3, 8], np.int64))], opset=18)
    path = save(model, tmp_path)
    with pytest.warns(ow.FixedDimensionWarning, match=r"batch = 3"):
        program = ow.export(path, example_dims={"batch": 3})
    x = np.random.default_rng(5).standard_normal((3, 8)).astype(np.float32)
    _run_against_onnxruntime(program, path, [{"x": x}])


def test_an_unnamed_dimension_is_a_symbol_named_after_its_input_and_axis():
    program = ow.export(WILD / "skl2onnx" / "linear_regression.onnx", dims={"X_0": (1, 1000)})
    (constraint,) = program.range_constraints.values()
    assert (constraint.lower, constraint.upper) == (1, 1000)


def _sequence_map_model(read_elsewhere: bool = False) -> onnx.ModelProto:
    """x[batch, parts, 8]: split along parts (axis -2), each part through MatMul/Relu, stacked back
    along axis 1, and the count of parts; with ``read_elsewhere``, SequenceAt reads the sequence too."""
    body = helper.make_graph(
        [helper.make_node("MatMul", ["part", "w"], ["mixed"]), helper.make_node("Relu", ["mixed"], ["out"])],
        "body", [helper.make_tensor_value_info("part", F, ["batch", 8])], [helper.make_tensor_value_info("out", F, ["batch", 4])],
        initializer=[_const("w", np.random.default_rng(8).standard_normal((8, 4)).astype(np.float32))])
    nodes = [
        helper.make_node("SplitToSequence", ["x"], ["parts"], axis=-2, keepdims=0),
        helper.make_node("SequenceMap", ["parts"], ["mapped"], body=body, name="per_part"),
        helper.make_node("ConcatFromSequence", ["mapped"], ["y"], axis=1, new_axis=1),
        helper.make_node("SequenceLength", ["mapped"], ["count"]),
    ]
    outputs = [helper.make_tensor_value_info("y", F, None), helper.make_tensor_value_info("count", I64, None)]
    if read_elsewhere:
        nodes.append(helper.make_node("SequenceAt", ["parts", "i0"], ["first"]))
        outputs.append(helper.make_tensor_value_info("first", F, None))
    return make_model(nodes, [helper.make_tensor_value_info("x", F, ["batch", "parts", 8])], outputs,
                      [_const("i0", np.array(0, np.int64))] if read_elsewhere else [], opset=18)


def test_a_sequence_split_mapped_and_stacked_runs_as_a_scan_along_a_symbolic_length(tmp_path):
    path = save(_sequence_map_model(), tmp_path)
    module = ow.convert(path, integer_shapes=True)
    assert type(module.get_submodule("per_part")).__name__ == "OnnxScan"
    # The default conversion keeps ONNX's sequences, and both hold the same state.
    assert state_signature(ow.convert(path)) == state_signature(module)
    program = ow.export(path)
    rng = np.random.default_rng(9)
    _run_against_onnxruntime(program, path, [{"x": rng.standard_normal((b, n, 8)).astype(np.float32)} for b, n in [(2, 3), (3, 5), (1, 2)]])


def test_a_sequence_read_otherwise_stays_a_sequence(tmp_path):
    path = save(_sequence_map_model(read_elsewhere=True), tmp_path)
    module = ow.convert(path, integer_shapes=True)
    assert type(module.get_submodule("per_part")).__name__ == "OnnxSequenceMap"
    x = np.random.default_rng(10).standard_normal((2, 3, 8)).astype(np.float32)
    assert_runs_like_onnxruntime(ow.materialize(module, path), path, [{"x": x}])


def test_an_input_declaring_a_size_no_tensor_can_have_raises_export_error():
    # Found by the pipeline fuzzer: a declared dim of 2^62 made even the fake example input overflow
    # (RuntimeError "Storage size calculation overflowed").
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 1 << 62, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ow.ExportError, match=r"input 'x' of shape \[4, 4611686018427387904, 8\] cannot be traced") as raised:
        ow.export(model)
    assert isinstance(raised.value.__cause__, RuntimeError)
