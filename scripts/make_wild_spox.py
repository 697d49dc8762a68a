"""Writes tests/wild/spox/: graphs built with spox, which writes ONNX directly (opset 21), the way
libraries without a torch model behind them do: every weight a Constant node, control flow and
sequences as ONNX has them.

    .cache/wild-spox-venv/bin/python scripts/make_wild_spox.py      # or: make wild-corpus

Deterministic: fixed seeds; spox and onnx come from requirements/lock-wild-spox.txt.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import spox
import spox.opset.ai.onnx.v21 as op
from spox import Tensor, Var, argument, build

from wild_corpus import finish

OUT = Path(__file__).resolve().parents[1] / "tests" / "wild" / "spox"
HIDDEN = 32
_rng = np.random.default_rng(2027)


def _weight(*shape: int) -> Var:
    return op.const((_rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32))


def _dense(x: Var, width_in: int, width_out: int) -> Var:
    return op.add(op.matmul(x, _weight(width_in, width_out)), _weight(width_out))


def constant_mlp() -> onnx.ModelProto:
    """Every weight a Constant: LayerNormalization, Gelu (opset 20), Softmax."""
    x = argument(Tensor(np.float32, ("batch", 16)))
    hidden = op.gelu(_dense(x, 16, HIDDEN), approximate="tanh")
    normed = op.layer_normalization(hidden, _weight(HIDDEN), _weight(HIDDEN), axis=-1, epsilon=1e-5)[0]
    return build({"x": x}, {"probabilities": op.softmax(_dense(normed, HIDDEN, 8), axis=-1)})


def gru_loop() -> onnx.ModelProto:
    """A gated recurrent cell unrolled by a Loop over the sequence's length (from its shape), reading
    its weights from the outer graph; the per-step states stacked as a scan output."""
    x = argument(Tensor(np.float32, ("steps", "batch", 8)))
    h0 = argument(Tensor(np.float32, ("batch", HIDDEN)))
    w_update, w_candidate = _weight(8 + HIDDEN, HIDDEN), _weight(8 + HIDDEN, HIDDEN)
    steps = op.gather(op.shape(x), op.const(np.int64(0)))

    def body(iteration: Var, condition: Var, h: Var) -> list[Var]:
        step = op.gather(x, op.reshape(iteration, op.const(np.zeros(0, np.int64))))  # the iteration number as a scalar
        joined = op.concat([step, h], axis=-1)
        update = op.sigmoid(op.matmul(joined, w_update))
        candidate = op.tanh(op.matmul(joined, w_candidate))
        new = op.add(op.mul(update, h), op.mul(op.sub(op.const(np.float32(1)), update), candidate))
        return [op.identity(condition), new, new]

    final, states = op.loop(steps, None, [h0], body=body)
    return build({"x": x, "h0": h0}, {"final": final, "states": states})


def paired_scan() -> onnx.ModelProto:
    """A Scan over two inputs along different axes, one in reverse, with outputs stacked along
    different axes. (No carried state: spox 0.18 types a Scan body's inputs as if the scan inputs
    came before the states, the reverse of ONNX's order.)"""
    x = argument(Tensor(np.float32, (4, "steps")))
    y = argument(Tensor(np.float32, ("steps", 4)))

    def body(column: Var, row: Var) -> list[Var]:
        return [op.add(op.mul(column, row), op.relu(column)), op.tanh(op.sub(row, column))]

    mixed, trace = op.scan([x, y], body=body, num_scan_inputs=2, scan_input_axes=[1, 0], scan_input_directions=[1, 0],
                           scan_output_axes=[1, 0], scan_output_directions=[0, 1])
    return build({"x": x, "y": y}, {"mixed": mixed, "trace": trace})


def sequence_map() -> onnx.ModelProto:
    """SplitToSequence, a SequenceMap whose body holds a weight, ConcatFromSequence on a new axis."""
    x = argument(Tensor(np.float32, ("parts", "rows", 16)))
    pieces = op.split_to_sequence(x, axis=0, keepdims=0)
    w = _weight(16, 16)
    (mapped,) = op.sequence_map(pieces, body=lambda piece: [op.relu(op.matmul(piece, w))])
    count = op.sequence_length(mapped)
    return build({"x": x}, {"y": op.concat_from_sequence(mapped, axis=0, new_axis=1), "count": count})


def gated_if() -> onnx.ModelProto:
    """An If on a value computed from the input (its mean's sign), branches with weights of their own."""
    x = argument(Tensor(np.float32, ("batch", 16)))
    positive = op.greater(op.reduce_mean(x, keepdims=0), op.const(np.float32(0)))
    (y,) = op.if_(positive, then_branch=lambda: [op.relu(_dense(x, 16, 16))], else_branch=lambda: [op.tanh(_dense(x, 16, 16))])
    return build({"x": x}, {"y": y})


MODELS = (constant_mlp, gru_loop, paired_scan, sequence_map, gated_if)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for make in MODELS:
        model = make()
        model.producer_name, model.producer_version = "spox", spox.__version__
        onnx.checker.check_model(model, full_check=True)
        path = OUT / f"{make.__name__}.onnx"
        path.write_bytes(model.SerializeToString(deterministic=True))
        written.append(path)
        print(f"{path.relative_to(OUT.parents[2])}: {path.stat().st_size} bytes, "
              f"ops {sorted({n.op_type for n in model.graph.node})}")
    return finish(OUT, written, [], 1_000_000, "spox")


if __name__ == "__main__":
    sys.exit(main())
