"""Benchmark workloads: Llama-style ONNX models built locally and cached.

Every workload is a transformers ``LlamaForCausalLM`` exported by
``scripts/make_demo_model.py``'s ``make_model`` (dynamo exporter on meta weights,
optimized, down-converted to opset 17), so all of them look like real exports:

* ``llama-1b``, ``llama-8b``, ``llama-70b`` (kind "skeleton"): full-size
  Llama-3.2-1B / Llama-3-8B / Llama-3-70B dims; every weight is an external-data
  reference into ``model.onnx.data``, which is never written.  Their input is
  the static ``input_ids: int64[1, 128]``.
* ``llama-8b-dynamic``, ``llama-70b-dynamic`` (kind "skeleton-dynamic"): the
  same skeletons exported with ``input_ids: int64[batch, sequence]`` (symbolic
  batch and sequence length), for the export benchmark (``ow.export`` against
  torch.export of transformers' own model on meta).
* ``embedded-1.7gb`` (kind "embedded"): one self-contained ~1.7 GB .onnx file
  holding ~426M real random fp32 weights (below protobuf's 2 GB limit).
* ``params-<hidden>`` (kind "params-curve"): 8 layers, hidden 256 ... 8192, so
  the same node count with ~21M ... ~7.5B parameters.
* ``nodes-<layers>`` (kind "nodes-curve"): hidden 1024, 4 ... 64 layers, so node
  count roughly proportional to the layer count.  ``nodes-8`` and ``params-1024``
  are the same model: the point where the two curves cross.

Models are cached in ``.cache/benchmarks/<name>/model.onnx`` next to a
``workload.json`` recording the measured parameter and node counts and a
``config.json``: the transformers LlamaConfig the model was exported from
(with its ``attn_implementation``), so a benchmark can build the same model.  A build
writes into a temporary folder that is renamed into place, so a cache folder is
either complete or absent.

Usage
    python -m benchmarks.workloads              # build all, print the table
    python -m benchmarks.workloads llama-8b params-256
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".cache" / "benchmarks"
MODEL_FILE = "model.onnx"
INFO_FILE = "workload.json"
CONFIG_FILE = "config.json"
DATA_FILE = MODEL_FILE + ".data"  # the location make_model writes into external references

# Node count of a make_model export is 17 + 67 per decoder layer with this
# exporter stack (2161 for the 32-layer models/llama3-8b.onnx); only an
# estimate for describe() before a build, the build records the real count.
_NODES_BASE, _NODES_PER_LAYER = 17, 67


@dataclass(frozen=True)
class Workload:
    name: str  # e.g. "llama-8b"
    description: str  # one line for the tables
    kind: str  # "skeleton", "skeleton-dynamic", "embedded", "params-curve" or "nodes-curve"
    parameters: int  # number of weight elements
    nodes: int  # ONNX graph nodes (measured once built, estimated before)
    weights_present: bool


@dataclass(frozen=True)
class _Spec:
    title: str
    kind: str
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool = False
    dynamic: bool = False  # input_ids int64[batch, sequence] instead of int64[1, 128]

    @property
    def embedded(self) -> bool:
        return self.kind == "embedded"

    def sizes(self) -> dict:
        """make_model's ``sizes`` (overrides of its common Llama-3 config)."""
        return dict(
            hidden_size=self.hidden,
            intermediate_size=self.intermediate,
            num_hidden_layers=self.layers,
            num_attention_heads=self.heads,
            num_key_value_heads=self.kv_heads,
            vocab_size=self.vocab,
            tie_word_embeddings=self.tied,
        )

    def parameters(self) -> int:
        """Exact LlamaForCausalLM parameter count (no biases); checked after each build."""
        h, head_dim = self.hidden, self.hidden // self.heads
        attention = 2 * h * self.heads * head_dim + 2 * h * self.kv_heads * head_dim
        layer = attention + 3 * h * self.intermediate + 2 * h  # + 2 RMSNorm weights
        embeddings = self.vocab * h * (1 if self.tied else 2)
        return embeddings + self.layers * layer + h  # + final norm

    def description(self) -> str:
        shape = (
            f"hidden {self.hidden}, ffn {self.intermediate}, {self.layers} layers, "
            f"{self.heads}/{self.kv_heads} heads, vocab {self.vocab}"
        )
        weights = "weights embedded" if self.embedded else "weights absent"
        inputs = "; input_ids int64[batch, sequence]" if self.dynamic else ""
        return f"{self.title}: {shape}{', tied embeddings' if self.tied else ''}; {weights}{inputs}"


def _curve_point(title: str, kind: str, hidden: int, layers: int) -> _Spec:
    # head_dim 64 and 4 query heads per KV head at every size, so only the
    # tensor dims change along the parameter curve, never the graph
    heads = hidden // 64
    return _Spec(title, kind, hidden, hidden * 7 // 2, layers, heads, heads // 4, 32000)


_SPECS: dict[str, _Spec] = {
    # dims of the published config.json files (Llama-3.2-1B's llama3 rope scaling
    # is left out: it only changes the values of the rotary constants)
    "llama-1b": _Spec("Llama-3.2-1B skeleton", "skeleton", 2048, 8192, 16, 32, 8, 128256, tied=True),
    "llama-8b": _Spec("Llama-3-8B skeleton", "skeleton", 4096, 14336, 32, 32, 8, 128256),
    "llama-70b": _Spec("Llama-3-70B skeleton", "skeleton", 8192, 28672, 80, 64, 8, 128256),
    "llama-8b-dynamic": _Spec("Llama-3-8B skeleton", "skeleton-dynamic", 4096, 14336, 32, 32, 8, 128256, dynamic=True),
    "llama-70b-dynamic": _Spec("Llama-3-70B skeleton", "skeleton-dynamic", 8192, 28672, 80, 64, 8, 128256, dynamic=True),
    "embedded-1.7gb": _Spec("Llama-style, single file", "embedded", 1536, 4096, 13, 12, 4, 32000),
    **{
        f"params-{h}": _curve_point("params curve", "params-curve", h, 8)
        for h in (256, 512, 1024, 2048, 4096, 8192)
    },
    **{
        f"nodes-{n}": _curve_point("nodes curve", "nodes-curve", 1024, n)
        for n in (4, 8, 16, 32, 64)
    },
}

WORKLOADS: tuple[str, ...] = tuple(_SPECS)
# benchmarks/run.py: the per-workload sweep, and the export section's models.
SWEEP_WORKLOADS: tuple[str, ...] = tuple(name for name, spec in _SPECS.items() if not spec.dynamic)
EXPORT_WORKLOADS: tuple[str, ...] = tuple(name for name, spec in _SPECS.items() if spec.dynamic)


def _spec(name: str) -> _Spec:
    try:
        return _SPECS[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}") from None


def _folder(name: str) -> Path:
    return CACHE_DIR / name


def _info(name: str) -> dict | None:
    """The build record of a cached workload, or None when it is not built."""
    folder = _folder(name)
    if not (folder / MODEL_FILE).is_file() or not (folder / INFO_FILE).is_file():
        return None
    return json.loads((folder / INFO_FILE).read_text())


def describe(name: str) -> Workload:
    """The workload's metadata without building it (measured counts once built)."""
    spec = _spec(name)
    info = _info(name)
    return Workload(
        name=name,
        description=spec.description(),
        kind=spec.kind,
        parameters=info["parameters"] if info else spec.parameters(),
        nodes=info["nodes"] if info else _NODES_BASE + _NODES_PER_LAYER * spec.layers,
        weights_present=spec.embedded,
    )


def _make_demo_model() -> ModuleType:
    """scripts/make_demo_model.py as a module (scripts/ is not a package); imports torch."""
    if "make_demo_model" not in sys.modules:
        path = REPO_ROOT / "scripts" / "make_demo_model.py"
        module_spec = importlib.util.spec_from_file_location("make_demo_model", path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules["make_demo_model"] = module
        module_spec.loader.exec_module(module)
    return sys.modules["make_demo_model"]


def _export(spec: _Spec, out: Path) -> dict:
    """Build one model at ``out``; returns its measured counts."""
    import numpy as np

    mdm = _make_demo_model()
    cfg = mdm.make_config(spec.sizes())
    # Random weights are created only for the embedded workload (~1.7 GB); the
    # skeletons never allocate a weight.
    state = mdm.build_random_model(cfg).state_dict() if spec.embedded else None
    proto = mdm.make_model(spec.sizes(), state, out, dynamic=spec.dynamic)
    del state
    config = {**cfg.to_dict(), "attn_implementation": cfg._attn_implementation}
    (out.parent / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")

    # Weights are the initializers named like a model parameter (under any of a
    # tied parameter's names); the rest are small exporter constants.
    meta_model, _ = mdm.build_meta_model(cfg)
    names = {n for n, _ in meta_model.named_parameters(remove_duplicate=False)}
    weights = [t for t in proto.graph.initializer if t.name in names]
    parameters = sum(int(np.prod(t.dims, dtype=np.int64)) for t in weights)
    if parameters != spec.parameters():
        raise RuntimeError(f"{out}: {parameters} parameters exported, {spec.parameters()} expected")
    external = [t for t in weights if t.data_location == t.EXTERNAL]
    if len(external) != (0 if spec.embedded else len(weights)):
        raise RuntimeError(f"{out}: {len(external)} of {len(weights)} weights are external references")
    return {"parameters": parameters, "nodes": len(proto.graph.node), "external_weights": len(external)}


def build(name: str) -> Path:
    """Path of the workload's .onnx file, building it first if it is not cached."""
    spec = _spec(name)
    folder = _folder(name)
    if _info(name) is not None:
        return folder / MODEL_FILE

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # Same file system as the cache, so the final rename is atomic.
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=CACHE_DIR))
    tmp.chmod(0o755)  # mkdtemp's folder is private; the cache is not
    try:
        start = time.perf_counter()
        counts = _export(spec, tmp / MODEL_FILE)
        info = {
            "name": name,
            "kind": spec.kind,
            **counts,
            "weights_present": spec.embedded,
            "file_bytes": (tmp / MODEL_FILE).stat().st_size,
            "build_seconds": round(time.perf_counter() - start, 1),
        }
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
        if folder.exists() and _info(name) is None:
            shutil.rmtree(folder)  # leftover of an interrupted manual edit: not a complete build
        try:
            tmp.rename(folder)
        except OSError:
            # A concurrent build finished first; keep its result.
            if _info(name) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder / MODEL_FILE


def _size(nbytes: int) -> str:
    for unit in ("B", "KB", "MB"):
        if nbytes < 1000:
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return f"{nbytes:.2f} GB"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", metavar="NAME", help=f"workloads (default: all): {', '.join(WORKLOADS)}")
    names = ap.parse_args(argv).names or list(WORKLOADS)
    for name in names:
        _spec(name)  # fail on a typo before spending minutes on the others

    start = time.perf_counter()
    built_now = set()
    for name in names:
        if _info(name) is None:
            print(f"building {name} ...", flush=True)
            build(name)
            built_now.add(name)
    total = time.perf_counter() - start

    header = ("name", "kind", "parameters", "nodes", "file size", "data file", "build s", "")
    rows = []
    for name in names:
        w, info = describe(name), _info(name)
        if w.weights_present:
            data = "none (embedded)"
        else:
            data = "present" if (_folder(name) / DATA_FILE).exists() else "absent"
        rows.append((
            w.name, w.kind, f"{w.parameters:,}", str(w.nodes), _size(info["file_bytes"]),
            data, f"{info['build_seconds']:.1f}", "built now" if name in built_now else "cached",
        ))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    numeric = {2, 3, 4, 6}
    for row in (header, *rows):
        print("  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"\n{len(built_now)} built in {total:.1f}s, peak RSS {peak_mib:,.0f} MiB, cache {CACHE_DIR}")


if __name__ == "__main__":
    main(sys.argv[1:])
