"""One benchmark measurement in this (fresh) process; prints one JSON line.

    python benchmarks/measure.py METHOD MODEL_PATH

Methods:
  import      ``import onnx_weightless`` and nothing else (the reference for "above a bare import")
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

Each method imports only what it uses, so B0/B1 run plain onnx/onnx2torch, untouched by this package.
The JSON holds in-process phase times (``time.perf_counter``), the bytes this process read during the
measured part (``rchar``: every read syscall; ``read_bytes``: what reached storage, 0 from page cache),
for our methods the bytes the skeleton scan read from the model file, and ``error`` if the method failed.
Peak RSS and wall time of the whole process are measured from outside (``benchmarks/run.py``).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# Symbolic input dimensions become these sizes in the meta forward pass.
BATCH_SIZE = 1
OTHER_DIM_SIZE = 128


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
        import onnx_weightless  # noqa: F401


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
}
METHODS = tuple(RUNNERS)


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
    rec.stop()
    print(json.dumps({"method": method, "error": error, "phases": rec.phases, **rec.result}), flush=True)
    return 0 if error is None else 1


if __name__ == "__main__":
    sys.exit(main())
