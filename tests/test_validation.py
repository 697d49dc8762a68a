"""Broken files through convert: the structural check (cpp/include/onnx_weightless/validate.hpp)
turns each fault the pipeline fuzzing found into a FormatError naming the node and the field, and
a converter that fails on a structurally valid graph raises ConversionError naming the node, its
operator and the input whose rank shape inference could not determine."""

from __future__ import annotations

import onnx
import pytest
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
