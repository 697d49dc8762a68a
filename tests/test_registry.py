"""The operator registry: one record per operator version holds its converter and traits, every
converter call is wrapped so a failure names its node and operator, and the layers above the
registry depend on it one way."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
import onnx2torch
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx2torch.utils.common import OnnxMapping, OperationConverterResult

import onnx_weightless as ow
from onnx_weightless._converters import lookup, registry
from onnx_weightless._onnx_op import OnnxOp
from conftest import make_model

PACKAGE = Path(ow.__file__).parent


@pytest.mark.parametrize(
    "domain, op_type, opset, op, source",
    [
        ("", "Softmax", 13, OnnxOp("", "Softmax", 13), "onnx2torch"),
        ("ai.onnx", "Pad", 21, OnnxOp("", "Pad", 21), "onnx-weightless"),
        ("", "Relu", 17, OnnxOp("", "Relu", 14), "onnx2torch"),
        ("", "Conv", 21, OnnxOp("", "Conv", 11), "onnx-weightless"),
        ("com.microsoft", "MatMulNBits", 1, OnnxOp("com.microsoft", "MatMulNBits", 1), "onnx-weightless"),
        ("acme", "Frobnicate", 3, OnnxOp("acme", "Frobnicate", 3), None),
    ],
)
def test_a_record_names_the_version_in_force_and_whose_converter_serves_it(domain, op_type, opset, op, source):
    record = lookup(domain, op_type, opset)
    assert (record.op, record.source, record.converter is None) == (op, source, source is None)


def test_traits_hold_for_every_version_whoever_converts_it():
    assert lookup("", "Reshape", 14).traits.value_inputs == (1,)  # onnx2torch's converter
    assert lookup("", "Pad", 21).traits.value_inputs == (1, 2, 3)  # ours
    assert lookup("", "Conv", 11).traits.weight_layer and lookup("", "ConvTranspose", 11).traits.weight_layer
    assert lookup("", "Shape", 21).traits.shape_only and lookup("", "Size", 21).traits.shape_only
    assert lookup("", "ConstantOfShape", 20).traits.value_attribute
    assert not lookup("", "Relu", 14).traits.weight_layer
    assert lookup("com.microsoft", "Gelu", 1).traits.value_inputs == ()


def test_a_registration_adds_its_own_traits():
    # Nothing declares them for every version: these registrations do.
    assert lookup("", "NonZero", 13).traits.value_inputs == (0,)
    assert lookup("", "MaxUnpool", 11).traits.value_inputs == (2,)
    assert lookup("", "If", 16).traits.subgraphs and lookup("", "Loop", 16).traits.subgraph_value_outputs == (0,)
    assert not lookup("", "Relu", 14).traits.subgraphs


@contextmanager
def _registered(op_type: str, converter, **traits) -> Iterator[None]:
    ow.register_converter(op_type, 1, domain="acme", **traits)(converter)
    try:
        yield
    finally:
        registry.unregister(op_type, 1, domain="acme")
    assert lookup("acme", op_type, 1).converter is None


def _acme_model(op_type: str, weight: np.ndarray | None = None) -> onnx.ModelProto:
    inputs = ["x"] + (["W"] if weight is not None else [])
    initializers = [numpy_helper.from_array(weight, "W")] if weight is not None else []
    model = make_model(
        [helper.make_node(op_type, inputs, ["y"], name="acme_node", domain="acme")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializers,
    )
    model.opset_import.append(helper.make_opsetid("acme", 1))
    return model


def _dense(built_on: list[str]):
    """A converter building nn.Linear from the node's weight input; notes the device it ran under."""

    def convert(node, graph):
        built_on.append(torch.empty(()).device.type)
        weight = graph.initializers[node.input_values[1]].to_torch()
        layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        layer.weight = torch.nn.Parameter(weight, requires_grad=False)
        return OperationConverterResult(layer, OnnxMapping(inputs=(node.input_values[0],), outputs=tuple(node.output_values)))

    return convert


@pytest.mark.parametrize("weight_layer", [True, False])
def test_a_weight_layer_is_built_on_the_meta_device_with_meta_weights(weight_layer):
    weight = np.arange(12, dtype=np.float32).reshape(3, 4)
    built_on: list[str] = []
    with _registered("Dense", _dense(built_on), weight_layer=weight_layer):
        gm = ow.convert(_acme_model("Dense", weight))  # 48 bytes: real under the default policy
        real = ow.convert(_acme_model("Dense", weight), with_weights=True)
    # A weight layer is built under the meta device and given meta weights, whatever their size;
    # with weights, it is built as usual.
    assert built_on == (["meta", "cpu"] if weight_layer else ["cpu", "cpu"])
    assert dict(gm.named_children())["acme/acme_node"].weight.device.type == ("meta" if weight_layer else "cpu")
    assert torch.equal(real(torch.ones(2, 4)), torch.ones(2, 4) @ torch.from_numpy(weight).T)


def test_every_converter_failure_names_its_node_and_operator():
    def broken(node, graph):
        raise ValueError("the level is out of range")

    with _registered("Broken", broken):
        for run in (lambda model: ow.convert(model), _seed_convert):
            with pytest.raises(ow.ConversionError) as raised:
                run(_acme_model("Broken"))
            error = raised.value
            assert str(error) == "while converting node 'acme_node' (acme::Broken-1): ValueError: the level is out of range"
            assert (error.node, error.op) == ("acme_node", OnnxOp("acme", "Broken", 1))
            assert isinstance(error.__cause__, ValueError)


def _seed_convert(model: onnx.ModelProto):
    with ow.weightless_onnx_loader():
        return onnx2torch.convert(model)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes are Python 3.11+")
def test_a_typed_error_inside_a_converter_keeps_its_type_and_gains_the_node():
    def missing(node, graph):
        raise ow.MissingWeightsError("tensor 'W' cannot be read")

    with _registered("Missing", missing):
        with pytest.raises(ow.MissingWeightsError, match="tensor 'W' cannot be read") as raised:
            ow.convert(_acme_model("Missing"))
    assert raised.value.__notes__ == ["while converting node 'acme_node' (acme::Missing-1)"]


def _unpool_model() -> onnx.ModelProto:
    """MaxUnpool with an output_shape the runtimes disagree on: its module refuses to run."""
    shape = numpy_helper.from_array(np.array([1, 1, 5, 5], dtype=np.int64), "output_shape")
    return make_model(
        [helper.make_node("MaxUnpool", ["x", "indices", "output_shape"], ["y"], name="unpool", kernel_shape=[2, 2], strides=[2, 2])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2]),
         helper.make_tensor_value_info("indices", TensorProto.INT64, [1, 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [shape],
        opset=11,
    )


def test_meta_forward_raises_the_first_error_not_its_retrys():
    """The first call mixes meta inputs with the real output_shape and fails; so does the retry
    with everything on meta ("Cannot copy out of meta tensor"): the first error is the one raised."""
    gm = ow.convert(_unpool_model())
    with pytest.raises(ow.MetaForwardError, match="MaxUnpool: output_shape") as raised:
        ow.meta_forward(gm, torch.empty(1, 1, 2, 2, device="meta"), torch.empty(1, 1, 2, 2, dtype=torch.int64, device="meta"))
    assert str(raised.value).startswith(
        "while running node 'unpool' (ai.onnx::MaxUnpool-11) in meta_forward: NotImplementedError: ")
    assert (raised.value.node, str(raised.value.op)) == ("unpool", "ai.onnx::MaxUnpool-11")
    assert isinstance(raised.value.__cause__, NotImplementedError)
    assert "meta tensor" not in str(raised.value.__cause__)


# --- layers: lower modules never import upper ones ---------------------------------------------

# Each group may import the groups before it, never those after.
_LAYERS = (
    {"_onnx_op", "_graphs", "_core", "_errors", "_dtypes", "_adapter", "_gc_pause", "_progress", "_loop_shapes",
     "_shape_inference"},
    {"_converters", "_opaque", "_value_inputs", "_tensors", "_skeleton", "_shared_tensors", "_graph_module",
     "_host_values", "_integer_forms", "_fake_run", "_sequence_scans"},
    {"_session"},
    {"_builder"},
    {"_convert", "_meta_forward", "_shapes", "_inspect", "_materialize", "_strip", "_export", "_diff"},
    {"_cli", "__main__"},  # the command line, on top of the library
)


def _imported_modules(path: Path) -> set[str]:
    """The package's modules ``path`` imports (first component under the package)."""
    found = set()
    depth = len(path.relative_to(PACKAGE).parts) - 1
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            parts = (node.module or "").split(".")
            above = node.level - 1  # levels up from the file's own package
            if above < depth:  # still inside a subpackage: the subpackage itself
                found.add(path.relative_to(PACKAGE).parts[0])
            elif parts[0]:
                found.add(parts[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def _layer(module: str) -> int | None:
    return next((index for index, group in enumerate(_LAYERS) if module in group), None)


def test_every_module_has_a_layer():
    modules = {p.stem for p in PACKAGE.glob("_*.py")} | {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    modules -= {"__init__"}
    assert sorted(m for m in modules if not m.startswith("_core") and _layer(m) is None) == []


def test_lower_modules_never_import_upper_ones():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.name == "__init__.py" and len(relative.parts) == 1:
            continue  # the public surface imports everything
        own = _layer(relative.parts[0].removesuffix(".py"))
        for imported in _imported_modules(path):
            level = _layer(imported)
            if own is not None and level is not None and level > own:
                offences.append(f"{relative} imports {imported}")
    assert offences == []
