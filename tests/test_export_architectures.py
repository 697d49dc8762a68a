"""Every architecture fixture's dynamic variant (tests/fixtures/architectures.py,
``build(..., dynamic=True)``), both opsets, both layouts, through ``ow.export(path)``: the program's
state is meta, its batch and sequence sizes stay symbolic, and with the file's weights
(``ow.materialize``) ``ep.module()`` computes onnxruntime's outputs at three sizes of every symbol;
and the module converted with integer shapes and the weights compiles with
``torch.compile(fullgraph=True, dynamic=True)`` and computes them too.

``make test`` runs a smoke (SMOKE: a decoder LLM, an encoder, a CNN, at both opsets, embedded);
the whole matrix runs with ONNX_WEIGHTLESS_EXPORT_SWEEP=1 (``make export-sweep``). Cases that do not
export yet are listed in NOT_EXPORTED and must still fail (strict xfail), so a fix shows as XPASS.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

import onnx_weightless as ow
from tests.conftest import flat_outputs
from tests.fixtures.architectures import (
    ARCHITECTURES,
    DYNAMIC_UNAVAILABLE,
    LAYOUTS,
    OPSETS,
    ExportUnavailable,
    build,
    make_inputs,
    torch_model,
)

SWEEP_ENV = "ONNX_WEIGHTLESS_EXPORT_SWEEP"
SWEEP = os.environ.get(SWEEP_ENV) == "1"
SMOKE = {(name, opset, "embedded") for name in ("llama", "bert", "resnet18") for opset in OPSETS}

# None is 4, the size ow.export traces with. Sequences stay within every fixture's positions
# (CLIP's text model has 8).
BATCH_SIZES = (1, 2, 3)
SEQUENCE_SIZES = (5, 6, 8)


class FixedAxes(AssertionError):
    """The program takes at one size an axis the ONNX file declares symbolic."""


#: (architecture, opset) -> (what it raises, why) for the cases that do not export yet, both layouts.
NOT_EXPORTED: dict[tuple[str, str | int], tuple[type[BaseException], str]] = {}

#: (architecture, opset) -> {(input, axis): size} for symbolic axes the model itself fixes. None
#: does: the position tables of CLIP's text model (8) and BERT (64) bound the sequence, which stays symbolic.
FIXED_BY_THE_MODEL: dict[tuple[str, str | int], dict[tuple[str, int], int]] = {}

#: Quantized (as in test_architectures.py): where torch's and onnxruntime's float Conv differ in the last
#: bit, a value on a QuantizeLinear rounding boundary lands one quantization step apart, and the next
#: layers carry that on (about 0.02 at outputs of about 1.5, with or without onnxruntime's fusions).
TOLERANCE = {"resnet18_qdq": 0.1}
ATOL = 1e-4  # absolute and relative


def _case_id(case) -> str:
    return "-".join(str(part) for part in case)


def _marks(name: str, opset, layout: str | None) -> list:
    if (name, opset) in DYNAMIC_UNAVAILABLE:
        return [pytest.mark.xfail(raises=ExportUnavailable, strict=True, reason=DYNAMIC_UNAVAILABLE[name, opset])]
    if layout is not None and (name, opset) in NOT_EXPORTED:
        raises, reason = NOT_EXPORTED[name, opset]
        return [pytest.mark.xfail(raises=raises, strict=True, reason=reason)]
    return []


def _selected(name: str, opset, layout: str) -> bool:
    """The whole matrix with ONNX_WEIGHTLESS_EXPORT_SWEEP=1, else the smoke (the rest is not
    collected, rather than skipped)."""
    return SWEEP or (name, opset, layout) in SMOKE


CASES = [pytest.param((name, opset, layout), id=_case_id((name, opset, layout)), marks=_marks(name, opset, layout))
         for name in ARCHITECTURES for opset in OPSETS for layout in LAYOUTS if _selected(name, opset, layout)]
FIXTURES = [pytest.param((name, opset), id=_case_id((name, opset)), marks=_marks(name, opset, None))
            for name in ARCHITECTURES for opset in OPSETS if _selected(name, opset, "embedded")]


def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    initializers = {tensor.name for tensor in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initializers]


def _shapes(model: onnx.ModelProto, run: int, fixed: dict[tuple[str, int], int]) -> list[list[int]]:
    """Each input's shape in run ``run``: a symbol on axis 0 is a batch size, any other a sequence
    length. Every symbol of a kind takes the same size, as the dynamo exporter gives axes the model
    ties only by broadcasting (BERT's mask batch, Whisper's encoder batch) symbols of their own."""
    shapes = []
    for value in _graph_inputs(model):
        shape = []
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if (value.name, axis) in fixed:
                shape.append(fixed[value.name, axis])
            elif dim.dim_param:
                shape.append((BATCH_SIZES if axis == 0 else SEQUENCE_SIZES)[run])
            else:
                shape.append(dim.dim_value)
        shapes.append(shape)
    return shapes


def _fixed_axes(program: torch.export.ExportedProgram, model: onnx.ModelProto) -> dict[tuple[str, int], int]:
    """(input, axis) -> size for the axes the ONNX file declares symbolic but the program takes at one size."""
    user_inputs = [spec.arg.name for spec in program.graph_signature.input_specs if spec.kind.name == "USER_INPUT"]
    placeholders = {node.name: node for node in program.graph.nodes if node.op == "placeholder"}
    fixed = {}
    for value, name in zip(_graph_inputs(model), user_inputs, strict=True):
        sizes = placeholders[name].meta["val"].shape
        for axis, (dim, size) in enumerate(zip(value.type.tensor_type.shape.dim, sizes, strict=True)):
            if dim.dim_param and isinstance(size, int):
                fixed[value.name, axis] = size
    return fixed


def _assert_close(got: list[torch.Tensor], expected: list[np.ndarray], tolerance: float, where: str) -> None:
    assert len(got) == len(expected), where
    for index, (ours, theirs) in enumerate(zip(got, expected)):
        assert tuple(ours.shape) == theirs.shape, (where, index, tuple(ours.shape), theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs, atol=tolerance, rtol=tolerance, err_msg=f"output {index} {where}")


@pytest.mark.parametrize("case", CASES)
def test_exports_with_symbolic_sizes_and_computes_what_onnxruntime_computes(case):
    name, opset, layout = case
    fixture = build(name, opset, layout, dynamic=True)
    model = onnx.load(str(fixture.path), load_external_data=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ow.FixedDimensionWarning)
        program = ow.export(fixture.path)
    assert all(tensor.device.type == "meta" for tensor in program.state_dict.values())  # never allocated
    fixed = _fixed_axes(program, model)
    if fixed != FIXED_BY_THE_MODEL.get((name, opset), {}):
        raise FixedAxes(f"{fixed}: {[str(w.message) for w in caught]}")

    module = ow.materialize(program.module(), fixture.path)
    session = onnxruntime.InferenceSession(str(fixture.path), providers=["CPUExecutionProvider"])
    for run in range(3):
        shapes = _shapes(model, run, fixed)
        inputs = make_inputs(name, shapes, seed=run)
        expected = session.run(None, {n: t.numpy() for n, t in zip(fixture.input_names, inputs)})
        with torch.no_grad():
            got = flat_outputs(module(*inputs))
        _assert_close(got, expected, TOLERANCE.get(name, ATOL), f"at input shapes {shapes}")


@pytest.mark.parametrize("case", FIXTURES)
def test_the_dynamic_fixture_computes_the_torch_model_at_other_sizes(case):
    """The dynamic variant is the torch model at sizes other than the traced ones (a TorchScript
    trace can bake in the example's sizes, which onnxruntime and ow.export would then share)."""
    name, opset = case
    fixture = build(name, opset, "embedded", dynamic=True)
    model = onnx.load(str(fixture.path), load_external_data=False)
    for value, example in zip(_graph_inputs(model), fixture.example_inputs, strict=True):
        dims = value.type.tensor_type.shape.dim
        symbolic = [axis for axis, dim in enumerate(dims) if dim.dim_param]
        # Every input's batch, and the sequence of token inputs (int64), nothing else.
        assert symbolic == ([0] if example.is_floating_point() else [0, 1]), (value.name, symbolic)
    shapes = _shapes(model, 2, {})
    inputs = make_inputs(name, shapes, seed=2)
    session = onnxruntime.InferenceSession(str(fixture.path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {n: t.numpy() for n, t in zip(fixture.input_names, inputs)})
    with torch.no_grad():
        got = flat_outputs(torch_model(name)(*inputs))
    if name == "resnet18_qdq":  # quantized: close to the float model only in shape
        assert [tuple(t.shape) for t in got] == [e.shape for e in expected]
        return
    _assert_close(got, expected, ATOL, f"at input shapes {shapes}")


# NonZero's output size is data: torch.compile traces it as an unbacked size when asked to.
@torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True, capture_scalar_outputs=True)
@pytest.mark.parametrize("case", FIXTURES)
def test_a_materialised_fixture_compiles_in_one_graph(case):
    """``torch.compile(fullgraph=True, dynamic=True)`` (which refuses any graph break) of the module
    converted with integer shapes and the file's weights computes onnxruntime's outputs at two
    sizes of every symbol."""
    name, opset = case
    fixture = build(name, opset, "embedded", dynamic=True)
    model = onnx.load(str(fixture.path), load_external_data=False)
    torch._dynamo.reset()
    compiled = torch.compile(ow.convert(fixture.path, with_weights=True, integer_shapes=True),
                             fullgraph=True, dynamic=True, backend="eager")
    session = onnxruntime.InferenceSession(str(fixture.path), providers=["CPUExecutionProvider"])
    for run in (0, 2):
        shapes = _shapes(model, run, {})
        inputs = make_inputs(name, shapes, seed=run)
        expected = session.run(None, {n: t.numpy() for n, t in zip(fixture.input_names, inputs)})
        with torch.no_grad():
            got = flat_outputs(compiled(*inputs))
        _assert_close(got, expected, TOLERANCE.get(name, ATOL), f"at input shapes {shapes}")
