"""Every file of the corpus made by other tools (tests/wild/) through ``ow.export`` with its symbolic
dimensions left symbolic: the program, given the model's weights (materialize), computes
onnxruntime's outputs at three sizes of every symbol. The files that do not export yet are listed
with the reason, and must still fail (a fixed one is moved out of the list)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

import onnx_weightless as ow
from tests.conftest import flat_outputs
from tests.wild_sweep import SIZES, WildCase, cases, exact_reference, feeds_for, kv_cache_dim

#: Case name -> why it does not export yet.
NOT_EXPORTED: dict[str, str] = {}

#: Symbols a model declares but fixes: genai's KV-cache head size (``kv_cache_dim``). Any other
#: symbol the program takes at one size is a size this package's conversion fixed by mistake.
FIXED_BY_THE_MODEL = {"kv_cache_dim"}

#: Symbols whose size is derived from others, as the exporters that write them mean it.
_DERIVED = {
    "past_sequence_length + sequence_length": ("past_sequence_length", "sequence_length"),
    "total_sequence_length": ("past_sequence_length", "sequence_length"),
}


def _symbols(model: onnx.ModelProto) -> set[str]:
    return {d.dim_param for value in model.graph.input for d in value.type.tensor_type.shape.dim if d.dim_param}


def size_runs(model: onnx.ModelProto, variant: dict, fixed: dict[str, int]) -> list[dict[str, int]]:
    """Three sizes of every symbol (the case's own, then one and two more), the derived ones
    following; a symbol the model fixes (``fixed``) keeps its size."""
    base = SIZES | {"kv_cache_dim": kv_cache_dim(model) or 2} | variant.get("sizes", {}) | fixed
    kept = set(fixed)
    if "total_sequence_length" in _symbols(model):
        # genai's prompts: onnxruntime's GroupQueryAttention takes a batch of several with no past only.
        kept.add("past_sequence_length")
    runs = []
    for step in range(3):
        sizes = {s: base.get(s, 2) + (0 if s in kept else step) for s in _symbols(model) | {"past_sequence_length", "sequence_length"}}
        for derived, (past, new) in _DERIVED.items():
            sizes[derived] = sizes[past] + sizes[new]
        runs.append(sizes)
    return runs


def _fixed_symbols(program: torch.export.ExportedProgram, model: onnx.ModelProto) -> dict[str, int]:
    """The ONNX symbols the program takes at one size (the model fixes them)."""
    user_inputs = [spec.arg.name for spec in program.graph_signature.input_specs if spec.kind.name == "USER_INPUT"]
    placeholders = {node.name: node for node in program.graph.nodes if node.op == "placeholder"}
    fixed = {}
    for value, name in zip([v for v in model.graph.input if v.name not in {i.name for i in model.graph.initializer}], user_inputs):
        sizes = placeholders[name].meta["val"].shape
        for dim, size in zip(value.type.tensor_type.shape.dim, sizes):
            if dim.dim_param and isinstance(size, int):
                fixed[dim.dim_param] = size
    return fixed


#: Sizes to trace with that agree with the relations between symbols (a total is past + new).
EXAMPLE_DIMS = {"past_sequence_length": 3, "sequence_length": 4, "past_sequence_length + sequence_length": 7,
                "total_sequence_length": 7}


def _export(case: WildCase, model: onnx.ModelProto) -> tuple[torch.export.ExportedProgram, list[str]]:
    head_size = kv_cache_dim(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ow.FixedDimensionWarning)
        # genai's caches leave their head size symbolic; the model fixes it, and tracing needs it.
        program = ow.export(case.path, example_dims=EXAMPLE_DIMS | ({"kv_cache_dim": head_size} if head_size else {}))
    return program, [str(w.message) for w in caught if issubclass(w.category, ow.FixedDimensionWarning)]


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_a_file_made_by_another_tool_exports(case: WildCase, tmp_path: Path):
    model = onnx.load(str(case.path), load_external_data=False)
    if case.name in NOT_EXPORTED:
        with pytest.raises(Exception) as raised:  # noqa: PT011 - an ExportError, or a run failing at another size
            program, _ = _export(case, model)
            _run_at_three_sizes(case, model, program, tmp_path)
        assert raised.type is not AssertionError or "fixes symbols" in str(raised.value), raised.value
        return
    program, _ = _export(case, model)
    assert all(tensor.device.type == "meta" for tensor in program.state_dict.values())  # never allocated
    _run_at_three_sizes(case, model, program, tmp_path)


def _run_at_three_sizes(case: WildCase, model: onnx.ModelProto, program: torch.export.ExportedProgram, folder: Path) -> None:
    fixed = _fixed_symbols(program, model)
    assert set(fixed) <= FIXED_BY_THE_MODEL, f"the program fixes symbols the model leaves free: {fixed}"
    module = ow.materialize(program.module(), case.path)
    session = onnxruntime.InferenceSession(str(exact_reference(case.path, model, folder / "reference")),
                                           providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    for sizes in size_runs(model, case.variant, fixed):
        feeds = feeds_for(model, np.random.default_rng(0), {"sizes": sizes, "values": case.variant.get("values", {})})
        expected = session.run(None, feeds)
        with torch.no_grad():
            got = flat_outputs(module(*[torch.from_numpy(np.ascontiguousarray(feeds[name])) for name in names]))
        assert len(got) == len(expected)
        for index, (ours, theirs) in enumerate(zip(got, expected)):
            assert tuple(ours.shape) == theirs.shape, (sizes, index, tuple(ours.shape), theirs.shape)
            np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-4, rtol=1e-4, err_msg=f"output {index} at {sizes}")


def test_every_listed_failure_names_a_case():
    assert set(NOT_EXPORTED) <= {case.name for case in cases()}
