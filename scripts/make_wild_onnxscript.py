"""Writes tests/wild/onnxscript/: control flow as onnxscript's script compiler emits it (Python
``if`` and ``for`` become If and Loop nodes; weights are Constant nodes inside the bodies).

    python scripts/make_wild_onnxscript.py      # or: make wild-corpus

Deterministic: fixed seeds; onnxscript comes from the main lock.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnxscript import FLOAT, INT64, script
from onnxscript import opset18 as op

OUT = Path(__file__).resolve().parents[1] / "tests" / "wild" / "onnxscript"
_rng = np.random.default_rng(2026)
HIDDEN = 32


def _weight(*shape: int) -> np.ndarray:
    return (_rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32)


W_HIGH, W_LOW, W_IN, W_STATE, W_EVEN, W_ODD = (_weight(HIDDEN, HIDDEN) for _ in range(6))


@script()
def sample_rate_switch(x: FLOAT["batch", 32], sr: INT64) -> FLOAT["batch", 32]:
    """The whole graph sits in an If on an input's value (as voice-activity models do)."""
    if sr == 16000:
        w = op.Constant(value=W_HIGH)
        y = op.Relu(op.MatMul(x, w))
    else:
        w = op.Constant(value=W_LOW)
        y = op.Tanh(op.MatMul(x, w))
    return y


@script()
def recurrent_loop(x: FLOAT["steps", "batch", 32], h0: FLOAT["batch", 32]) -> FLOAT["batch", 32]:
    """An RNN cell unrolled by a Loop whose trip count is the sequence's length (from its shape)."""
    w_in = op.Constant(value=W_IN)
    w_state = op.Constant(value=W_STATE)
    steps = op.Gather(op.Shape(x), 0)
    h = h0
    for t in range(steps):
        h = op.Tanh(op.Add(op.MatMul(op.Gather(x, t), w_in), op.MatMul(h, w_state)))
    return h


@script()
def alternating_loop(x: FLOAT["batch", 32], steps: INT64) -> FLOAT["batch", 32]:
    """A Loop over a trip count given as an input, with an If on the iteration's parity inside."""
    h = x
    for t in range(steps):
        if op.Mod(t, op.Constant(value_int=2)) == 0:
            w = op.Constant(value=W_EVEN)
            h = op.Relu(op.MatMul(h, w))
        else:
            w = op.Constant(value=W_ODD)
            h = op.Sigmoid(op.MatMul(h, w))
    return h


FUNCTIONS = (sample_rate_switch, recurrent_loop, alternating_loop)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for function in FUNCTIONS:
        model = function.to_model_proto()
        model.producer_name, model.producer_version = "onnxscript", __import__("onnxscript").__version__
        onnx.checker.check_model(model, full_check=True)
        path = OUT / f"{function.name}.onnx"
        path.write_bytes(model.SerializeToString(deterministic=True))
        print(f"{path.relative_to(OUT.parents[2])}: {path.stat().st_size} bytes, "
              f"{sorted({n.op_type for n in model.graph.node})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
