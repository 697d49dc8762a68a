"""Real architectures (tests/fixtures/architectures.py) at the exporter's default opset and at 17,
with the weight file deleted and with weights embedded:

- the conversion with weights computes what onnxruntime computes on the same file;
- the weightless conversion (strict: every operator has a converter) has the same state names,
  shapes and dtypes, every large tensor on meta, and a meta forward with onnxruntime's output
  shapes and dtypes;
- where plain onnx2torch converts the file at all, the parameters are the ones it builds.
"""

from __future__ import annotations

import functools
import shutil

import numpy as np
import onnx
import onnx2torch
import pytest
import torch

import onnx_weightless as ow
from conftest import distinct_tensor_elements, flat_outputs, state_signature
from tests.fixtures.architectures import ARCHITECTURES, LAYOUTS, OPSETS, build, reference_outputs

CASES = [(name, opset) for name in ARCHITECTURES for opset in OPSETS]
# Quantized graphs: onnxruntime fuses DequantizeLinear+MatMul/Conv into integer kernels that
# re-quantize activations, so its outputs are one quantization step away from the QDQ arithmetic.
TOLERANCE = {"resnet18_qdq": 0.1}
# The fixtures plain onnx2torch converts at all.
PLAIN_CONVERTS = {("vit", 17), ("resnet18", 17), ("alexnet", 17)}


def _case_id(case) -> str:
    return f"{case[0]}-{case[1]}"


@functools.lru_cache(maxsize=None)
def _reference(name: str, opset):
    fixture = build(name, opset, "embedded")
    real = ow.convert(fixture.path, with_weights=True, strict=True).eval()
    with torch.no_grad():
        outputs = [t.clone() for t in flat_outputs(real(*fixture.example_inputs))]
    return fixture, state_signature(real), outputs, reference_outputs(fixture)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_with_weights_computes_what_onnxruntime_computes(case):
    _, _, outputs, expected = _reference(*case)
    assert len(outputs) == len(expected)
    for ours, theirs in zip(outputs, expected):
        assert tuple(ours.shape) == theirs.shape
        tolerance = TOLERANCE.get(case[0], 1e-4)
        np.testing.assert_allclose(ours.numpy(), theirs, atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_weightless_has_the_structure_and_output_shapes(case, layout, tmp_path):
    _, state, outputs, expected = _reference(*case)
    fixture = build(*case, layout)
    alone = tmp_path / fixture.path.name
    shutil.copyfile(fixture.path, alone)  # for "external", the data file stays behind
    gm = ow.convert(alone, strict=True)
    assert state_signature(gm) == state
    for name, tensor in gm.state_dict().items():
        if tensor.numel() * tensor.element_size() > ow.DEFAULT_SIZE_THRESHOLD:
            assert tensor.device.type == "meta", name
    meta_inputs = [torch.empty(t.shape, dtype=t.dtype, device="meta") for t in fixture.example_inputs]
    meta = flat_outputs(ow.meta_forward(gm, *meta_inputs))
    assert [(tuple(t.shape), t.dtype) for t in meta] == [(tuple(t.shape), t.dtype) for t in outputs]
    assert [tuple(t.shape) for t in meta] == [e.shape for e in expected]


def _plain(case):
    return onnx2torch.convert(onnx.load(str(_reference(*case)[0].path)))


@pytest.mark.parametrize("case", sorted(PLAIN_CONVERTS, key=str), ids=_case_id)
def test_parameters_are_onnx2torchs_wherever_it_converts(case):
    ours = ow.convert(_reference(*case)[0].path, with_weights=True)
    # remove_duplicate=False: ours ties the parameters onnx2torch copies from one initializer.
    named = lambda gm: [(n, tuple(p.shape), p.dtype) for n, p in gm.named_parameters(remove_duplicate=False)]  # noqa: E731
    assert named(ours) == named(_plain(case))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_inspect_counts_the_tensors_the_module_holds(case):
    """inspect's parameter count is the elements of the distinct tensors the converted module holds
    (one per ONNX tensor: copies are tied, views share storage), plus the ONNX tensors it holds no
    tensor of (folded into a module attribute), which are few and scalar-sized."""
    fixture = build(*case, "embedded")
    gm = ow.convert(fixture.path)
    held = distinct_tensor_elements(gm)
    not_held = gm.meta[ow.TENSORS_NOT_HELD]
    assert ow.inspect(fixture.path).parameters == held + sum(not_held.values())
    assert all(elements <= 8 for elements in not_held.values()), not_held
    # Every torch tensor comes from an ONNX tensor: a layer sharing an initializer holds it, not a copy.
    assert sum(p.numel() for p in gm.parameters()) <= held


def test_plain_onnx2torch_converts_only_those():
    converted = set()
    for case in CASES:
        try:
            _plain(case)
            converted.add(case)
        except (NotImplementedError, KeyError):
            pass  # a newer op version, or a weight computed by a node (Identity of a shared bias)
    assert converted == PLAIN_CONVERTS


def _inferred_types(model: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    inferred = onnx.shape_inference.infer_shapes(model)
    values = list(inferred.graph.value_info) + list(inferred.graph.output)
    return {value.name: value.type for value in values if value.type.HasField("tensor_type")}


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_propagated_shapes_match_the_forward_and_onnx_shape_inference(case):
    fixture, _, outputs, _ = _reference(*case)
    gm = ow.convert(fixture.path, strict=True)
    shapes = ow.propagate_shapes(gm, input_shapes=[tuple(t.shape) for t in fixture.example_inputs])
    (output_node,) = [node for node in gm.graph.nodes if node.op == "output"]
    returned = output_node.args[0] if isinstance(output_node.args[0], tuple) else (output_node.args[0],)
    assert [shapes[node.name] for node in returned] == [ow.ValueShape(tuple(t.shape), t.dtype) for t in outputs]

    # Every node output ONNX shape inference gives a shape for agrees with it: rank, fixed dims, dtype.
    types = _inferred_types(ow.load(fixture.path))
    compared = 0
    for node in gm.graph.nodes:
        names = node.meta.get("onnx_outputs")
        if not names:
            continue
        values = shapes[node.name] if len(names) > 1 else (shapes[node.name],)
        for name, value in zip(names, values):
            tensor_type = types[name].tensor_type if name in types else None
            if value is None or tensor_type is None or not tensor_type.HasField("shape"):
                continue
            dims = tensor_type.shape.dim
            assert len(value.shape) == len(dims), (node.name, name)
            for ours, dim in zip(value.shape, dims):
                if dim.HasField("dim_value"):
                    assert ours == dim.dim_value, (node.name, name, value.shape)
                    compared += 1
            assert value.dtype == ow.torch_dtype(tensor_type.elem_type), (node.name, name)
    assert compared >= len(returned)
