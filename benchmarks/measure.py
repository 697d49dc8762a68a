"""One benchmark measurement in this (fresh) process; prints one JSON line.

    python benchmarks/measure.py METHOD MODEL_PATH

Methods:
  import      ``import onnx_weightless`` and its conversion stack (torch, onnx2torch), which the package
              loads on first use, and nothing else (the reference for "above a bare import")
  ow-load     ``onnx_weightless.load(path)``
  ow-convert  ``onnx_weightless.convert(path)``, then ``meta_forward`` on inputs built from the graph
  onnx-load   ``onnx.load(path, load_external_data=False)``
  B0          ``onnx2torch.convert(onnx.load(path))``, weights read
  B1          the seed's approach: ``onnx.load(path, load_external_data=False)``, onnx2torch's tensors
              made as empty ``meta`` tensors, default device ``meta``, ``onnx2torch.convert``
  B1r         B1 with the two changes onnx2torch needs to get through today's exports: tensors of at
              most 1 KiB serialized stay real (converters read axes, shapes and perms from them) and
              the default device stays ``cpu`` (onnx2torch's Transpose reads its perm back from a
              tensor); the floor to compare against where B1 itself fails
  ow-export   ``onnx_weightless.export(path)``, every ONNX dim_param passed as a ``torch.export.Dim``:
              phases load/convert/export, the program's node count, range constraints and input
              shapes, warnings, and the nodes that fixed a symbolic dim if any; fails unless every
              ``program.state_dict`` tensor is on ``meta``
  hf-export   transformers' ``LlamaForCausalLM`` built under ``torch.device("meta")`` from the
              ``config.json`` next to MODEL_PATH, then ``torch.export.export(model, (input_ids,),
              dynamic_shapes=..., strict=False)`` with batch and sequence symbolic
  import-hf   ``import torch`` and transformers' ``LlamaConfig``/``LlamaForCausalLM``: hf-export's imports

Each method imports only what it uses, so B0/B1 run plain onnx/onnx2torch, untouched by this package;
ow-export's imports are those of ``import`` and hf-export's those of ``import-hf``, so each export's
peak RSS compares to the import-only process of its own imports.
The JSON holds in-process phase times (``time.perf_counter``), the bytes this process read during the
measured part (``rchar``: every read syscall; ``read_bytes``: what reached storage, 0 from page cache),
for our methods the bytes the skeleton scan read from the model file, and ``error`` if the method failed.
Peak RSS and wall time of the whole process are measured from outside (``benchmarks/run.py``).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# Symbolic input dimensions become these sizes in the meta forward pass.
BATCH_SIZE = 1
OTHER_DIM_SIZE = 128

# hf-export's example input_ids: no dim of size 0 or 1, which torch.export would specialise; 4 is
# ow.export's default example size for a symbolic dim.
HF_EXAMPLE_SHAPE = (4, 4)
# Written by benchmarks/workloads.py next to each model it builds.
CONFIG_FILE = "config.json"


def proc_io() -> dict[str, int]:
    """This process's I/O counters from /proc/self/io."""
    with open("/proc/self/io") as f:
        return {key: int(value) for key, value in (line.split(":") for line in f)}


class Recorder:
    """Phase times, and the I/O counters from start() (where a method's measured part begins) to stop()."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.result: dict[str, Any] = {}
        self._io_start: dict[str, int] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start

    def start(self) -> None:
        self._io_start = proc_io()

    def stop(self) -> None:
        """Called by main() once the method returned or failed, if it started."""
        if not self._io_start:
            return
        end = proc_io()
        self.result["rchar"] = end["rchar"] - self._io_start["rchar"]
        self.result["read_bytes"] = end["read_bytes"] - self._io_start["read_bytes"]


def run_import(rec: Recorder, path: str) -> None:
    rec.start()
    with rec.phase("import"):
        from onnx_weightless import convert  # noqa: F401 - loads torch and onnx2torch as a conversion does


def run_ow_load(rec: Recorder, path: str) -> None:
    with rec.phase("import"):
        import onnx_weightless
        from onnx_weightless import _skeleton
    with _timed_skeleton_loads(rec, _skeleton):
        rec.start()
        onnx_weightless.load(path)


def run_ow_convert(rec: Recorder, path: str) -> None:
    with rec.phase("import"):
        import torch

        import onnx_weightless
        from onnx_weightless import _session
    with _timed_skeleton_loads(rec, _session) as skeletons:
        rec.start()
        with rec.phase("convert"):
            gm = onnx_weightless.convert(path)
        # convert(path) includes the skeleton load; the phases report it apart.
        rec.phases["convert"] -= rec.phases["load"]
        inputs = _meta_inputs(skeletons[0].model, onnx_weightless.torch_dtype, torch)
        with rec.phase("meta forward"):
            onnx_weightless.meta_forward(gm, *inputs)


@contextmanager
def _timed_skeleton_loads(rec: Recorder, module: Any) -> Iterator[list[Any]]:
    """Wraps ``module.load_skeleton`` (the one call that reads the model file) to time it as phase
    "load" and record its Skeleton's ``bytes_read``, while the public function under test is called
    exactly as users call it."""
    original: Callable[..., Any] = module.load_skeleton
    skeletons: list[Any] = []

    def timed(*args: Any, **kwargs: Any) -> Any:
        with rec.phase("load"):
            skeleton = original(*args, **kwargs)
        skeletons.append(skeleton)
        return skeleton

    module.load_skeleton = timed
    try:
        yield skeletons
    finally:
        module.load_skeleton = original
    if len(skeletons) != 1:
        raise RuntimeError(f"expected one skeleton load through {module.__name__}.load_skeleton, saw {len(skeletons)}")
    rec.result["scan_bytes_read"] = skeletons[0].bytes_read
    rec.result["stripped_bytes"] = skeletons[0].stripped_bytes


def _meta_inputs(model: Any, torch_dtype: Callable[[int], Any], torch: Any) -> list[Any]:
    """One tensor per graph input: symbolic dims are BATCH_SIZE first, OTHER_DIM_SIZE elsewhere;
    floating inputs are meta, integer and bool inputs real zeros (they may be read as values)."""
    initializers = {init.name for init in model.graph.initializer}
    inputs = []
    for value in model.graph.input:
        if value.name in initializers:  # IR < 4 lists initializers as inputs too
            continue
        tensor_type = value.type.tensor_type
        dims = [
            dim.dim_value if dim.HasField("dim_value") else (BATCH_SIZE if i == 0 else OTHER_DIM_SIZE)
            for i, dim in enumerate(tensor_type.shape.dim)
        ]
        dtype = torch_dtype(tensor_type.elem_type)
        if dtype.is_floating_point or dtype.is_complex:
            inputs.append(torch.empty(dims, dtype=dtype, device="meta"))
        else:
            inputs.append(torch.zeros(dims, dtype=dtype))
    return inputs


def run_ow_export(rec: Recorder, path: str) -> None:
    with rec.phase("import"):
        import torch

        import onnx_weightless
        from onnx_weightless import _convert, _session
    watch = _TraceWatch(torch)
    original_convert, original_export = _convert.convert, torch.export.export
    export_calls: list[float] = []  # export() retraces when the model fixes a symbolic dim

    def timed_convert(*args: Any, **kwargs: Any) -> Any:
        with rec.phase("convert"):
            return original_convert(*args, **kwargs)

    def timed_export(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original_export(*args, **kwargs)
        finally:
            export_calls.append(time.perf_counter() - start)

    # export() looks both up at call time, so these time exactly its own calls.
    _convert.convert, torch.export.export = timed_convert, timed_export
    rec.result["torch_export_calls"] = export_calls
    try:
        with _timed_skeleton_loads(rec, _session), watch, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rec.start()
            with rec.phase("export"):
                program = onnx_weightless.export(path)
    except Exception:
        rec.result.update(watch.report(failed=True))
        raise
    finally:
        _convert.convert, torch.export.export = original_convert, original_export
        _split_phases(rec)
    # A FixedDimensionWarning says a symbolic dim was fixed: the export succeeded, but not as asked.
    rec.result["warnings"] = list(dict.fromkeys(f"{w.category.__name__}: {w.message}"[:300] for w in caught))[:5]
    _record_program(rec, program, torch)
    if not all(all(dims) for dims in rec.result["symbolic_dims"].values()):
        rec.result.update(watch.report(failed=False))


def _split_phases(rec: Recorder) -> None:
    """Turns the nested timings into disjoint phases: export = the rest of export() after convert,
    convert = the rest of convert() after the skeleton load."""
    if "export" in rec.phases and "convert" in rec.phases:
        rec.phases["export"] -= rec.phases["convert"]
    if "convert" in rec.phases and "load" in rec.phases:
        rec.phases["convert"] -= rec.phases["load"]


def _record_program(rec: Recorder, program: Any, torch: Any) -> None:
    """Node count, range constraints and input shapes of an ExportedProgram; raises unless all of
    its state is on the meta device (a weight allocated on CPU would be the failure measured)."""
    rec.result["graph_nodes"] = len(program.graph.nodes)
    rec.result["range_constraints"] = {str(symbol): str(bound) for symbol, bound in program.range_constraints.items()}
    user_inputs = set(program.graph_signature.user_inputs)
    inputs = [node for node in program.graph.find_nodes(op="placeholder") if node.name in user_inputs]
    rec.result["input_shapes"] = {node.name: str(tuple(node.meta["val"].shape)) for node in inputs}
    rec.result["symbolic_dims"] = {
        node.name: [isinstance(dim, torch.SymInt) for dim in node.meta["val"].shape] for node in inputs
    }
    state = program.state_dict
    not_meta = sorted(name for name, tensor in state.items() if tensor.device.type != "meta")
    rec.result["state_tensors"] = len(state)
    rec.result["state_elements"] = sum(tensor.numel() for tensor in state.values())
    if not_meta:
        raise AssertionError(f"{len(not_meta)} state_dict tensors not on meta, e.g. {not_meta[:3]}")


class _TraceWatch:
    """While active, notes each top-level graph node torch.export's interpreter runs and which of
    them added shape guards, so a failed export can name where tracing stopped and which node
    specialised a symbolic dim. Costs one attribute store and a length check per node."""

    def __init__(self, torch: Any) -> None:
        from torch.fx.experimental.symbolic_shapes import ShapeEnv

        self._interpreter = torch.fx.Interpreter
        self._shape_env = ShapeEnv
        self._envs: list[Any] = []
        self.last_node: Any = None
        self.guarding: list[tuple[Any, list[Any]]] = []  # (node, the guards it added)

    def __enter__(self) -> _TraceWatch:
        watch, run_node, env_init = self, self._interpreter.run_node, self._shape_env.__init__
        self._originals = run_node, env_init

        def watched_init(env: Any, *args: Any, **kwargs: Any) -> None:
            env_init(env, *args, **kwargs)
            watch._envs.append(env)

        def watched_run_node(interpreter: Any, node: Any) -> Any:
            watch.last_node = node
            before = [len(env.guards) for env in watch._envs]
            try:
                return run_node(interpreter, node)
            finally:
                added = [guard for env, n in zip(watch._envs, before) for guard in env.guards[n:]]
                if added:
                    watch.guarding.append((node, added))

        self._shape_env.__init__ = watched_init
        self._interpreter.run_node = watched_run_node
        return self

    def __exit__(self, *exc: Any) -> None:
        self._interpreter.run_node, self._shape_env.__init__ = self._originals

    @staticmethod
    def _describe(node: Any) -> str:
        text = f"{node.name} ({node.op} {node.target}"
        module = getattr(node.graph.owning_module, "get_submodule", None)
        if node.op == "call_module" and module is not None:
            text += f": {type(module(node.target)).__name__}"
        return text + ")"

    def report(self, failed: bool) -> dict[str, Any]:
        """What to add to the JSON of an export that failed or fixed a symbolic dim: the first
        guards that bound a symbol to a constant (``Eq(s, n)``), with the node and source line that
        added them, and for a failure the last node run (where tracing stopped)."""
        out: dict[str, Any] = {}
        if failed and self.last_node is not None:
            out["last_node"] = self._describe(self.last_node)
        specialised = []
        for node, guards in self.guarding:
            for guard in guards:
                expr = guard.expr
                if type(expr).__name__ == "Equality" and any(arg.is_Integer for arg in expr.args):
                    specialised.append(f"{expr} by {self._describe(node)} at {guard.sloc}")
        if specialised:
            out["specialised"] = specialised[:5]
        return out


def run_import_hf(rec: Recorder, path: str) -> None:
    rec.start()
    with rec.phase("import"):
        import torch  # noqa: F401
        from transformers import LlamaConfig, LlamaForCausalLM  # noqa: F401


def run_hf_export(rec: Recorder, path: str) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything comes from the config file
    with rec.phase("import"):
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM
    config_path = os.path.join(os.path.dirname(os.path.abspath(path)), CONFIG_FILE)
    config = LlamaConfig.from_json_file(config_path)
    rec.result["attn_implementation"] = config._attn_implementation
    rec.start()
    with rec.phase("build"):
        with torch.device("meta"):
            model = LlamaForCausalLM(config)
        model.eval()
    input_ids = torch.zeros(HF_EXAMPLE_SHAPE, dtype=torch.int64, device="meta")
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("sequence")}
    with rec.phase("export"):
        program = torch.export.export(model, (input_ids,), dynamic_shapes={"input_ids": dims}, strict=False)
    _record_program(rec, program, torch)


def run_onnx_load(rec: Recorder, path: str) -> None:
    with rec.phase("import"):
        import onnx
    rec.start()
    with rec.phase("load"):
        onnx.load(path, load_external_data=False)


def run_b0(rec: Recorder, path: str) -> None:
    with rec.phase("import"):
        import onnx
        import onnx2torch
    rec.start()
    with rec.phase("load"):
        model = onnx.load(path)
    with rec.phase("convert"):
        onnx2torch.convert(model)


def run_b1(rec: Recorder, path: str) -> None:
    _run_seed_approach(rec, path, repaired=False)


def run_b1r(rec: Recorder, path: str) -> None:
    _run_seed_approach(rec, path, repaired=True)


# B1r keeps tensors of at most this many serialized bytes real.
B1R_REAL_BYTES = 1024


def _run_seed_approach(rec: Recorder, path: str, repaired: bool) -> None:
    with rec.phase("import"):
        import onnx
        import onnx2torch
        import torch
        from onnx2torch.onnx_tensor import OnnxTensor

    # The seed's own dtype table: the element types its models used.
    dtypes = {
        onnx.TensorProto.FLOAT: torch.float32,
        onnx.TensorProto.FLOAT16: torch.float16,
        onnx.TensorProto.BFLOAT16: torch.bfloat16,
        onnx.TensorProto.DOUBLE: torch.float64,
        onnx.TensorProto.INT8: torch.int8,
        onnx.TensorProto.INT16: torch.int16,
        onnx.TensorProto.INT32: torch.int32,
        onnx.TensorProto.INT64: torch.int64,
        onnx.TensorProto.UINT8: torch.uint8,
        onnx.TensorProto.BOOL: torch.bool,
    }
    real_tensor = OnnxTensor.to_torch

    def meta_tensor(self: OnnxTensor) -> torch.Tensor:
        proto = self.proto
        if repaired and proto.data_location != onnx.TensorProto.EXTERNAL and proto.ByteSize() <= B1R_REAL_BYTES:
            return real_tensor(self)
        return torch.empty(tuple(proto.dims), dtype=dtypes[proto.data_type], device="meta")

    rec.start()
    with rec.phase("load"):
        model = onnx.load(path, load_external_data=False)
    OnnxTensor.to_torch = meta_tensor
    if not repaired:
        torch.set_default_device("meta")
    with rec.phase("convert"):
        onnx2torch.convert(model)


RUNNERS: dict[str, Callable[[Recorder, str], None]] = {
    "import": run_import,
    "ow-load": run_ow_load,
    "ow-convert": run_ow_convert,
    "onnx-load": run_onnx_load,
    "B0": run_b0,
    "B1": run_b1,
    "B1r": run_b1r,
    "ow-export": run_ow_export,
    "hf-export": run_hf_export,
    "import-hf": run_import_hf,
}
# The per-workload sweep of benchmarks/run.py ("import" first: the reference) ...
METHODS = ("import", "ow-load", "ow-convert", "onnx-load", "B0", "B1", "B1r")
# ... and its export section, each export after the import-only reference of its own imports.
EXPORT_METHODS = ("ow-export", "hf-export")
EXPORT_REFERENCES = {"ow-export": "import", "hf-export": "import-hf"}


def _error_lines(exc: BaseException, per_exception: int = 6) -> list[str]:
    """The first lines of an exception and of each exception it was raised from (torch's own
    message is usually the cause of a wrapping error)."""
    lines: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = [line.rstrip() for line in str(exc).strip().splitlines() if line.strip()]
        lines.append(f"{type(exc).__name__}: {text[0] if text else ''}"[:300])
        lines += [line[:300] for line in text[1:per_exception]]
        exc = exc.__cause__
    return lines


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in RUNNERS:
        print(__doc__, file=sys.stderr)
        return 2
    method, path = sys.argv[1], sys.argv[2]
    rec = Recorder()
    error = None
    try:
        RUNNERS[method](rec, path)
    except Exception as exc:  # a failing method is a result: the tables show why
        traceback.print_exc()
        first_line = (str(exc).strip().splitlines() or [""])[0]
        error = f"{type(exc).__name__}: {first_line}"[:300]
        rec.result["error_lines"] = _error_lines(exc)
    rec.stop()
    print(json.dumps({"method": method, "error": error, "phases": rec.phases, **rec.result}), flush=True)
    return 0 if error is None else 1


if __name__ == "__main__":
    sys.exit(main())
