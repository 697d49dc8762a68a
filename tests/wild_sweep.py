"""The corpus of ONNX files made by other tools (tests/wild/) run the way tests/test_wild_corpus.py
and docs/coverage.md (make coverage) run them: inputs per file, onnxruntime's reference outputs, and
each tool's result side by side: this package (with weights, as returned; weightless through
meta_forward), plain onnx2torch and onnx2fx (with weights).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch

__all__ = ["FILES", "VARIANTS", "WILD", "WildCase", "ToolResult", "cases", "exact_reference", "feeds_for",
           "kv_cache_dim", "reference", "run_tool", "sweep"]

WILD = Path(__file__).resolve().parent / "wild"
FILES = sorted(WILD.rglob("*.onnx"))

# Sizes of the symbolic dimensions the exporters name; any other symbol is 2.
SIZES = {"batch": 2, "batch_size": 1, "sequence_length": 4, "total_sequence_length": 4, "past_sequence_length": 0,
         "steps": 5, "past_sequence_length + sequence_length": 4}
# Inputs whose values select what runs.
VALUES = {"sr": np.array(16000, np.int64), "steps": np.array(3, np.int64), "use_cache_branch": np.array([True])}
# More runs of a file (by its path in tests/wild without suffix) with other sizes or values.
VARIANTS = {
    "onnxscript/sample_rate_switch": [{"values": {"sr": np.array(8000, np.int64)}}],
    # Past 32 tokens Phi-3's LongRoPE If takes its long-factor branch.
    "genai/phi3-longrope-fp32/model": [{"sizes": {"sequence_length": 40, "total_sequence_length": 40}}],
    # A step of generation: one new token after three.
    "optimum/gpt2/model": [{"sizes": {"past_sequence_length": 3, "sequence_length": 1,
                                      "past_sequence_length + sequence_length": 4}}],
    # The merged decoders' other branch: without the cache (and so with no past).
    "optimum/t5/decoder_model_merged": [{"values": {"use_cache_branch": np.array([False])},
                                         "sizes": {"past_decoder_sequence_length": 0}}],
    "optimum/whisper/decoder_model_merged": [{"values": {"use_cache_branch": np.array([False])},
                                              "sizes": {"past_decoder_sequence_length": 0}}],
    # The Ifs on the input's mean (tf2onnx) and sum (paddle2onnx): the default feed's is negative.
    "tf2onnx/cond_branches": [{"values": {"x": np.linspace(-0.5, 1.0, 16, dtype=np.float32).reshape(2, 8)}}],
    "paddle2onnx/if_branches_opset13": [{"values": {"x": np.linspace(-0.5, 1.0, 16, dtype=np.float32).reshape(2, 8)}}],
    # The while loops run zero times: the Loops' outputs are their initial values.
    "tf2onnx/while_loop": [{"values": {"steps": np.array(0, np.int64)}}],
    "tf2onnx/while_loop_opset11": [{"values": {"steps": np.array(0, np.int64)}}],
    "paddle2onnx/while_loop_opset11": [{"values": {"steps": np.array(0, np.int64)}}],
    # The imputer given NaNs to replace.
    "skl2onnx/simple_imputer": [{"values": {"X": np.array([[np.nan, 1.0, np.nan, 0.5], [0.25, np.nan, -1.0, np.nan]], np.float32)}}],
}

_NUMPY = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.INT64: np.int64, onnx.TensorProto.INT32: np.int32,
          onnx.TensorProto.BOOL: np.bool_, onnx.TensorProto.FLOAT16: np.float16}


def kv_cache_dim(model: onnx.ModelProto) -> int | None:
    """The head size of onnxruntime-genai's KV caches, which its graphs leave symbolic
    (``kv_cache_dim``): the width of the first GroupQueryAttention's query over its heads."""
    inferred = onnx.shape_inference.infer_shapes(model)
    widths = {v.name: v.type.tensor_type.shape.dim[-1].dim_value for v in inferred.graph.value_info
              if v.type.tensor_type.shape.dim}
    for node in inferred.graph.node:
        if node.op_type == "GroupQueryAttention":
            attributes = {a.name: a.i for a in node.attribute}
            packed = len(node.input) < 2 or not node.input[1]
            heads = attributes["num_heads"] + (2 * attributes["kv_num_heads"] if packed else 0)
            return widths[node.input[0]] // heads
    return None


def feeds_for(model: onnx.ModelProto, rng: np.random.Generator, variant: dict) -> dict[str, np.ndarray]:
    sizes = SIZES | {"kv_cache_dim": kv_cache_dim(model) or 2} | variant.get("sizes", {})
    values = VALUES | variant.get("values", {})
    feeds = {}
    initializers = {i.name for i in model.graph.initializer}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        if value.name in values:
            feeds[value.name] = values[value.name]
            continue
        tensor_type = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else sizes.get(d.dim_param, 2) for d in tensor_type.shape.dim]
        dtype = _NUMPY[tensor_type.elem_type]
        if "mask" in value.name:
            feeds[value.name] = np.ones(shape, dtype)
        elif dtype in (np.int64, np.int32):
            feeds[value.name] = rng.integers(0, 50, shape).astype(dtype)
        else:
            feeds[value.name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def exact_reference(path: Path, model: onnx.ModelProto, folder: Path) -> Path:
    """The file onnxruntime runs as the reference. MatMulNBits' accuracy_level lets onnxruntime
    quantize activations to int8 (genai's int4 builds ask for level 4); the op itself specifies
    float math, which this package computes, so the reference runs at level 0 (exact)."""
    relaxed = [a for n in model.graph.node if n.op_type == "MatMulNBits" for a in n.attribute
               if a.name == "accuracy_level" and a.i != 0]
    if not relaxed:
        return path
    folder.mkdir()
    exact = onnx.ModelProto()
    exact.CopyFrom(model)
    for node in exact.graph.node:
        for attribute in node.attribute:
            if node.op_type == "MatMulNBits" and attribute.name == "accuracy_level":
                attribute.i = 0
    for data in path.parent.glob(f"{path.name}.data"):
        shutil.copyfile(data, folder / data.name)
    onnx.save(exact, str(folder / path.name))
    return folder / path.name


@dataclass(frozen=True)
class WildCase:
    path: Path
    variant: dict

    @property
    def name(self) -> str:
        relative = self.path.relative_to(WILD).as_posix().removesuffix(".onnx")
        variants = VARIANTS.get(relative, [])
        index = next((i for i, variant in enumerate(variants) if variant is self.variant), None)
        return relative + (f" (variant {index})" if index is not None else "")


def cases() -> list[WildCase]:
    found = []
    for path in FILES:
        found.append(WildCase(path, {}))
        relative = path.relative_to(WILD).as_posix().removesuffix(".onnx")
        found += [WildCase(path, variant) for variant in VARIANTS.get(relative, [])]
    return found


def reference(case: WildCase, folder: Path) -> tuple[dict[str, np.ndarray], list[str], list[np.ndarray]]:
    """The case's feeds, its input names in order, and onnxruntime's outputs."""
    model = onnx.load(str(case.path), load_external_data=False)
    feeds = feeds_for(model, np.random.default_rng(0), case.variant)
    session = onnxruntime.InferenceSession(str(exact_reference(case.path, model, folder / "reference")),
                                           providers=["CPUExecutionProvider"])
    return feeds, [i.name for i in session.get_inputs()], session.run(None, feeds)


@dataclass
class ToolResult:
    converts: bool = False
    equal: bool = False  # outputs with weights equal onnxruntime's (atol and rtol 1e-4)
    meta: bool | None = None  # weightless meta forward gives onnxruntime's shapes (None: no such mode)
    note: str = ""


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:140]


def _equal(got, expected) -> bool:
    got = list(got) if isinstance(got, (tuple, list)) else [got]
    if len(got) != len(expected):
        return False
    return all(tuple(g.shape) == e.shape and np.allclose(g.detach().numpy(), e, atol=1e-4, rtol=1e-4)
               for g, e in zip(got, expected))


def run_tool(tool: str, case: WildCase) -> ToolResult:
    """``tool``: "onnx-weightless", "onnx2torch" or "onnx2fx"."""
    result = ToolResult()
    with tempfile.TemporaryDirectory() as folder:
        feeds, names, expected = reference(case, Path(folder))
    inputs = [torch.from_numpy(np.ascontiguousarray(feeds[name])) for name in names]
    try:
        if tool == "onnx-weightless":
            import onnx_weightless as ow

            module = ow.convert(case.path, with_weights=True, strict=True)
        elif tool == "onnx2torch":
            import onnx2torch

            module = onnx2torch.convert(onnx.load(str(case.path)))
        else:
            import onnx2fx

            module = onnx2fx.convert(str(case.path))
        result.converts = True
        with torch.no_grad():
            result.equal = _equal(module(*inputs), expected)  # as returned: no .eval()
        if not result.equal:
            result.note = "outputs differ from onnxruntime's"
    except Exception as error:  # noqa: BLE001 - recording what each tool does, whatever it raises
        result.note = _first_line(error)
    if tool == "onnx-weightless" and result.converts:
        result.meta = _meta_matches(case, names, inputs, expected)
    return result


def _meta_matches(case: WildCase, names: list[str], inputs: list[torch.Tensor], expected) -> bool:
    import onnx_weightless as ow
    from onnx_weightless._converters.registry import opsets_of
    from onnx_weightless._value_inputs import value_uses

    model = onnx.load(str(case.path), load_external_data=False)
    read_as_values = value_uses(model.graph, opsets_of(model))
    meta_inputs = [t if name in read_as_values else torch.empty(t.shape, dtype=t.dtype, device="meta")
                   for name, t in zip(names, inputs)]
    try:
        out = ow.meta_forward(ow.convert(case.path, strict=True), *meta_inputs)
    except Exception:  # noqa: BLE001 - a failed meta forward is a mismatch here; the test shows why
        return False
    out = list(out) if isinstance(out, (tuple, list)) else [out]
    return [tuple(o.shape) for o in out] == [e.shape for e in expected]


TOOLS = ("onnx-weightless", "onnx2torch", "onnx2fx")


def sweep() -> dict[str, dict[str, ToolResult]]:
    """Case name -> tool -> result."""
    return {case.name: {tool: run_tool(tool, case) for tool in TOOLS} for case in cases()}
