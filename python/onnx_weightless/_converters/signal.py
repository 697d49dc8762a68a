"""The signal operators of ai.onnx: the HannWindow, HammingWindow and BlackmanWindow window
generators, DFT (17 with ``axis`` as an attribute, 20 with ``axis`` as an input), STFT and
MelWeightMatrix. onnx2torch has none of them.

Sizes, lengths, steps, axes and MelWeightMatrix's parameters are read as values; the signal and
STFT's window may be meta tensors, and everything done with them (torch.fft, unfold, products)
works on meta tensors. ONNX carries complex numbers as a trailing dimension of 2 (real,
imaginary) and real ones as a trailing dimension of 1; the modules convert between that layout
and torch's complex dtypes around torch.fft. torch.fft has no float16/bfloat16 kernels on the CPU,
so those inputs are transformed in float32 and rounded back.

Where the spec supports only real input for a forward one-sided DFT and only complex input for an
inverse one-sided one (IRFFT), the other kind is accepted too, as onnx's reference evaluator does
(onnxruntime refuses it): the forward transform keeps the first ``dft_length // 2 + 1`` bins of
the full one, and an IRFFT reads real bins as complex bins without imaginary parts. An IRFFT of
``dft_length`` samples reads the first ``dft_length // 2 + 1`` bins, zero-padded, as numpy's and
torch's irfft and the reference do (onnxruntime agrees for some lengths only, the default
``2 * (bins - 1)`` among them).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from onnx import TensorProto
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from .._dtypes import onnx_dtype_name, torch_dtype
from ._common import converted
from .registry import register

_DT = TensorProto.DataType
#: output_datatype of the windows and MelWeightMatrix (their T2 and T3).
_OUTPUT_TYPES = frozenset(
    _DT.Value(name)
    for name in ("UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FLOAT16", "FLOAT",
                 "DOUBLE", "BFLOAT16")
)


def _float32(value: float) -> float:
    """``value`` rounded to float32: the spec's window functions hold their coefficients as float
    constants, and onnxruntime too."""
    return torch.tensor(value, dtype=torch.float32).item()


# Cosine-sum windows: w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), with the spec's float
# coefficients (Hamming's a0 is 25/46, not torch's 0.54). Blackman's a0 is 0.5 - 0.08 in float, as
# onnxruntime has it: float(0.42) would put a symmetric window's peak 1.5e-8 below 1, which an
# integer output_datatype truncates to 0.
_BLACKMAN_A2 = _float32(0.08)
_WINDOWS = {
    "HannWindow": (_float32(0.5), _float32(0.5), 0.0),
    "HammingWindow": (_float32(25 / 46), _float32(21 / 46), 0.0),
    "BlackmanWindow": (_float32(0.5 - _BLACKMAN_A2), _float32(0.5), _BLACKMAN_A2),
}


def _scalar(value: torch.Tensor, what: str) -> int | float:
    """The number a scalar input (read as a value) holds."""
    if value.numel() != 1:
        raise ValueError(f"{what} must be a scalar, got shape {list(value.shape)}")
    return value.reshape(()).item()


def _flag(node: OnnxNode, name: str, default: int) -> bool:
    value = node.attributes.get(name, default)
    if value not in (0, 1):
        raise NotImplementedError(f"{node.operation_type} {name}={value} is not supported (0 or 1)")
    return bool(value)


def _output_dtype(node: OnnxNode) -> torch.dtype:
    data_type = node.attributes.get("output_datatype", TensorProto.FLOAT)
    if data_type not in _OUTPUT_TYPES:
        raise NotImplementedError(
            f"{node.operation_type} output_datatype={onnx_dtype_name(data_type)} is not supported "
            "(an integer type, FLOAT16, FLOAT, DOUBLE or BFLOAT16)"
        )
    return torch_dtype(data_type)


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The real dtype torch.fft computes ``dtype`` in: float64 stays, the rest go through float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _to_complex(x: torch.Tensor, what: str) -> tuple[torch.Tensor, bool]:
    """(the signal without its trailing ONNX component dimension, whether it is real)."""
    components = x.shape[-1] if x.dim() else 0
    if components not in (1, 2):
        raise ValueError(f"{what} must end in a dimension of 1 (real) or 2 (complex), got shape {list(x.shape)}")
    x = x.to(_compute_dtype(x.dtype))
    if components == 1:
        return x[..., 0], True
    return torch.complex(x[..., 0], x[..., 1]), False


def _spectrum(signal: torch.Tensor, real: bool, length: int, dim: int, inverse: bool, onesided: bool) -> torch.Tensor:
    """The transform of ``signal`` along ``dim`` in ONNX's layout (a trailing dimension of 2, or of
    1 for an IRFFT's real output), in the signal's real compute dtype."""
    if inverse and onesided:  # IRFFT: one-sided spectrum -> real signal of `length` samples
        return torch.fft.irfft(signal, n=length, dim=dim).unsqueeze(-1)
    if inverse:
        spectrum = torch.fft.ifft(signal, n=length, dim=dim)
    elif onesided and real:
        spectrum = torch.fft.rfft(signal, n=length, dim=dim)
    else:
        spectrum = torch.fft.fft(signal, n=length, dim=dim)
        if onesided:
            spectrum = spectrum.narrow(dim, 0, length // 2 + 1)
    # The ifft of a real signal comes back as a lazily conjugated view, which view_as_real refuses.
    return torch.view_as_real(spectrum.resolve_conj())


class OnnxCosineSumWindow(nn.Module, OnnxToTorchModule):
    """HannWindow, HammingWindow, BlackmanWindow: a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N) for
    n in [0, size), N = size (periodic) or size - 1 (symmetric), computed in float64 and cast to
    ``dtype`` (integer types truncate, as a cast does). A symmetric window of size 1 divides 0 by 0:
    NaN, as onnxruntime and the reference give."""

    def __init__(self, coefficients: tuple[float, float, float], periodic: bool, dtype: torch.dtype) -> None:
        super().__init__()
        self.coefficients = coefficients
        self.periodic = periodic
        self.dtype = dtype

    def forward(self, size: torch.Tensor) -> torch.Tensor:
        length = int(_scalar(size, "size"))
        if length <= 0:  # as onnx's shape inference requires
            raise ValueError(f"window size must be positive, got {length}")
        a0, a1, a2 = self.coefficients
        period = length if self.periodic else length - 1
        angle = torch.arange(length, dtype=torch.float64, device=size.device) * (2 * math.pi) / period
        window = a0 - a1 * torch.cos(angle)
        if a2:
            window = window + a2 * torch.cos(2 * angle)
        return window.to(self.dtype)


class OnnxDFT(nn.Module, OnnxToTorchModule):
    """ONNX DFT; ``dft_length`` and DFT-20's ``axis`` input are read as values. ``axis`` is DFT-17's
    attribute, or DFT-20's default when the input is omitted."""

    def __init__(self, axis: int, inverse: bool, onesided: bool) -> None:
        super().__init__()
        self.axis = axis
        self.inverse = inverse
        self.onesided = onesided

    def forward(
        self, input: torch.Tensor, dft_length: torch.Tensor | None = None, axis: torch.Tensor | None = None
    ) -> torch.Tensor:
        rank = input.dim()
        chosen = int(_scalar(axis, "axis")) if axis is not None else self.axis
        # The last dimension holds the components; the accepted range is [-r, -2] U [0, r - 2].
        if not (-rank <= chosen <= rank - 2 and chosen != -1):
            raise ValueError(f"DFT axis {chosen} is out of range for an input of rank {rank}")
        chosen %= rank
        signal, real = _to_complex(input, "DFT input")
        if dft_length is not None:
            length = int(_scalar(dft_length, "dft_length"))
        elif self.inverse and self.onesided:  # IRFFT: an even signal whose one-sided spectrum this is
            length = 2 * (signal.shape[chosen] - 1)
        else:
            length = signal.shape[chosen]
        if length <= 0:
            raise ValueError(f"DFT length must be positive, got {length}")
        return _spectrum(signal, real, length, chosen, self.inverse, self.onesided).to(input.dtype)


class OnnxSTFT(nn.Module, OnnxToTorchModule):
    """ONNX STFT; ``frame_step`` and ``frame_length`` are read as values, ``window`` (a tensor like
    a weight) may be meta. Frames start every ``frame_step`` samples; each is multiplied by the
    window and transformed along its length."""

    def __init__(self, onesided: bool) -> None:
        super().__init__()
        self.onesided = onesided

    def forward(
        self,
        signal: torch.Tensor,
        frame_step: torch.Tensor,
        window: torch.Tensor | None = None,
        frame_length: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if signal.dim() != 3:
            raise ValueError(f"STFT signal must have rank 3 [batch, length, 1 or 2], got shape {list(signal.shape)}")
        step = int(_scalar(frame_step, "frame_step"))
        if step <= 0:
            raise ValueError(f"STFT frame_step must be positive, got {step}")
        if window is not None and window.dim() != 1:
            raise ValueError(f"STFT window must have rank 1, got shape {list(window.shape)}")
        samples = signal.shape[1]
        if frame_length is not None:
            size = int(_scalar(frame_length, "frame_length"))
            if window is not None and window.shape[0] != size:
                raise ValueError(f"STFT window has {window.shape[0]} elements but frame_length is {size}")
        else:
            size = window.shape[0] if window is not None else samples
        if not 0 < size <= samples:
            raise ValueError(f"STFT frame length {size} must be in [1, {samples}] (the signal's length)")
        frames, real = _to_complex(signal, "STFT signal")
        frames = frames.unfold(1, size, step)  # [batch, frames, size]
        if window is not None:
            # A window computed from values (a HannWindow of frame_length) is real while a meta
            # forward's signal is meta.
            frames = frames * window.to(device=frames.device, dtype=_compute_dtype(signal.dtype))
        return _spectrum(frames, real, size, 2, inverse=False, onesided=self.onesided).to(signal.dtype)


class OnnxMelWeightMatrix(nn.Module, OnnxToTorchModule):
    """ONNX MelWeightMatrix; every input is read as a value. [dft_length // 2 + 1, num_mel_bins]
    triangular filters of peak 1: num_mel_bins + 2 points spaced evenly on the mel scale
    (mel(f) = 2595 log10(1 + f / 700)) from lower_edge_hertz to upper_edge_hertz, each mapped to the
    spectrogram bin floor((dft_length + 1) f / sample_rate); filter i rises from point i to point
    i + 1 and falls to point i + 2. The points are computed in double precision as onnxruntime
    computes them, since a bin index is a floor and the last bit can move it."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.dtype = dtype

    def forward(
        self,
        num_mel_bins: torch.Tensor,
        dft_length: torch.Tensor,
        sample_rate: torch.Tensor,
        lower_edge_hertz: torch.Tensor,
        upper_edge_hertz: torch.Tensor,
    ) -> torch.Tensor:
        mel_bins = int(_scalar(num_mel_bins, "num_mel_bins"))
        length = int(_scalar(dft_length, "dft_length"))
        rate = int(_scalar(sample_rate, "sample_rate"))
        lower = float(_scalar(lower_edge_hertz, "lower_edge_hertz"))
        upper = float(_scalar(upper_edge_hertz, "upper_edge_hertz"))
        if mel_bins < 0 or length <= 0 or rate <= 0:
            raise ValueError(
                f"MelWeightMatrix needs num_mel_bins >= 0, dft_length > 0 and sample_rate > 0, got {mel_bins}, "
                f"{length} and {rate}"
            )
        spectrogram_bins = length // 2 + 1
        if not 0 <= lower <= upper:
            raise ValueError(
                f"MelWeightMatrix needs 0 <= lower_edge_hertz <= upper_edge_hertz, got {lower} and {upper}"
            )
        for name, hertz in (("lower_edge_hertz", lower), ("upper_edge_hertz", upper)):
            if math.floor((length + 1) * hertz / rate) >= spectrogram_bins:
                raise ValueError(
                    f"MelWeightMatrix {name}={hertz} lies beyond the last of the {spectrogram_bins} spectrogram bins "
                    f"of dft_length={length} at sample_rate={rate}"
                )

        def mel(hertz: float) -> float:
            return 2595 * math.log10(1 + hertz / 700)

        low_mel = mel(lower)
        step = (mel(upper) - low_mel) / (mel_bins + 2)
        points = [
            math.floor((length + 1) * (700 * (10 ** ((low_mel + step * i) / 2595) - 1)) / rate)
            for i in range(mel_bins + 2)
        ]
        device = num_mel_bins.device
        edges = torch.tensor(points, dtype=torch.float64, device=device)
        left, centre, right = edges[:-2], edges[1:-1], edges[2:]
        j = torch.arange(spectrogram_bins, dtype=torch.float64, device=device).unsqueeze(1)
        # A filter whose left point is its centre is 1 there; the falling edge, written last in the
        # spec's loop, wins at the centre (where both are 1).
        rising = torch.where(centre > left, (j - left) / (centre - left).clamp(min=1), torch.ones_like(j))
        falling = (right - j) / (right - centre).clamp(min=1)
        weights = torch.where((j >= centre) & (j < right), falling,
                              torch.where((j >= left) & (j <= centre), rising, torch.zeros_like(j)))
        return weights.to(self.dtype)


def _window(op_type: str) -> Callable[[OnnxNode, OnnxGraph], OperationConverterResult]:
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        del graph
        periodic = _flag(node, "periodic", 1)
        return converted(node, OnnxCosineSumWindow(_WINDOWS[op_type], periodic, _output_dtype(node)))

    return convert


for _op_type in _WINDOWS:
    register(_op_type, 17, value_inputs=(0,))(_window(_op_type))


@register("DFT", 17, value_inputs=(1,))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    axis = node.attributes.get("axis", 1)
    return converted(node, OnnxDFT(axis, _flag(node, "inverse", 0), _flag(node, "onesided", 0)))


@register("DFT", 20, value_inputs=(1, 2))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    return converted(node, OnnxDFT(-2, _flag(node, "inverse", 0), _flag(node, "onesided", 0)))


@register("STFT", 17, value_inputs=(1, 3))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    return converted(node, OnnxSTFT(_flag(node, "onesided", 1)))


@register("MelWeightMatrix", 17, value_inputs=(0, 1, 2, 3, 4))
def _(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    del graph
    return converted(node, OnnxMelWeightMatrix(_output_dtype(node)))
