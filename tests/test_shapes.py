"""propagate_shapes: symbolic dimensions found as expressions, bound ones as numbers, agreeing with
onnxruntime's outputs and with ONNX shape inference."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.conftest import make_model


class _Attention(torch.nn.Module):
    """Shapes computed as tensors (Shape -> Gather -> Concat -> Reshape), a cache growing along a
    second symbol, and a flattening to batch*sequence rows."""

    def __init__(self) -> None:
        super().__init__()
        self.q = torch.nn.Linear(16, 16)
        self.o = torch.nn.Linear(16, 8)

    def forward(self, x: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, sequence, _ = x.shape
        q = self.q(x).reshape(batch, sequence, 4, 4).transpose(1, 2)
        k = torch.cat([past, q], dim=2)
        a = torch.softmax(q @ k.transpose(-1, -2), -1) @ k
        return self.o(a.transpose(1, 2).reshape(batch * sequence, 16)), k


@pytest.fixture(scope="module")
def attention_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("shapes") / "attention.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Attention().eval(),
            (torch.randn(2, 5, 16), torch.randn(2, 4, 3, 4)),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["x", "past"],
            output_names=["y", "present"],
            dynamic_axes={"x": {0: "batch", 1: "sequence"}, "past": {0: "batch", 2: "past"}},
        )
    return path


def _outputs(gm, shapes):
    (output_node,) = [node for node in gm.graph.nodes if node.op == "output"]
    return [shapes[node.name].shape for node in output_node.args[0]]


def test_unbound_symbols_stay_symbolic(attention_path):
    gm = ow.convert(attention_path, strict=True)
    shapes = ow.propagate_shapes(gm)
    assert _outputs(gm, shapes) == [("batch*sequence", 8), ("batch", 4, "past + sequence", 4)]
    placeholders = [node for node in gm.graph.nodes if node.op == "placeholder"]
    assert [node.meta["shape"] for node in placeholders] == [
        ow.ValueShape(("batch", "sequence", 16), torch.float32),
        ow.ValueShape(("batch", 4, "past", 4), torch.float32),
    ]
    # Recorded on every node, as returned.
    assert all(node.meta["shape"] == shapes[node.name] for node in gm.graph.nodes if node.op != "output")


def test_bound_symbols_are_numbers_and_match_onnxruntime(attention_path):
    gm = ow.convert(attention_path, strict=True)
    partly = ow.propagate_shapes(gm, dims={"batch": 3})
    assert _outputs(gm, partly) == [("3*sequence", 8), (3, 4, "past + sequence", 4)]

    shapes = ow.propagate_shapes(gm, dims={"batch": 3, "sequence": 7, "past": 2})
    session = onnxruntime.InferenceSession(str(attention_path), providers=["CPUExecutionProvider"])
    feeds = {"x": np.zeros((3, 7, 16), np.float32), "past": np.zeros((3, 4, 2, 4), np.float32)}
    expected = [tuple(output.shape) for output in session.run(None, feeds)]
    assert _outputs(gm, shapes) == expected == [(21, 8), (3, 4, 9, 4)]

    # The same by input shapes, and by tensors.
    assert _outputs(gm, ow.propagate_shapes(gm, input_shapes={"x": (3, 7, 16), "past": (3, 4, 2, 4)})) == expected
    tensors = [torch.empty(3, 7, 16, device="meta"), torch.empty(3, 4, 2, 4, device="meta")]
    assert _outputs(gm, ow.propagate_shapes(gm, tensors)) == expected


def test_symbols_agree_with_onnx_shape_inference(attention_path):
    """Where ONNX shape inference names a graph input's symbol, the expression is that symbol;
    where it gives a number, the dimension is that number."""
    gm = ow.convert(attention_path, strict=True)
    shapes = ow.propagate_shapes(gm)
    inferred = onnx.shape_inference.infer_shapes(onnx.load(str(attention_path)))
    types = {v.name: v.type.tensor_type for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    symbols = {"batch", "sequence", "past"}
    checked = 0
    for node in gm.graph.nodes:
        for name, value in zip(node.meta.get("onnx_outputs", ()), [shapes.get(node.name)]):
            if name not in types or not types[name].HasField("shape"):
                continue
            dims = types[name].shape.dim
            assert len(dims) == len(value.shape), name
            for ours, dim in zip(value.shape, dims):
                if dim.HasField("dim_value"):
                    assert ours == dim.dim_value, name
                    checked += 1
                elif dim.dim_param in symbols:
                    assert ours == dim.dim_param, name
                    checked += 1
    assert checked >= 20


def test_non_polynomial_dimensions_are_unresolved(tmp_path):
    """A strided convolution floors: its output length is no polynomial of the input's."""
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], strides=[2], kernel_shape=[3])],
        "strided",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, "length"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [helper.make_tensor("w", TensorProto.FLOAT, [2, 1, 3], [0.5] * 6)],
    )
    path = tmp_path / "strided.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    gm = ow.convert(path)
    assert _single_output(gm, ow.propagate_shapes(gm)) == ("batch", 2, None)
    assert _single_output(gm, ow.propagate_shapes(gm, dims={"length": 11})) == ("batch", 2, 5)


def _single_output(gm, shapes):
    (output_node,) = [node for node in gm.graph.nodes if node.op == "output"]
    return shapes[output_node.args[0].name].shape


def test_unknown_dimensions_become_symbols_of_their_own(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "unknown",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    path = tmp_path / "unknown.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    gm = ow.convert(path)
    assert _single_output(gm, ow.propagate_shapes(gm)) == ("x_0", 3)
    assert _single_output(gm, ow.propagate_shapes(gm, dims={"x_0": 4})) == (4, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dims": {"beam": 2}}, r"dims binds \['beam'\], which no input uses"),
        ({"dims": {"batch": -1}}, r"dims\['batch'\] must be a non-negative int"),
        ({"input_shapes": [(1, 2, 16)]}, "input_shapes has 1 shapes for 2 graph inputs"),
        ({"input_shapes": {"y": (1, 2, 16)}}, r"input_shapes names \['y'\], which are not graph inputs"),
        ({"inputs": [torch.empty(1, 2, 16)]}, "1 inputs for 2 graph inputs"),
        ({"inputs": [], "dims": {"batch": 1}}, "give inputs, or input_shapes and dims, not both"),
    ],
)
def test_bad_arguments(attention_path, kwargs, message):
    gm = ow.convert(attention_path)
    with pytest.raises(ValueError, match=message):
        ow.propagate_shapes(gm, **kwargs)


def test_needs_inputs_for_modules_built_elsewhere(attention_path):
    traced = torch.fx.symbolic_trace(_Attention())
    with pytest.raises(ValueError, match="has no ONNX declaration .* pass inputs= with tensors"):
        ow.propagate_shapes(traced)
    shapes = ow.propagate_shapes(traced, [torch.empty(2, 5, 16, device="meta"), torch.empty(2, 4, 3, 4, device="meta")])
    assert _outputs(traced, shapes) == [(10, 8), (2, 4, 8, 4)]
    with pytest.raises(TypeError, match="expects a torch.fx.GraphModule"):
        ow.propagate_shapes(torch.nn.Linear(2, 2))


def test_an_integer_shape_module_gets_torchs_symbolic_sizes_and_standard_fx_metadata(tmp_path):
    # Reshape to [batch, sequence, 2, -1] from Shape/Gather/Concat, then a strided Conv's floor division.
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Slice", ["s", "zero", "two"], ["bs"]),
        helper.make_node("Concat", ["bs", "split"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["heads"]),
        helper.make_node("Transpose", ["x"], ["channels_first"], perm=[0, 2, 1]),
        helper.make_node("Conv", ["channels_first", "w"], ["strided"], strides=[2]),
    ]
    initializers = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
                    (("zero", [0]), ("two", [2]), ("split", [2, -1]))]
    initializers.append(numpy_helper.from_array(np.zeros((4, 8, 3), np.float32), "w"))
    model = make_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "sequence", 8])],
                       [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("heads", "strided")],
                       initializers, opset=18)
    gm = ow.convert(model, integer_shapes=True)
    shapes = ow.propagate_shapes(gm)
    by_output = {n.meta["onnx_outputs"][0]: n for n in gm.graph.nodes if n.op in ("call_module", "call_function") and n.meta.get("onnx_outputs")}
    assert shapes[by_output["heads"].name].shape == ("batch", "sequence", 2, 4)
    # (sequence - 3) // 2 + 1: a floor division no polynomial fit gives.
    batch, channels, length = shapes[by_output["strided"].name].shape
    assert (batch, channels) == ("batch", 4)
    assert [eval(length, {"sequence": n}) for n in (3, 4, 11)] == [1, 1, 5]  # noqa: S307 - an expression it printed
    value = by_output["strided"].meta["val"]
    assert isinstance(value.shape[0], torch.SymInt) and value.shape[1] == 4
    assert by_output["strided"].meta["tensor_meta"].dtype == torch.float32
    # The module's own weights are back after the run.
    assert all(t.device.type == "meta" for t in gm.parameters())
