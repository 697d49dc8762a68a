"""Recurrent layers: RNN, GRU and LSTM, every direction and layout, optional initial states,
sequence_lens, clip, GRU's linear_before_reset, LSTM's peepholes and input_forget.

W, R and B stay forward arguments (graph initializers, meta in a weightless conversion): the
recurrence is written with plain tensor ops, so it runs on real and on meta weights alike.
Activations without parameters are supported (Sigmoid, Tanh, Relu, Softsign, Softplus); those taking
activation_alpha/activation_beta are refused at conversion.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from .registry import register

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softsign": F.softsign,
    "softplus": F.softplus,
}

# op -> (gates, default activations of one direction)
_CELLS = {"RNN": (1, ("Tanh",)), "GRU": (3, ("Sigmoid", "Tanh")), "LSTM": (4, ("Sigmoid", "Tanh", "Tanh"))}

State = tuple[torch.Tensor, torch.Tensor | None]  # hidden state, cell state (LSTM only)


class OnnxRecurrent(nn.Module, OnnxToTorchModule):
    """The shared recurrence; subclasses only give forward ONNX's input names and order."""

    def __init__(
        self,
        cell: str,
        directions: tuple[bool, ...],
        activations: list[str],
        clip: float | None,
        batch_first: bool,
        outputs: int,
        linear_before_reset: bool = False,
        input_forget: bool = False,
    ) -> None:
        super().__init__()
        self.cell = cell
        self.directions = directions  # one flag per direction: reversed?
        self.activations = activations
        self.clip = clip
        self.batch_first = batch_first
        self.outputs = outputs
        self.linear_before_reset = linear_before_reset
        self.input_forget = input_forget

    def _activate(self, index: int, x: torch.Tensor, clip: bool = True) -> torch.Tensor:
        if clip and self.clip is not None:
            x = x.clamp(-self.clip, self.clip)
        return _ACTIVATIONS[self.activations[index].lower()](x)

    def _step(
        self, d: int, x: torch.Tensor, state: State, r: torch.Tensor, rb: torch.Tensor, p: torch.Tensor | None
    ) -> State:
        """One time step of direction d: x is X_t W^T + Wb, state (H_{t-1}, C_{t-1})."""
        h, c = state
        n = len(_CELLS[self.cell][1])  # activations per direction
        f, g = d * n, d * n + 1
        if self.cell == "RNN":
            return self._activate(f, x + h @ r.T + rb), None
        if self.cell == "GRU":
            xz, xr, xh = x.chunk(3, -1)
            rz, rr, rh = r.chunk(3, 0)
            bz, br, bh = rb.chunk(3, -1)
            z = self._activate(f, xz + h @ rz.T + bz)
            reset = self._activate(f, xr + h @ rr.T + br)
            if self.linear_before_reset:
                candidate = self._activate(g, xh + reset * (h @ rh.T + bh))
            else:
                candidate = self._activate(g, xh + (reset * h) @ rh.T + bh)
            return (1 - z) * candidate + z * h, None
        gates = x + h @ r.T + rb
        xi, xo, xf, xc = gates.chunk(4, -1)  # ONNX's gate order: input, output, forget, cell
        pi, po, pf = (None, None, None) if p is None else p.chunk(3, -1)
        i = self._activate(f, xi if pi is None else xi + pi * c)
        forget = 1 - i if self.input_forget else self._activate(f, xf if pf is None else xf + pf * c)
        c_new = forget * c + i * self._activate(g, xc)
        o = self._activate(f, xo if po is None else xo + po * c_new)
        # onnxruntime clips the gates' inputs, not the cell state h() reads.
        return o * self._activate(d * n + 2, c_new, clip=False), c_new

    def _run(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        r: torch.Tensor,
        b: torch.Tensor | None,
        sequence_lens: torch.Tensor | None,
        initial_h: torch.Tensor | None,
        initial_c: torch.Tensor | None = None,
        p: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if self.batch_first:
            x = x.transpose(0, 1)
            initial_h = None if initial_h is None else initial_h.transpose(0, 1)
            initial_c = None if initial_c is None else initial_c.transpose(0, 1)
        steps, batch = x.shape[0], x.shape[1]
        zeros = x.new_zeros((len(self.directions), batch, r.shape[-1]))  # hidden_size is R's last dimension
        initial_h = zeros if initial_h is None else initial_h
        initial_c = zeros if initial_c is None else initial_c
        device = x.device if x.device.type == "meta" else w.device
        lengths = None if sequence_lens is None else sequence_lens.to(device).reshape(-1, 1)
        ys, hs, cs = [], [], []
        for d, backwards in enumerate(self.directions):
            wb, rb = (None, None) if b is None else b[d].chunk(2)
            projected = x @ w[d].T if wb is None else x @ w[d].T + wb
            rb = torch.zeros_like(r[d][:, 0]) if rb is None else rb
            state: State = (initial_h[d], initial_c[d] if self.cell == "LSTM" else None)
            outputs: list[torch.Tensor] = []
            for t in (range(steps - 1, -1, -1) if backwards else range(steps)):
                h, c = self._step(d, projected[t], state, r[d], rb, None if p is None else p[d])
                if lengths is not None:
                    # Past its length a sequence keeps its state and outputs zeros.
                    valid = t < lengths
                    h = torch.where(valid, h, state[0])
                    c = None if c is None else torch.where(valid, c, state[1])
                    outputs.append(torch.where(valid, h, torch.zeros_like(h)))
                else:
                    outputs.append(h)
                state = (h, c)
            ys.append(torch.stack(outputs[::-1] if backwards else outputs))
            hs.append(state[0])
            cs.append(state[1])
        y = torch.stack(ys, 1)  # [steps, directions, batch, hidden]
        y_h = torch.stack(hs)
        results = [y, y_h] + ([torch.stack(cs)] if self.cell == "LSTM" else [])
        if self.batch_first:
            results = [y.permute(2, 0, 1, 3)] + [state.transpose(0, 1) for state in results[1:]]
        results = results[: self.outputs]
        return results[0] if len(results) == 1 else tuple(results)


class OnnxRNNOrGRU(OnnxRecurrent):
    def forward(
        self,
        X: torch.Tensor,
        W: torch.Tensor,
        R: torch.Tensor,
        B: torch.Tensor | None = None,
        sequence_lens: torch.Tensor | None = None,
        initial_h: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return self._run(X, W, R, B, sequence_lens, initial_h)


class OnnxLSTM(OnnxRecurrent):
    def forward(
        self,
        X: torch.Tensor,
        W: torch.Tensor,
        R: torch.Tensor,
        B: torch.Tensor | None = None,
        sequence_lens: torch.Tensor | None = None,
        initial_h: torch.Tensor | None = None,
        initial_c: torch.Tensor | None = None,
        P: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return self._run(X, W, R, B, sequence_lens, initial_h, initial_c, P)


def _recurrent(node: OnnxNode, module_type: type[OnnxRecurrent]) -> OperationConverterResult:
    op = node.operation_type
    attributes = node.attributes
    direction = attributes.get("direction", "forward")
    directions = {"forward": (False,), "reverse": (True,), "bidirectional": (False, True)}.get(direction)
    if directions is None:
        raise NotImplementedError(f"{op}: direction={direction!r}")
    defaults = _CELLS[op][1]
    activations = list(attributes.get("activations", defaults * len(directions)))
    if len(activations) != len(defaults) * len(directions):
        raise NotImplementedError(f"{op}: activations={activations} (expected {len(defaults)} per direction)")
    unsupported = [name for name in activations if name.lower() not in _ACTIVATIONS]
    if unsupported or "activation_alpha" in attributes or "activation_beta" in attributes:
        raise NotImplementedError(
            f"{op}: activations={activations} with activation_alpha/activation_beta "
            f"(supported: {sorted(_ACTIVATIONS)}, without parameters)"
        )
    layout = attributes.get("layout", 0)
    if layout not in (0, 1):
        raise NotImplementedError(f"{op}: layout={layout}")
    module = module_type(
        op,
        directions,
        activations,
        attributes.get("clip"),
        batch_first=layout == 1,
        outputs=len(node.output_values),
        linear_before_reset=bool(attributes.get("linear_before_reset", 0)),
        input_forget=bool(attributes.get("input_forget", 0)),
    )
    return converted(node, module)


@register("RNN", 1, 7, 14, 22)
@register("GRU", 1, 3, 7, 14, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return _recurrent(node, OnnxRNNOrGRU)


@register("LSTM", 1, 7, 14, 22)
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    return _recurrent(node, OnnxLSTM)
