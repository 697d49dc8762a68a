"""Build the bundled demo model ``models/llama3-8b.onnx``: a weightless Llama-3-8B skeleton.

What it builds
    A transformers ``LlamaForCausalLM`` with the Llama-3-8B shape (hidden 4096,
    intermediate 14336, 32 layers, 32 heads, 8 KV heads, vocab 128256, rope_theta
    500000, rms_norm_eps 1e-5, untied embeddings; ~8.03B fp32 parameters), exported
    by ``torch.onnx.export(..., dynamo=True)`` with the single input
    ``input_ids: int64[1, 128]`` and the output ``logits: float32[1, 128, 128256]``
    (no KV cache, eager attention).  The saved ONNX file holds the whole graph and
    the exporter's small constants, but no weight bytes: every parameter is an
    initializer with its real name, dims and dtype whose data is an external-data
    reference (location ``<out name>.data``, consecutive offset/length) into a file
    that is never written.  The file is therefore a few hundred KB.
    ``make_model(..., dynamic=True)`` (the export benchmark's skeletons, built by
    benchmarks/workloads.py) exports ``input_ids: int64[batch, sequence]`` instead.

How
    1. The model is created under accelerate's ``init_empty_weights`` (parameters on
       the meta device, so no weight memory is allocated) and then moved entirely to
       meta; the few real buffers (rotary ``inv_freq``) are kept aside on CPU.
    2. ``torch.onnx.export(dynamo=True, optimize=False)`` at opset 18 (the exporter's
       native opset): the built-in optimizer would try to read the meta weights.
    3. Weights are detached from their values (placeholders), buffers get their real
       values, and the exporter's onnxscript optimizer is run by us (constant folding,
       CSE, ...) so shapes and the causal mask are folded as in a normal export,
       without ever touching weight data.  The rotary Cos/Sin are kept in the graph
       so the tiny verification model has exactly the op set of the full one.
    4. Weights are re-attached as ``onnx_ir.ExternalTensor`` references (or, with
       ``--small``, as real embedded tensors) and the model is down-converted to
       opset 17 with the ONNX C version converter, because onnx2torch 1.5.15 has no
       converters for opset-18 op versions (ReduceMean-18 etc.).

Usage
    python scripts/make_demo_model.py                    # -> models/llama3-8b.onnx
    python scripts/make_demo_model.py --out PATH
    python scripts/make_demo_model.py --small --out /tmp/small.onnx   # tiny, real random weights
    python scripts/make_demo_model.py --verify-small     # onnx2torch round trip on a tiny model

The output is deterministic: same library versions -> byte-identical file.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never touch a model hub

import numpy as np
import onnx
import onnx.numpy_helper
import onnx_ir as ir
import onnxscript
import onnxscript.optimizer
import torch
import transformers
from accelerate import init_empty_weights
from transformers import LlamaConfig, LlamaForCausalLM

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "models" / "llama3-8b.onnx"

TARGET_OPSET = 17  # highest opset whose op versions onnx2torch 1.5.15 fully converts
EXPORT_OPSET = 18  # the dynamo exporter's native opset; we down-convert afterwards
BATCH, SEQ = 1, 128  # static input shape: keeps the graph free of dynamic-shape ops
# make_model(..., dynamic=True): input_ids is int64[batch, sequence] instead.  The example
# batch is 2 because torch.export specialises a dimension traced with size 1.
DYNAMIC_DIMS = ("batch", "sequence")
DYNAMIC_EXAMPLE = (2, SEQ)

# Meta-Llama-3-8B config.json values (no hub access: written out here).
LLAMA3_8B = dict(
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    vocab_size=128256,
    bos_token_id=128000,
    eos_token_id=128001,
)
TINY = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=256,
)
COMMON = dict(
    max_position_embeddings=8192,
    rope_theta=500000.0,
    rms_norm_eps=1e-5,
    hidden_act="silu",
    attention_bias=False,
    mlp_bias=False,
    tie_word_embeddings=False,
    use_cache=False,
)
# fp32, not bf16: onnx2torch 1.5.15's Cast has no bfloat16 target, and a bf16 Llama
# graph contains Cast(to=bf16) after every fp32 RMSNorm, so it would not convert.
DTYPE = torch.float32


class LlamaLogits(LlamaForCausalLM):
    """LlamaForCausalLM whose forward takes only input_ids and returns only logits.

    Subclassing (instead of wrapping) keeps the parameter names identical to the
    Hugging Face checkpoint names (``model.layers.0.self_attn.q_proj.weight``...).
    """

    def forward(self, input_ids):  # noqa: D102
        return super().forward(input_ids=input_ids, use_cache=False).logits


def make_config(sizes: dict) -> LlamaConfig:
    # eager attention exports to MatMul/Softmax/Where, all convertible by onnx2torch;
    # ``sizes`` may override COMMON (e.g. tie_word_embeddings for Llama-3.2-1B)
    return LlamaConfig(**{**COMMON, **sizes}, dtype=DTYPE, attn_implementation="eager")


def build_meta_model(cfg: LlamaConfig) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    """Model with all tensors on meta, plus the real values of its buffers.

    init_empty_weights(include_buffers=False) puts parameters on meta but computes
    buffers (rotary inv_freq) for real; we keep those and move the rest to meta so
    tracing sees a single device.
    """
    with init_empty_weights(include_buffers=False):
        model = LlamaLogits(cfg)
    # init_empty_weights re-creates each registered parameter, which undoes the
    # lm_head/embedding tie made in __init__; re-tie outside it (no-op when untied)
    model.tie_weights()
    model.eval()
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    model.to("meta")
    return model, buffers


def build_random_model(cfg: LlamaConfig, seed: int = 0) -> torch.nn.Module:
    """Real small model with random weights (norm weights too, so none are all-ones)."""
    torch.manual_seed(seed)
    model = LlamaLogits(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
    return model


def export_graph(model: torch.nn.Module, dynamic: bool = False) -> ir.Model:
    """torch.onnx dynamo export of the meta model, unoptimized (optimizer can't read meta).

    ``dynamic``: batch and sequence are symbolic (``DYNAMIC_DIMS``, the ONNX dim_params).
    """
    shape = DYNAMIC_EXAMPLE if dynamic else (BATCH, SEQ)
    input_ids = torch.zeros(shape, dtype=torch.int64, device="meta")
    dynamic_shapes = (
        {"input_ids": {axis: torch.export.Dim(name) for axis, name in enumerate(DYNAMIC_DIMS)}}
        if dynamic else None
    )
    program = torch.onnx.export(
        model,
        (input_ids,),
        dynamo=True,
        opset_version=EXPORT_OPSET,
        optimize=False,
        input_names=["input_ids"],
        output_names=["logits"],
        dynamic_shapes=dynamic_shapes,
        verbose=False,
    )
    return program.model


def optimize_without_weights(
    model: ir.Model, param_names: set[str], buffers: dict[str, torch.Tensor]
) -> dict[str, ir.Value]:
    """Run the exporter's optimizer with weights as value-less placeholders.

    Returns the weight initializer Values so their data can be attached afterwards.
    """
    graph = model.graph
    missing = param_names - set(graph.initializers)
    if missing:
        raise RuntimeError(f"parameters not found among exported initializers: {sorted(missing)[:5]}")
    weights = {}
    for name, value in graph.initializers.items():
        if name in param_names:
            value.const_value = None  # nothing for the optimizer to read or fold
            weights[name] = value
        elif name in buffers:
            value.const_value = ir.Tensor(buffers[name].numpy(), name=name)
        elif getattr(value.const_value, "raw", None) is not None and str(value.const_value.raw.device) == "meta":
            raise RuntimeError(f"unexpected meta constant {name!r}: would be lost")

    # The placeholders make the optimizer log one warning per weight; silence those.
    quiet = [logging.getLogger(n) for n in ("onnx_ir", "onnxscript")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.ERROR)
    try:
        # Never fold the rotary Cos/Sin: the full model keeps them (their input is
        # over the folding size limit) and the tiny one must have the same op set.
        onnxscript.optimizer.optimize_ir(
            model, should_fold=lambda node: False if node.op_type in ("Cos", "Sin") else None
        )
    finally:
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)
    # Optimizer must not have dropped or renamed any weight.
    still = {v.name for v in graph.initializers.values() if v.const_value is None}
    if still != param_names:
        raise RuntimeError(f"weights changed during optimization: {sorted(still ^ param_names)[:5]}")
    return weights


def attach_external(weights: dict[str, ir.Value], order: list[str], location: str) -> int:
    """Point each weight at consecutive bytes of a data file that is never written."""
    offset = 0
    for name in order:
        value = weights[name]
        nbytes = int(np.prod(value.shape.numpy(), dtype=np.int64)) * int(value.dtype.itemsize)
        value.const_value = ir.ExternalTensor(
            location, offset, nbytes, value.dtype, shape=value.shape, name=name
        )
        offset += nbytes
    return offset


def attach_real(weights: dict[str, ir.Value], state: dict[str, torch.Tensor]) -> None:
    """Embed real weight values (small model only); dims/dtype must match the export."""
    for name, value in weights.items():
        t = state[name].detach().cpu()
        assert tuple(t.shape) == tuple(value.shape.numpy()), name
        value.const_value = ir.Tensor(t.numpy(), name=name)


def normalize_for_onnx2torch(proto: onnx.ModelProto, keep_computed_allowzero: bool = False) -> None:
    """Exact, local attribute fixes so onnx2torch 1.5.15 accepts the opset-17 graph.

    * The 18->17 adapter moves ReduceMean's ``axes`` input back to an attribute but
      keeps ``noop_with_empty_axes``, which ReduceMean-13 does not define (the
      checker rejects it).  Dropping it is exact when it is the default 0 and
      ``axes`` is non-empty.
    * torchlib emits ``Reshape(allowzero=1)``, which onnx2torch refuses.  allowzero
      only matters when the target shape contains a 0, so with a constant shape
      free of zeros it can be dropped.  A dynamic-shape graph computes most of its
      Reshape shapes at run time; with ``keep_computed_allowzero`` those keep
      ``allowzero=1`` (valid at opset 17; only onnx2torch refuses it).
    Anything else unexpected raises instead of being papered over.
    """
    consts = {t.name: t for t in proto.graph.initializer}
    for node in proto.graph.node:
        schema = onnx.defs.get_schema(node.op_type, TARGET_OPSET, node.domain)
        attrs = {a.name: a for a in node.attribute}
        for name, attr in attrs.items():
            if name in schema.attributes:
                continue
            if name != "noop_with_empty_axes" or attr.i != 0 or not ("axes" in attrs and attrs["axes"].ints):
                raise RuntimeError(f"{node.op_type}: unexpected attribute {name!r} at opset {TARGET_OPSET}")
            node.attribute.remove(attr)
        if node.op_type == "Reshape" and "allowzero" in attrs and attrs["allowzero"].i == 1:
            shape = consts.get(node.input[1])
            if shape is None and keep_computed_allowzero:
                continue
            if shape is None or (onnx.numpy_helper.to_array(shape) == 0).any():
                raise RuntimeError(f"Reshape {node.name}: allowzero=1 with a non-constant or zero-dim shape")
            node.attribute.remove(attrs["allowzero"])


def to_target_opset(model: ir.Model, dynamic: bool = False) -> onnx.ModelProto:
    """Serialize and down-convert 18 -> 17 (external references are preserved)."""
    proto = ir.to_proto(model)
    proto = onnx.version_converter.convert_version(proto, TARGET_OPSET)
    normalize_for_onnx2torch(proto, keep_computed_allowzero=dynamic)
    # Record provenance in the file itself.
    proto.producer_name = "onnx-weightless/scripts/make_demo_model.py"
    proto.producer_version = (
        f"torch {torch.__version__}, onnxscript {onnxscript.__version__}, "
        f"onnx-ir {ir.__version__}, transformers {transformers.__version__}"
    )
    return proto


def parameter_names(model: torch.nn.Module, exported: set[str]) -> list[str]:
    """One name per parameter tensor, in module order.

    A tied (shared) parameter is exported once under one of its names, not
    necessarily the first (tied lm_head/embedding -> ``lm_head.weight``): use that one.
    """
    groups: dict[int, list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(p), []).append(name)
    return [next((n for n in names if n in exported), names[0]) for names in groups.values()]


def make_model(
    sizes: dict, state: dict[str, torch.Tensor] | None, out: Path, dynamic: bool = False
) -> onnx.ModelProto:
    """Whole pipeline; ``state`` None -> weightless skeleton, else embed ``state``.

    ``dynamic``: input_ids is int64[batch, sequence] (see export_graph); the graph
    then keeps its run-time-shaped Reshapes' ``allowzero=1``, so onnx2torch cannot
    convert it.
    """
    cfg = make_config(sizes)
    meta_model, buffers = build_meta_model(cfg)
    graph = export_graph(meta_model, dynamic)
    order = parameter_names(meta_model, set(graph.graph.initializers))
    weights = optimize_without_weights(graph, set(order), buffers)
    if state is None:
        total = attach_external(weights, order, out.name + ".data")
        print(f"external data: {len(order)} tensors, {total} bytes referenced in {out.name}.data (not written)")
    else:
        attach_real(weights, state)
    proto = to_target_opset(graph, dynamic)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(proto, str(out))  # tensors already external/embedded: nothing else written
    return proto


def report(path: Path) -> None:
    """Print the statistics the README quotes (loads without external data)."""
    m = onnx.load(str(path), load_external_data=False)
    onnx.shape_inference.infer_shapes(m)  # must run even though the data file is absent
    ext = [t for t in m.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    # weights keep their checkpoint names (all end in ".weight"); the rest are exporter constants
    weights = [t for t in m.graph.initializer if t.name.endswith((".weight", ".bias"))]
    params = sum(int(np.prod(t.dims, dtype=np.int64)) for t in weights)
    opset = {o.domain or "ai.onnx": o.version for o in m.opset_import}
    hist = collections.Counter(n.op_type for n in m.graph.node)
    print(f"file: {path} ({path.stat().st_size} bytes)")
    print(f"opset: {opset}, ir_version: {m.ir_version}")
    print(f"nodes: {len(m.graph.node)}, initializers: {len(m.graph.initializer)} "
          f"({len(weights)} weights of which {len(ext)} external, "
          f"{len(m.graph.initializer) - len(weights)} exporter constants)")
    print(f"parameters: {params:,}")
    print("inputs:", [(i.name, [d.dim_value for d in i.type.tensor_type.shape.dim]) for i in m.graph.input])
    print("outputs:", [(o.name, [d.dim_value for d in o.type.tensor_type.shape.dim]) for o in m.graph.output])
    print("op histogram:", dict(sorted(hist.items(), key=lambda kv: -kv[1])))


def meta_convert_check(path: Path) -> None:
    """onnx2torch sanity check: external weights become meta tensors, every op must convert.

    No ``with torch.device("meta")`` around convert(): onnx2torch's Transpose
    converter does ``torch.tensor(perm).tolist()``, which fails under a meta default
    device.  Patching ``OnnxTensor.to_torch`` is enough to keep weights off CPU.
    """
    import onnx2torch
    from onnx2torch.onnx_tensor import OnnxTensor
    from onnx2torch.utils.dtype import onnx_dtype_to_torch_dtype

    original = OnnxTensor.to_torch

    def to_torch(self):
        if self.proto.data_location == onnx.TensorProto.EXTERNAL:
            dtype = onnx_dtype_to_torch_dtype(self.proto.data_type)
            return torch.empty(tuple(self.proto.dims), dtype=dtype, device="meta")
        return original(self)

    OnnxTensor.to_torch = to_torch
    try:
        gm = onnx2torch.convert(onnx.load(str(path), load_external_data=False))
    finally:
        OnnxTensor.to_torch = original
    n_meta = sum(b.numel() for b in gm.buffers() if b.is_meta)
    print(f"onnx2torch meta conversion OK: {len(gm.graph.nodes)} fx nodes, {n_meta:,} meta weight elements")

    # Shape-only forward: embedded float/bool constants must join the activations on
    # meta; int64 constants stay on CPU because onnx2torch reads them as shapes/indices.
    for name, buf in list(gm.initializers.named_buffers()):
        if buf.dtype != torch.int64 and not buf.is_meta:
            setattr(gm.initializers, name, buf.to("meta"))
    with torch.no_grad():
        logits = gm(torch.zeros((BATCH, SEQ), dtype=torch.int64, device="meta"))
    print(f"meta forward OK: logits {tuple(logits.shape)} {logits.dtype}")


def verify_small() -> None:
    """Same pipeline on a tiny config with real random weights; onnx2torch must match torch.

    The tiny graph is exported from a meta twin exactly like the skeleton and only
    then gets the random model's weights embedded, so what is verified is the very
    graph construction the shipped skeleton went through.
    """
    import onnx2torch

    cfg = make_config(TINY)
    ref = build_random_model(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "llama-tiny.onnx"
        make_model(TINY, ref.state_dict(), path)
        m = onnx.load(str(path))
        onnx.checker.check_model(m, full_check=True)
        print("tiny model opset:", {o.domain or "ai.onnx": o.version for o in m.opset_import},
              "ops:", dict(collections.Counter(n.op_type for n in m.graph.node)))
        gm = onnx2torch.convert(m)
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, cfg.vocab_size, (BATCH, SEQ), generator=gen)
    with torch.no_grad():
        expected = ref(ids)
        got = gm(ids)
    diff = (got - expected).abs().max().item()
    print(f"tiny onnx2torch vs torch: shape {tuple(got.shape)}, max |diff| = {diff:.3e}")
    if not torch.allclose(got, expected, atol=1e-4, rtol=0):
        raise SystemExit("verify-small FAILED")
    print("verify-small OK")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .onnx path")
    ap.add_argument("--small", action="store_true", help="tiny config with real random (embedded) weights")
    ap.add_argument("--verify-small", action="store_true", help="tiny round trip through onnx2torch (temp dir)")
    ap.add_argument("--no-check", action="store_true", help="skip the onnx2torch meta conversion check")
    args = ap.parse_args(argv)

    if args.verify_small:
        verify_small()
        return
    t0 = time.time()
    if args.small:
        cfg = make_config(TINY)
        make_model(TINY, build_random_model(cfg).state_dict(), args.out)
    else:
        make_model(LLAMA3_8B, None, args.out)
    print(f"built in {time.time() - t0:.1f}s")
    report(args.out)
    if not args.no_check:
        meta_convert_check(args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
