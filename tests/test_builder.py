"""The graph builder: opaque modules for operators without a converter, strict mode, shared
initializers, weights held in Constant nodes and in subgraphs, and the converter registry's
isolation from onnx2torch's."""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnx2torch
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from conftest import linear_reshape_model, make_model, save
from converter_checks import check_converter, reference_outputs


def _custom_op_model(with_value_info: bool = True) -> onnx.ModelProto:
    """x[N,8] -> Relu -> acme::Frobnicate(level=3) -> MatMul W[8,16]; N is symbolic."""
    w = numpy_helper.from_array(np.ones((8, 16), dtype=np.float32), "W")
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Frobnicate", ["r"], ["f"], name="frob", domain="acme", level=3, mode="fast"),
        helper.make_node("MatMul", ["f", "W"], ["y"], name="matmul"),
    ]
    value_info = [helper.make_tensor_value_info("f", TensorProto.FLOAT, ["N", 8])] if with_value_info else []
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 16])],
        initializer=[w], value_info=value_info,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("acme", 1)])
    model.ir_version = 8
    return model


def test_unknown_op_becomes_an_opaque_module_the_meta_forward_runs_through():
    gm = ow.convert(_custom_op_model())
    (opaque,) = [m for m in gm.modules() if isinstance(m, ow.OpaqueOp)]
    assert (opaque.op_type, opaque.domain, opaque.version, opaque.node_name) == ("Frobnicate", "acme", 1, "frob")
    assert opaque.attributes == {"level": 3, "mode": "fast"}
    out = ow.meta_forward(gm, torch.empty(5, 8, device="meta"))
    # The symbolic N of the opaque output is bound to the input's first dimension.
    assert (tuple(out.shape), out.dtype, out.device.type) == ((5, 16), torch.float32, "meta")


def test_opaque_module_refuses_to_compute_values():
    gm = ow.convert(_custom_op_model(), with_weights=True)
    with pytest.raises(ow.UnsupportedOperatorError, match="acme::Frobnicate-1 node 'frob' has no converter"):
        gm(torch.ones(2, 8))


def test_opaque_output_without_inferred_shape_fails_clearly_in_the_meta_forward():
    gm = ow.convert(_custom_op_model(with_value_info=False))
    with pytest.raises(ow.UnsupportedOperatorError, match="shape inference gives no .* for its output 'f'"):
        ow.meta_forward(gm, torch.empty(5, 8, device="meta"))


def test_strict_lists_every_unsupported_operator_before_converting():
    model = _custom_op_model()
    model.graph.node.append(helper.make_node("Zap", ["y"], ["z"], name="zap1", domain="acme"))
    model.graph.node.append(helper.make_node("Zap", ["z"], ["z2"], name="zap2", domain="acme"))
    with pytest.raises(ow.UnsupportedOperatorError) as raised:
        ow.convert(model, strict=True)
    assert raised.value.operators == ("acme::Frobnicate-1", "acme::Zap-1")
    message = str(raised.value)
    assert "acme::Zap-1: 2 node(s), 'zap1', 'zap2'" in message and "strict=False" in message


def _shared_weight_model(rng) -> onnx.ModelProto:
    w = numpy_helper.from_array(rng.standard_normal((32, 32)).astype(np.float32), "W")
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["h"], name="first"),
        helper.make_node("MatMul", ["h", "W"], ["y"], name="second"),
    ]
    return make_model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 32])],
        [w],
    )


def test_a_shared_initializer_is_one_tensor(tmp_path, rng):
    model = _shared_weight_model(rng)
    path = save(model, tmp_path, external=True)
    os.remove(f"{path}.data")
    gm = ow.convert(path)
    buffers = dict(gm.named_buffers())
    assert list(buffers) == ["initializers.onnx_initializer_0"]
    assert buffers["initializers.onnx_initializer_0"].device.type == "meta"
    # onnx2torch keeps a copy per use.
    assert len(list(onnx2torch.convert(model).buffers())) == 2
    check_converter(model, {"x": rng.standard_normal((2, 32)).astype(np.float32)}, atol=1e-4)


def _constant_weight_model(rng) -> onnx.ModelProto:
    """The weight is the value of a Constant node, as some exporters and optimisers leave it."""
    weight = numpy_helper.from_array(rng.standard_normal((64, 16)).astype(np.float32), "Wc")
    nodes = [
        helper.make_node("Constant", [], ["W"], name="weight", value=weight),
        helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul"),
    ]
    return make_model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 16])],
    )


def test_weights_in_constant_nodes_are_meta_buffers_and_never_read(tmp_path, rng):
    model = _constant_weight_model(rng)
    path = save(model, tmp_path)
    skeleton = ow.load(path)
    constant = skeleton.graph.node[0].attribute[0].t
    assert constant.data_location == TensorProto.EXTERNAL and not constant.raw_data
    gm = ow.convert(path)
    (name, value), = [(n, b) for n, b in gm.named_buffers() if tuple(b.shape) == (64, 16)]
    assert name == "weight.value" and value.device.type == "meta"
    real = check_converter(model, {"x": rng.standard_normal((3, 64)).astype(np.float32)}, atol=1e-4)
    assert dict(real.named_buffers())["weight.value"].device.type == "cpu"


def _if_model(rng) -> onnx.ModelProto:
    """An If whose branches hold a 64x64 weight each."""
    def branch(name: str) -> onnx.GraphProto:
        w = numpy_helper.from_array(rng.standard_normal((64, 64)).astype(np.float32), f"W_{name}")
        return helper.make_graph(
            [helper.make_node("MatMul", ["x", f"W_{name}"], [f"y_{name}"])], name, [],
            [helper.make_tensor_value_info(f"y_{name}", TensorProto.FLOAT, [2, 64])], initializer=[w],
        )
    node = helper.make_node("If", ["cond"], ["y"], name="choose", then_branch=branch("then"), else_branch=branch("else"))
    return make_model(
        [node],
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, []), helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 64])],
    )


def test_tensors_inside_subgraphs_stay_out_of_the_skeleton(tmp_path, rng):
    path = save(_if_model(rng), tmp_path)
    skeleton = ow.load(path)
    assert skeleton.ByteSize() < 2_000 < os.path.getsize(path)
    branches = [t for g in skeleton.graph.node[0].attribute for t in g.g.initializer]
    assert [(t.data_location, len(t.raw_data)) for t in branches] == [(TensorProto.EXTERNAL, 0)] * 2
    # Each branch's weight is a meta buffer of its sub-GraphModule, read from nowhere.
    gm = ow.convert(path)
    assert [(name, tuple(t.shape), t.device.type) for name, t in gm.state_dict().items()] == [
        ("choose.then_branch.initializers.onnx_initializer_0", (64, 64), "meta"),
        ("choose.else_branch.initializers.onnx_initializer_0", (64, 64), "meta"),
    ]
    out = ow.meta_forward(gm, torch.empty((), dtype=torch.bool, device="meta"), torch.empty(2, 64, device="meta"))
    assert tuple(out.shape) == (2, 64)


def test_the_seed_loader_also_gets_newer_versions_and_opaque_modules(tmp_path, rng):
    model = make_model(
        [helper.make_node("LayerNormalization", ["x", "s"], ["y", "mean"], name="ln")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8]), helper.make_tensor_value_info("mean", TensorProto.FLOAT, [2, 1])],
        [numpy_helper.from_array(np.ones(8, dtype=np.float32), "s")],
    )
    x = rng.standard_normal((2, 8)).astype(np.float32)
    with ow.weightless_onnx_loader():
        gm = onnx2torch.convert(onnx.load(str(save(model, tmp_path))))
    # onnx2torch's own loop returns the producing node's whole output tuple.
    y, mean = gm(torch.from_numpy(x))[:2]
    expected = reference_outputs(model, {"x": x})
    np.testing.assert_allclose(y.numpy(), expected[0], atol=1e-5)
    np.testing.assert_allclose(mean.numpy(), expected[1], atol=1e-6)
    with ow.weightless_onnx_loader():
        gm = onnx2torch.convert(_custom_op_model())
    assert any(isinstance(m, ow.OpaqueOp) for m in gm.modules())


def test_our_converters_never_enter_onnx2torchs_registry():
    from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY

    from onnx_weightless._converters import all_registrations, load_all

    before = dict(_CONVERTER_REGISTRY)
    load_all()
    ow.convert(_custom_op_model())
    assert _CONVERTER_REGISTRY == before
    assert all_registrations(), "the package registers converters of its own"
    with pytest.raises(NotImplementedError):
        onnx2torch.convert(_custom_op_model())


class _Frobnicate(torch.nn.Module):
    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.level


def test_a_registered_converter_replaces_the_opaque_module():
    from onnx2torch.utils.common import OperationConverterResult, onnx_mapping_from_node

    @ow.register_converter("Frobnicate", 1, domain="acme")
    def _(node, graph):
        return OperationConverterResult(_Frobnicate(node.attributes["level"]), onnx_mapping_from_node(node))

    try:
        gm = ow.convert(_custom_op_model(), strict=True, with_weights=True)
        assert torch.equal(gm(torch.ones(2, 8)), torch.full((2, 16), 24.0))
        with pytest.raises(ValueError, match="acme::Frobnicate-1 already has a converter; pass replace=True"):
            ow.register_converter("Frobnicate", 1, domain="acme")(_)
    finally:
        from onnx_weightless._converters import registry

        registry.unregister("Frobnicate", 1, domain="acme")


def test_python_code_is_generated_on_first_use(tmp_path, rng):
    """Interpreting the graph (meta_forward, propagate_shapes) never needs the generated forward;
    calling the module or reading its code generates it."""
    from torch.fx._lazy_graph_module import _LazyGraphModule

    path = save(linear_reshape_model(rng), tmp_path)
    gm = ow.convert(path, with_weights=True)
    assert isinstance(gm, torch.fx.GraphModule)
    x = torch.randn(2, 64)
    meta = ow.meta_forward(gm, x.to("meta"))
    assert type(gm)._needs_recompile(), "meta_forward generated the code"
    assert meta.shape == gm(x).shape
    assert not type(gm)._needs_recompile()
    assert "def forward" in gm.code
    plain = torch.fx.GraphModule(gm, gm.graph)  # an eagerly compiled copy, e.g. for torch.jit.script
    torch.testing.assert_close(plain(x), gm(x))


def test_a_weightless_module_called_on_meta_inputs_runs_its_meta_forward(tmp_path, rng):
    # A Reshape reading a real constant shape, after a MatMul with meta weights: one op could not
    # mix the two; the call runs meta_forward, which the module as returned needs no wrapper for.
    path = save(linear_reshape_model(rng), tmp_path)
    weightless = ow.convert(path)
    assert {t.device.type for t in weightless.buffers()} >= {"meta", "cpu"}  # weights, and the shape read as values
    x = torch.randn(2, 64)
    with torch.no_grad():
        called = weightless(x.to("meta"))
        real = ow.convert(path, with_weights=True)(x)
    assert called.device.type == "meta"
    assert (tuple(called.shape), called.dtype) == (tuple(real.shape), real.dtype)
    assert (tuple(called.shape), called.dtype) == (tuple(ow.meta_forward(weightless, x.to("meta")).shape), real.dtype)
    # Traced, it is a GraphModule like any: torch.export sees fake inputs, not meta ones.
    materialised = ow.materialize(ow.convert(path, integer_shapes=True), path)
    program = torch.export.export(materialised, (x,), strict=False)
    torch.testing.assert_close(program.module()(x), real)
