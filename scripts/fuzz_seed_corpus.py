"""Writes the fuzzers' seed corpus (make fuzz): small, valid ONNX models that reach every part of the
scan, the skeleton writer and the graph analysis, so that mutation starts from real structure.

    python scripts/fuzz_seed_corpus.py [--out .cache/fuzz/seeds] [--node-cases 300]
                                       [--cli build/cpp/onnx-weightless]

Seeds, each named after where it comes from:
  node-*      onnx's backend node test models: from onnx/backend/test/data/node/*/model.onnx when the
              installed onnx ships them, else built by onnx.backend.test.case.node.collect_testcases().
              The smallest case of each operator set first, then the smallest of the rest.
  data-*      onnx's other bundled test models (light, simple, pytorch-*) under 64 KiB.
  helper-*    made here with onnx.helper: external data entries, every inline payload field, sparse
              tensors, subgraphs (If, Loop, nested), functions, training graphs, ops with costs.
  wire-*      written field by field: encodings onnx's serializer never produces (unpacked numbers).
  llama3-8b-skeleton.onnx   the skeleton of models/llama3-8b.onnx written by the onnx-weightless CLI.

The output is deterministic for a given onnx version: the folder is emptied and rewritten.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import shutil
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
ONNX_TEST_DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
MAX_DATA_MODEL_BYTES = 64 * 1024
OPSET = [helper.make_opsetid("", 18)]


# ---- onnx's own test models -------------------------------------------------------------------


def node_cases() -> list[tuple[str, bytes]]:
    """(case name, serialized model) of every backend node test case."""
    folder = ONNX_TEST_DATA / "node"
    if folder.is_dir():
        return sorted((p.parent.name, p.read_bytes()) for p in folder.glob("*/model.onnx"))
    from onnx.backend.test.case.node import collect_testcases

    np.random.seed(0)  # some cases draw their constants at random
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arguments = ("",) if inspect.signature(collect_testcases).parameters else ()
        cases = collect_testcases(*arguments)
    return sorted((c.name, c.model.SerializeToString(deterministic=True)) for c in cases if c.model is not None)


def operator_set(data: bytes) -> tuple[str, ...]:
    model = onnx.ModelProto()
    model.ParseFromString(data)
    return tuple(sorted({f"{n.domain}::{n.op_type}" for n in model.graph.node}))


def pick_node_cases(cases: list[tuple[str, bytes]], count: int) -> list[tuple[str, bytes]]:
    """The smallest case of each operator set, then the smallest others, up to `count`; no duplicates."""
    by_size = sorted(cases, key=lambda c: (len(c[1]), c[0]))
    chosen, seen_ops, seen_bytes = [], set(), set()
    for name, data in by_size:
        ops = operator_set(data)
        if ops not in seen_ops and data not in seen_bytes:
            seen_ops.add(ops)
            seen_bytes.add(data)
            chosen.append((name, data))
    for name, data in by_size:
        if len(chosen) >= count:
            break
        if data not in seen_bytes:
            seen_bytes.add(data)
            chosen.append((name, data))
    return sorted(chosen[:count], key=lambda c: (len(c[1]), c[0]))


def data_models() -> list[tuple[str, bytes]]:
    found = []
    for path in sorted(ONNX_TEST_DATA.glob("*/**/*.onnx")):
        if path.parts[len(ONNX_TEST_DATA.parts)] == "node" or path.stat().st_size > MAX_DATA_MODEL_BYTES:
            continue
        name = path.relative_to(ONNX_TEST_DATA).with_suffix("").as_posix().replace("/", "-")
        found.append((name, path.read_bytes()))
    return found


# ---- models made with onnx.helper ---------------------------------------------------------------


def value(name: str, elem_type: int, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, shape)


def model(graph: onnx.GraphProto, **kwargs) -> bytes:
    kwargs.setdefault("opset_imports", OPSET)
    return helper.make_model(graph, producer_name="fuzz_seed_corpus", **kwargs).SerializeToString(deterministic=True)


def external(name: str, dims: list[int], entries: dict[str, str], dtype: int = TensorProto.FLOAT) -> TensorProto:
    t = TensorProto(name=name, data_type=dtype, dims=dims)
    t.data_location = TensorProto.EXTERNAL
    for key, text in entries.items():
        entry = t.external_data.add()
        entry.key, entry.value = key, text
    return t


def seed_external() -> bytes:
    """External data entries as exporters and this library's skeletons write them."""
    weights = [
        external("w", [4, 4], {"location": "weights.bin", "offset": "0", "length": "64"}),
        external("b", [4], {"location": "data/b.bin", "offset": "4096", "length": "16", "checksum": "0" * 40}),
        external("e", [8], {"location": "weights.bin"}),
        # A stripped int64_data payload, as the skeleton writer references it (encoded varints).
        external("s", [3], {"location": "model.onnx", "offset": "120", "length": "3", "onnx_weightless.field": "int64_data"},
                 TensorProto.INT64),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["xw"], name="mm"),
        helper.make_node("Add", ["xw", "b"], ["y"], name="add"),
    ]
    graph = helper.make_graph(nodes, "external", [value("x", TensorProto.FLOAT, ["batch", 4])],
                              [value("y", TensorProto.FLOAT, ["batch", 4])], weights,
                              value_info=[value("xw", TensorProto.FLOAT, ["batch", 4])])
    return model(graph)


def seed_payloads() -> bytes:
    """One initializer per inline payload field and a few sizes around the fuzzers' 16-byte threshold."""
    rng = np.random.default_rng(0)
    tensors = [
        numpy_helper.from_array(rng.standard_normal((5, 5)).astype(np.float32), "raw_f32"),
        numpy_helper.from_array(np.arange(3, dtype=np.float32), "raw_small"),
        numpy_helper.from_array(np.zeros((0, 4), dtype=np.float32), "empty"),
        numpy_helper.from_array(np.array(7, dtype=np.int64), "scalar"),
        helper.make_tensor("float_data", TensorProto.FLOAT, [3, 3], [float(i) for i in range(9)]),
        helper.make_tensor("int64_data", TensorProto.INT64, [10], list(range(-5, 5))),
        helper.make_tensor("int32_int8", TensorProto.INT8, [20], list(range(-10, 10))),
        helper.make_tensor("int32_fp16", TensorProto.FLOAT16, [6], [0.5, 1, 2, -3, 4, 8]),
        helper.make_tensor("int32_bool", TensorProto.BOOL, [5], [True, False, True, True, False]),
        helper.make_tensor("double_data", TensorProto.DOUBLE, [4], [0.1, 0.2, 0.3, 0.4]),
        helper.make_tensor("uint64_data", TensorProto.UINT64, [4], [1, 2**40, 3, 2**63]),
        helper.make_tensor("complex64", TensorProto.COMPLEX64, [2], [1 + 2j, 3 - 4j]),
        helper.make_tensor("string_data", TensorProto.STRING, [3], [b"a", b"bc", b"def" * 10]),
        helper.make_tensor("bf16_raw", TensorProto.BFLOAT16, [12], bytes(range(24)), raw=True),
        helper.make_tensor("int4_raw", TensorProto.INT4, [5], bytes([0x12, 0x34, 0x05]), raw=True),
    ]
    nodes = [helper.make_node("Identity", [t.name], [t.name + "_out"]) for t in tensors[:3]]
    outputs = [value(t.name + "_out", TensorProto.FLOAT, list(t.dims)) for t in tensors[:3]]
    graph = helper.make_graph(nodes, "payloads", [], outputs, tensors)
    return model(graph)


def constant(name: str, values: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], name=f"const_{name}", value=numpy_helper.from_array(values, name))


def branch(name: str, scale: float) -> onnx.GraphProto:
    return helper.make_graph(
        [constant(f"{name}_c", np.full((2, 3), scale, dtype=np.float32)),
         helper.make_node("Mul", ["x", f"{name}_c"], [f"{name}_y"])],
        name, [], [value(f"{name}_y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(np.arange(6, dtype=np.float32), f"{name}_init")])


def seed_subgraphs() -> bytes:
    """If and Loop with tensors in their bodies, and an If nested inside the Loop's body."""
    nested_if = helper.make_node("If", ["cond_in"], ["inner_y"], name="inner_if",
                                 then_branch=branch("inner_then", 2.0), else_branch=branch("inner_else", 3.0))
    body = helper.make_graph(
        [nested_if,
         helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["v_in", "inner_y"], ["v_out"])],
        "loop_body",
        [value("iter", TensorProto.INT64, []), value("cond_in", TensorProto.BOOL, []), value("v_in", TensorProto.FLOAT, [2, 3])],
        [value("cond_out", TensorProto.BOOL, []), value("v_out", TensorProto.FLOAT, [2, 3])])
    nodes = [
        helper.make_node("If", ["cond"], ["if_y"], name="top_if",
                         then_branch=branch("then", 0.5), else_branch=branch("else", -1.0)),
        helper.make_node("Loop", ["trip", "cond", "if_y"], ["loop_y"], name="loop", body=body),
    ]
    graph = helper.make_graph(
        nodes, "subgraphs",
        [value("x", TensorProto.FLOAT, [2, 3]), value("cond", TensorProto.BOOL, []), value("trip", TensorProto.INT64, [])],
        [value("loop_y", TensorProto.FLOAT, [2, 3])])
    return model(graph)


def seed_sparse_and_functions() -> bytes:
    """Sparse initializers and sparse constants, a model-local function with a default tensor
    attribute and a Constant inside, and a training graph."""
    values = numpy_helper.from_array(np.arange(1, 6, dtype=np.float32), "sp_values")
    indices = numpy_helper.from_array(np.array([0, 3, 7, 8, 15], dtype=np.int64), "sp_indices")
    sparse = helper.make_sparse_tensor(values, indices, [4, 4])
    sparse_const = helper.make_node("Constant", [], ["sc"], name="sparse_const",
                                    sparse_value=helper.make_sparse_tensor(values, indices, [16]))
    default = helper.make_attribute("bias", numpy_helper.from_array(np.ones(8, dtype=np.float32), "bias_default"))
    function = helper.make_function(
        "local", "AddBias", ["a"], ["b"],
        [constant("k", np.full(6, 2.0, dtype=np.float32)), helper.make_node("Add", ["a", "k"], ["b"])],
        OPSET, attribute_protos=[default])
    nodes = [sparse_const, helper.make_node("AddBias", ["x"], ["y"], domain="local", name="call")]
    graph = helper.make_graph(nodes, "sparse_functions", [value("x", TensorProto.FLOAT, [6])],
                              [value("y", TensorProto.FLOAT, [6])], sparse_initializer=[sparse])
    training = onnx.TrainingInfoProto()
    training.initialization.CopyFrom(helper.make_graph(
        [constant("seed", np.arange(12, dtype=np.float32))], "init", [], [value("seed", TensorProto.FLOAT, [12])]))
    m = helper.make_model(graph, producer_name="fuzz_seed_corpus",
                          opset_imports=OPSET + [helper.make_opsetid("local", 1)], functions=[function])
    m.training_info.append(training)
    return m.SerializeToString(deterministic=True)


def seed_costs() -> bytes:
    """Ops the analysis prices (MatMul, Gemm, Conv, pooling, attention, normalisation) with shapes
    declared through value_info and symbolic dims."""
    f = TensorProto.FLOAT
    w = lambda name, *dims: external(name, list(dims), {"location": "w.bin"})  # noqa: E731
    nodes = [
        helper.make_node("Conv", ["img", "conv_w"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["conv"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["pool"], ["gap"]),
        helper.make_node("MatMul", ["tokens", "proj_w"], ["proj"]),
        helper.make_node("Gemm", ["flat", "gemm_w"], ["gemm"], transB=1),
        helper.make_node("LayerNormalization", ["proj", "ln_scale"], ["ln"], axis=-1),
        helper.make_node("Attention", ["q", "k", "v"], ["attn"], domain="com.microsoft", num_heads=2),
        helper.make_node("Softmax", ["ln"], ["sm"], axis=-1),
        helper.make_node("ReduceMean", ["sm"], ["rm"], keepdims=1),
    ]
    inputs = [value("img", f, ["batch", 3, 16, 16]), value("tokens", f, ["batch", "sequence", 8]),
              value("flat", f, ["batch", 8]), value("q", f, ["batch", "sequence", 8]),
              value("k", f, ["batch", "sequence", 8]), value("v", f, ["batch", "sequence", 8])]
    outputs = [value("gap", f, ["batch", 4, 1, 1]), value("gemm", f, ["batch", 5]), value("rm", f, ["batch", "sequence", 1]),
               value("attn", f, ["batch", "sequence", 8])]
    value_info = [value("conv", f, ["batch", 4, 16, 16]), value("pool", f, ["batch", 4, 8, 8]),
                  value("proj", f, ["batch", "sequence", 8]), value("ln", f, ["batch", "sequence", 8]),
                  value("sm", f, ["batch", "sequence", 8])]
    weights = [w("conv_w", 4, 3, 3, 3), w("proj_w", 8, 8), w("gemm_w", 5, 8),
               numpy_helper.from_array(np.ones(8, dtype=np.float32), "ln_scale")]
    graph = helper.make_graph(nodes, "costs", inputs, outputs, weights, value_info=value_info)
    return model(graph, opset_imports=OPSET + [helper.make_opsetid("com.microsoft", 1)])


# ---- hand-written wire format -----------------------------------------------------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, wire_type: int, payload: bytes) -> bytes:
    if wire_type == 2:
        payload = varint(len(payload)) + payload
    return varint(number << 3 | wire_type) + payload


def seed_unpacked() -> bytes:
    """float_data and int64_data written one field per element (legal protobuf; onnx's serializer
    always packs them), and packed dims."""
    floats = field(1, 0, varint(6)) + field(2, 0, varint(TensorProto.FLOAT)) + field(8, 2, b"unpacked_f")
    floats += b"".join(field(4, 5, struct.pack("<f", i / 2)) for i in range(6))
    ints = field(1, 2, varint(2) + varint(3)) + field(2, 0, varint(TensorProto.INT64)) + field(8, 2, b"unpacked_i")
    ints += b"".join(field(7, 0, varint(i)) for i in range(6))
    graph = field(5, 2, floats) + field(5, 2, ints) + field(2, 2, b"wire")
    return field(1, 0, varint(8)) + field(7, 2, graph) + field(8, 2, field(2, 0, varint(18)))


# ---- the bundled skeleton ---------------------------------------------------------------------


def llama_skeleton(cli: Path, out: Path) -> None:
    subprocess.run([str(cli), "strip", str(REPO / "models" / "llama3-8b.onnx"), "-o", str(out), "--force"],
                   check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / ".cache" / "fuzz" / "seeds")
    parser.add_argument("--node-cases", type=int, default=300)
    parser.add_argument("--cli", type=Path, default=REPO / "build" / "cpp" / "onnx-weightless")
    args = parser.parse_args()

    seeds: list[tuple[str, bytes]] = []
    seeds += [(f"node-{name}", data) for name, data in pick_node_cases(node_cases(), args.node_cases)]
    seeds += [(f"data-{name}", data) for name, data in data_models()]
    seeds += [("helper-external", seed_external()), ("helper-payloads", seed_payloads()),
              ("helper-subgraphs", seed_subgraphs()), ("helper-sparse-functions", seed_sparse_and_functions()),
              ("helper-costs", seed_costs()), ("wire-unpacked", seed_unpacked())]

    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    for name, data in seeds:
        (args.out / f"{name}.onnx").write_bytes(data)
    llama_skeleton(args.cli, args.out / "llama3-8b-skeleton.onnx")

    files = sorted(args.out.iterdir())
    digest = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in files)).hexdigest()[:16]
    total = sum(p.stat().st_size for p in files)
    print(f"{len(files)} seeds, {total} bytes, in {args.out} (sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
