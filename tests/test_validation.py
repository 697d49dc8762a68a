"""Broken files through convert: the structural check (cpp/include/onnx_weightless/validate.hpp)
turns each fault the pipeline fuzzing found into a FormatError naming the node and the field, and
a converter that fails on a structurally valid graph raises ConversionError naming the node, its
operator and the input whose rank shape inference could not determine; an operator that fails in a
meta run raises MetaForwardError naming the node."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

import onnx_weightless as ow


def _relu_model(name: str = "relu", op_type: str = "Relu", dims=(2, 3)) -> bytes:
    graph = helper.make_graph([helper.make_node(op_type, ["x"], ["y"], name=name)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(dims))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _write(tmp_path, data: bytes):
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    return path


def test_a_node_name_that_is_not_utf8_is_a_format_error_not_a_type_error(tmp_path):
    # Fuzzing signature: TypeError "a bytes-like object is required, not 'str'" from onnx2torch's naming.
    path = _write(tmp_path, _relu_model(name="relu").replace(b"\x04relu", b"\x04\xff\xferu"))
    with pytest.raises(ow.FormatError, match=r"node 0 \('\(not UTF-8\)', ai\.onnx::Relu\), name: is not valid UTF-8"):
        ow.convert(path)


def test_an_op_type_that_is_not_utf8_is_a_format_error(tmp_path):
    # Fuzzing signature: TypeError "get_schema(): incompatible function arguments".
    path = _write(tmp_path, _relu_model(op_type="Relu").replace(b"\x04Relu", b"\x04R\xc0\xafu"))
    with pytest.raises(ow.FormatError, match=r"node 0 \('relu', .*\), op_type: is not valid UTF-8"):
        ow.convert(path)


def test_a_negative_dimension_is_a_format_error(tmp_path):
    model = onnx.load_from_string(_relu_model())
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = -2
    with pytest.raises(ow.FormatError, match=r"value 'x', dimension 0: is negative"):
        ow.convert(model)


def test_an_attribute_of_the_wrong_field_is_a_format_error():
    model = onnx.load_from_string(_relu_model(op_type="Softmax"))
    attribute = model.graph.node[0].attribute.add(name="axis", type=onnx.AttributeProto.INT)
    attribute.f = 1.0  # an INT attribute holding a float
    with pytest.raises(ow.FormatError, match=r"attribute 'axis': of type 2 holds a value in another field"):
        ow.convert(model)


def test_a_converter_lacking_a_rank_says_which_input_shape_inference_left_unknown():
    # Fuzzing signatures: KeyError from onnx2torch's MaxPool reading value_info, and
    # NotImplementedError "spatial rank == -2": the input's shape could not be inferred.
    graph = helper.make_graph([helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ow.ConversionError) as caught:
        ow.convert(model)
    error = caught.value
    assert error.node == "pool" and error.op.op_type == "MaxPool" and error.op.domain == ""
    assert "node 'pool' needs the rank of input 0 'x', which shape inference could not determine" in str(error)
    assert error.__cause__ is not None


def _one_node_model(node: onnx.NodeProto, inputs: list, opsets=(("", 17),)) -> onnx.ModelProto:
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid(domain, version) for domain, version in opsets])


def test_an_input_lost_is_a_conversion_error_naming_the_node():
    # Fuzzing signature: IndexError "list index out of range", a converter reading an input the
    # damaged node no longer lists.
    model = _one_node_model(helper.make_node("Gemm", ["x"], ["y"], name="gemm"),
                            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])])
    with pytest.raises(ow.ConversionError, match=r"^while converting node 'gemm' \(ai\.onnx::Gemm-13\): IndexError: ") as caught:
        ow.convert(model)
    assert isinstance(caught.value.__cause__, IndexError)


def test_a_scalar_where_spatial_axes_are_needed_is_a_conversion_error_naming_the_node():
    # Fuzzing signature: NotImplementedError "spatial rank == -2", a damaged shape of no dims.
    model = _one_node_model(helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2]),
                            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [])])
    with pytest.raises(ow.ConversionError, match=r"^while converting node 'pool' \(ai\.onnx::MaxPool-12\): NotImplementedError: "
                                                 r"Max pool operation with spatial rank == -2") as caught:
        ow.convert(model)
    assert caught.value.node == "pool" and isinstance(caught.value.__cause__, NotImplementedError)


def test_an_operator_failing_in_a_meta_run_is_a_meta_forward_error_naming_the_node():
    # Fuzzing signature: RuntimeError "Expected cond to be True" from torch._check in
    # GroupQueryAttention, on a bit-flipped genai model whose past is of another batch (the
    # converter now says which).
    shapes = {"query": [2, 1, 64], "key": [2, 1, 32], "value": [2, 1, 32], "past_key": [3, 2, 4, 16],
              "past_value": [3, 2, 4, 16], "seqlens_k": [2], "total_sequence_length": []}
    types = {"seqlens_k": TensorProto.INT32, "total_sequence_length": TensorProto.INT32}
    node = helper.make_node("GroupQueryAttention", list(shapes), ["y", "present_key", "present_value"], name="gqa",
                            domain="com.microsoft", num_heads=4, kv_num_heads=2)
    model = _one_node_model(node, [helper.make_tensor_value_info(name, types.get(name, TensorProto.FLOAT), dims)
                                   for name, dims in shapes.items()], opsets=(("", 17), ("com.microsoft", 1)))
    gm = ow.convert(model)
    inputs = [torch.empty(dims, dtype=torch.int32 if name in types else torch.float32, device="meta")
              for name, dims in shapes.items()]
    inputs[-1] = torch.tensor(5, dtype=torch.int32)  # total_sequence_length, read as a value
    with pytest.raises(ow.MetaForwardError, match=r"^while running node 'gqa' \(com\.microsoft::GroupQueryAttention-1\) "
                                                  r"in meta_forward: ValueError: past_key has a batch of 3, the query 2$") as caught:
        ow.meta_forward(gm, *inputs)
    error = caught.value
    assert error.node == "gqa" and (error.op.domain, error.op.op_type) == ("com.microsoft", "GroupQueryAttention")
    assert isinstance(error.__cause__, ValueError)


def test_a_failure_inside_a_loop_body_keeps_its_type_and_names_both_nodes():
    body = helper.make_graph(
        [helper.make_node("Reshape", ["carried", "bad_shape"], ["reshaped"], name="inner_reshape"),
         helper.make_node("Identity", ["condition_in"], ["condition_out"], name="keep_going")],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("condition_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("carried", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("condition_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("reshaped", TensorProto.FLOAT, None)],
        [onnx.numpy_helper.from_array(np.array([7], np.int64), "bad_shape")],
    )
    loop = helper.make_node("Loop", ["trips", "", "x"], ["y"], name="outer_loop", body=body)
    model = _one_node_model(loop, [helper.make_tensor_value_info("trips", TensorProto.INT64, []),
                                   helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])])
    gm = ow.convert(model)
    with pytest.raises(ow.MetaForwardError, match=r"^while running node 'inner_reshape' \(ai\.onnx::Reshape-14\)") as caught:
        ow.meta_forward(gm, torch.tensor(2), torch.empty(2, 3, device="meta"))
    assert isinstance(caught.value.__cause__, RuntimeError)
    if sys.version_info >= (3, 11):
        assert caught.value.__notes__ == ["while running node 'outer_loop' (ai.onnx::Loop-16) in meta_forward"]


def test_an_opset_version_out_of_range_is_a_format_error():
    # Fuzzing signature: TypeError "get_schema(): incompatible function arguments", a version past
    # the int onnx looks schemas up by.
    model = onnx.load_from_string(_relu_model())
    model.opset_import[0].version = 1 << 62
    with pytest.raises(ow.FormatError, match=r"opset_import 'ai\.onnx', version: 4611686018427387904 is out of range"):
        ow.convert(model)


def test_a_message_quoting_bytes_that_are_not_utf8_is_still_a_format_error(tmp_path):
    # Fuzzing signature: UnicodeDecodeError from the scan, whose message quoted an external_data
    # offset holding a byte that is not UTF-8.
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4], [0.0] * 4)
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("float_data")
    weight.external_data.add(key="location", value="w.bin")
    weight.external_data.add(key="offset", value="51X7")
    graph = helper.make_graph([helper.make_node("Relu", ["w"], ["y"])], "g", [],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [weight])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    path = _write(tmp_path, data.replace(b"51X7", b"51\xb17"))
    with pytest.raises(ow.FormatError, match=r"external_data offset '51\\xb17' is not a non-negative integer"):
        ow.scan(path)


@pytest.mark.parametrize("ir_version", [0, 2, -851])
def test_an_ir_version_before_3_is_a_format_error(ir_version):
    # Fuzzing signature: NotImplementedError "ONNX IR version 0 is too old".
    model = onnx.load_from_string(_relu_model())
    model.ir_version = ir_version
    with pytest.raises(ow.FormatError, match=rf"^ir_version {ir_version}: convert reads ONNX IR version 3"):
        ow.convert(model)


def test_a_string_attribute_that_is_not_utf8_is_a_format_error():
    # Fuzzing signature: UnicodeDecodeError from onnx2torch decoding every node's string attributes.
    model = onnx.load_from_string(_relu_model(name="pad", op_type="Pad"))
    model.graph.node[0].attribute.add(name="mode", type=onnx.AttributeProto.STRING, s=b"con\xc5stant")
    with pytest.raises(ow.FormatError, match=r"node 0 \('pad', ai\.onnx::Pad\), attribute 'mode': is not valid UTF-8"):
        ow.convert(model)


def test_a_loop_whose_condition_lost_its_inputs_converts_and_its_meta_run_names_the_node():
    # Fuzzing signature: ValueError "not enough values to unpack" from the Loop's counter pattern
    # matching, which read the body's Less as having two inputs.
    body = helper.make_graph(
        [helper.make_node("Less", [], ["condition_out"], name="less"),
         helper.make_node("Identity", ["carried"], ["carried_out"], name="keep"),
         helper.make_node("Identity", ["carried"], ["scanned"], name="scan")],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("condition", TensorProto.BOOL, []),
         helper.make_tensor_value_info("carried", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("condition_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("carried_out", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("scanned", TensorProto.FLOAT, [2])])
    loop = helper.make_node("Loop", ["", "go", "x"], ["y", "ys"], name="loop", body=body)
    model = _one_node_model(loop, [helper.make_tensor_value_info("go", TensorProto.BOOL, []),
                                   helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])])
    gm = ow.convert(model)
    with pytest.raises(ow.MetaForwardError, match=r"^while running node 'less' \(ai\.onnx::Less-13\) in meta_forward: IndexError"):
        ow.meta_forward(gm, torch.tensor(True), torch.empty(2, device="meta"))


def test_a_node_name_holding_quotes_backslashes_and_newlines_converts_to_code_that_compiles():
    # Fuzzing signature: SyntaxError "unterminated string literal" from fx's generated code, which
    # writes getattr(self, "<submodule name>") unescaped.
    model = onnx.load_from_string(_relu_model(name='em"bed\\ding\nx'))
    gm = ow.convert(model, with_weights=True)
    assert "forward" in gm.code
    assert torch.equal(gm(torch.tensor([[-1.0, 2.0, 0.5]] * 2)), torch.tensor([[0.0, 2.0, 0.5]] * 2))
    program = ow.export(model)
    assert "relu" in str(program.graph).lower()
