"""The signal operators (HannWindow, HammingWindow, BlackmanWindow, DFT, STFT, MelWeightMatrix)
against onnxruntime, and against onnx's reference evaluator where onnxruntime refuses what the spec
allows or lacks the type.

Sizes, lengths, steps and axes are initializers (read as values, real even when weightless); the
signal is a graph input and STFT's window an initializer, so the weightless meta forward sees both
as meta tensors.

onnxruntime transforms lengths that are not powers of two with a float32 chirp-z (Bluestein)
algorithm that loses about 1e-6 relative to the values' scale (up to 2e-5 on spectra of magnitude 10);
torch's pocketfft and the float64 reference agree to within 1e-6. Those comparisons are made at
1e-4 against onnxruntime and at 1e-5 against the reference evaluator.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.conftest import make_model
from tests.converter_checks import check_converter, conversion_refused, reference_outputs

F = TensorProto.FLOAT


def _model(op_type, inputs, output_type, *, signal=None, constants=None, opset=17, **attributes) -> onnx.ModelProto:
    """One node. ``signal``: (name, array) of the graph input; ``constants``: name -> array,
    initializers; ``inputs`` lists the node's inputs ('' for a skipped one)."""
    graph_inputs = [] if signal is None else [helper.make_tensor_value_info(
        signal[0], helper.np_dtype_to_tensor_dtype(signal[1].dtype), list(signal[1].shape))]
    initializers = [numpy_helper.from_array(np.asarray(value), name) for name, value in (constants or {}).items()]
    return make_model(
        [helper.make_node(op_type, list(inputs), ["y"], name="node", **attributes)],
        graph_inputs,
        [helper.make_tensor_value_info("y", output_type, None)],
        initializers,
        opset=opset,
    )


def _run(model: onnx.ModelProto, *inputs: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return ow.convert(model, with_weights=True, strict=True)(*[torch.from_numpy(x) for x in inputs])


def _power_of_two(length: int) -> bool:
    return length & (length - 1) == 0


# ---------------------------------------------------------------------------------------- windows

@pytest.mark.parametrize("op_type", ["HannWindow", "HammingWindow", "BlackmanWindow"])
@pytest.mark.parametrize("periodic", [1, 0])
def test_windows_are_the_spec_cosine_sums(op_type, periodic):
    model = _model(op_type, ["size"], F, constants={"size": np.array(10, np.int64)}, periodic=periodic)
    check_converter(model, {})


@pytest.mark.parametrize("op_type", ["HannWindow", "BlackmanWindow"])
def test_periodic_defaults_to_1(op_type):
    """A periodic window of N points is the first N of a symmetric window of N + 1."""
    size = {"size": np.array(9, np.int32)}
    default = _run(_model(op_type, ["size"], F, constants=size))
    longer = _run(_model(op_type, ["size"], F, constants={"size": np.array(10, np.int32)}, periodic=0))
    torch.testing.assert_close(default, longer[:9], atol=1e-6, rtol=1e-6)
    check_converter(_model(op_type, ["size"], F, constants=size), {})


def test_hamming_window_uses_alpha_25_over_46():
    """ONNX's Hamming window is 25/46 - 21/46 cos(2 pi n / N), not torch's 0.54 - 0.46 cos(...)."""
    window = _run(_model("HammingWindow", ["size"], TensorProto.DOUBLE, constants={"size": np.array(8, np.int64)},
                         output_datatype=TensorProto.DOUBLE))
    assert window[0].item() == pytest.approx(4 / 46, abs=1e-7)
    assert window[4].item() == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("output_type", [TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.INT64, TensorProto.INT32,
                                         TensorProto.UINT8, TensorProto.INT8])
@pytest.mark.parametrize("op_type", ["HammingWindow", "BlackmanWindow"])
def test_window_output_datatype_casts_the_window(op_type, output_type):
    """Integer types truncate: only a symmetric window's peak of exactly 1 survives."""
    model = _model(op_type, ["size"], output_type, constants={"size": np.array(9, np.int64)}, periodic=0,
                   output_datatype=output_type)
    check_converter(model, {}, atol=1e-3 if output_type == TensorProto.FLOAT16 else 1e-5)


def test_window_output_datatype_bfloat16():
    """onnxruntime cannot hand out bfloat16; the reference evaluator computes in bfloat16 throughout,
    this module in float64: a few bfloat16 units (2**-8 relative) apart."""
    model = _model("HannWindow", ["size"], TensorProto.BFLOAT16, constants={"size": np.array(10, np.int64)},
                   output_datatype=TensorProto.BFLOAT16)
    got = _run(model)
    expected = reference_outputs(model, {}, use_onnxruntime=False)[0]
    assert expected.dtype == ml_dtypes.bfloat16 and got.dtype == torch.bfloat16
    np.testing.assert_allclose(got.float().numpy(), expected.astype(np.float32), atol=1e-2)


@pytest.mark.parametrize("periodic", [0, 1])
def test_a_window_of_one_point(periodic):
    """A symmetric window of one point divides 0 by 0 (NaN, as onnxruntime gives)."""
    model = _model("BlackmanWindow", ["size"], F, constants={"size": np.array(1, np.int64)}, periodic=periodic)
    check_converter(model, {})


def test_a_window_of_no_points_is_an_error():
    """onnx's shape inference requires a positive size."""
    model = _model("HannWindow", ["size"], F, constants={"size": np.array(0, np.int64)})
    with pytest.raises(ValueError, match=r"window size must be positive, got 0"):
        _run(model)


@pytest.mark.parametrize("attribute, value, match", [
    ("periodic", 2, r"periodic=2"),
    ("output_datatype", TensorProto.BOOL, r"output_datatype=BOOL"),
    ("output_datatype", TensorProto.COMPLEX64, r"output_datatype=COMPLEX64"),
])
def test_window_attributes_outside_the_spec_are_refused(attribute, value, match):
    model = _model("HannWindow", ["size"], F, constants={"size": np.array(4, np.int64)}, **{attribute: value})
    with conversion_refused(match):
        ow.convert(model, with_weights=True, strict=True)


# -------------------------------------------------------------------------------------------- DFT

def _dft_model(shape, opset, *, dft_length=None, axis=None, dtype=np.float32, **attributes):
    x = np.random.default_rng(len(shape) + sum(shape)).standard_normal(shape).astype(dtype)
    inputs, constants = ["x", ""], {}
    if dft_length is not None:
        inputs[1] = "dft_length"
        constants["dft_length"] = np.array(dft_length, np.int64)
    if axis is not None and opset >= 20:
        inputs.append("axis")
        constants["axis"] = np.array(axis, np.int64)
    elif axis is not None:
        attributes["axis"] = axis
    while inputs[-1] == "":
        inputs.pop()
    output_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    return _model("DFT", inputs, output_type, signal=("x", x), constants=constants, opset=opset, **attributes), x


_DFT_CASES = [
    # (shape, keyword arguments): the transformed length decides the tolerance against onnxruntime
    pytest.param((2, 8, 1), {"axis": 1}, id="real"),
    pytest.param((2, 8, 2), {"axis": 1}, id="complex"),
    pytest.param((2, 16, 1), {"axis": 1, "onesided": 1}, id="rfft"),
    pytest.param((2, 9, 1), {"axis": 1, "onesided": 1}, id="rfft-odd-length"),
    pytest.param((2, 8, 2), {"axis": 1, "inverse": 1}, id="inverse"),
    pytest.param((2, 8, 1), {"axis": 1, "inverse": 1}, id="inverse-of-real"),
    pytest.param((2, 5, 2), {"axis": 1, "inverse": 1, "onesided": 1}, id="irfft"),
    pytest.param((2, 5, 2), {"axis": 1, "inverse": 1, "onesided": 1, "dft_length": 9}, id="irfft-odd-length"),
    pytest.param((2, 6, 2), {"axis": 1, "dft_length": 16}, id="zero-padded"),
    pytest.param((2, 12, 2), {"axis": 1, "dft_length": 8}, id="truncated"),
    pytest.param((2, 12, 1), {"axis": 1, "dft_length": 7, "onesided": 1}, id="rfft-truncated"),
    pytest.param((2, 12, 2), {"axis": 1, "dft_length": 7, "inverse": 1}, id="inverse-truncated"),
    pytest.param((3, 4, 8, 2), {"axis": 2}, id="inner-axis"),
    pytest.param((3, 4, 8, 2), {"axis": -3}, id="negative-axis"),
    pytest.param((4, 3, 8, 2), {"axis": 0}, id="batch-axis"),
    pytest.param((3, 8, 5, 1), {"axis": -3, "onesided": 1}, id="rfft-negative-axis"),
    pytest.param((2, 6, 5, 2), {"axis": 1, "onesided": 1, "inverse": 1}, id="irfft-middle-axis"),
    pytest.param((8, 1), {"axis": 0}, id="rank-2"),
    pytest.param((2, 10, 2), {"axis": 1}, id="non-power-of-2"),
]


def _dft_tolerance(shape, arguments) -> float:
    axis = arguments.get("axis", -2) % len(shape)
    length = arguments.get("dft_length")
    if length is None:
        bins = shape[axis]
        length = 2 * (bins - 1) if arguments.get("inverse") and arguments.get("onesided") else bins
    return 1e-5 if _power_of_two(length) else 1e-4


@pytest.mark.parametrize("opset", [17, 20])
@pytest.mark.parametrize("shape, arguments", _DFT_CASES)
def test_dft_matches_onnxruntime(opset, shape, arguments):
    model, x = _dft_model(shape, opset, **arguments)
    tolerance = _dft_tolerance(shape, arguments)
    check_converter(model, {"x": x}, atol=tolerance, rtol=tolerance)
    if tolerance > 1e-5:
        check_converter(model, {"x": x}, use_onnxruntime=False)


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-10), (np.float16, 1e-2)])
@pytest.mark.parametrize("opset", [17, 20])
def test_dft_keeps_the_input_type(opset, dtype, tolerance):
    """float16 is transformed in float32 (torch.fft has no CPU half kernel) and rounded back."""
    model, x = _dft_model((2, 8, 2), opset, axis=1, dtype=dtype)
    check_converter(model, {"x": x}, atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("opset, axis", [(17, 1), (20, -2)])
def test_dft_axis_defaults(opset, axis):
    """DFT-17's axis attribute defaults to 1; DFT-20's axis input, when omitted, to -2."""
    model, x = _dft_model((3, 4, 8, 2), opset)
    check_converter(model, {"x": x})
    axis_model, _ = _dft_model((3, 4, 8, 2), opset, axis=axis)
    torch.testing.assert_close(_run(model, x), _run(axis_model, x), atol=0, rtol=0)


@pytest.mark.parametrize("shape, arguments", [
    # onnxruntime refuses a forward one-sided transform of complex input and an IRFFT of real input;
    # the spec allows them, and the reference keeps the first bins of the full transform.
    pytest.param((2, 8, 2), {"axis": 1, "onesided": 1}, id="onesided-complex"),
    pytest.param((2, 5, 1), {"axis": 1, "onesided": 1, "inverse": 1}, id="irfft-of-real"),
    # An IRFFT of length n reads the first n // 2 + 1 bins (zero-padded); onnxruntime reads others
    # for lengths other than 2 * (bins - 1), 2 * bins - 1 and 2 * (bins - 2).
    pytest.param((2, 8, 2), {"axis": 1, "onesided": 1, "inverse": 1, "dft_length": 10}, id="irfft-shorter"),
    pytest.param((2, 8, 2), {"axis": 1, "onesided": 1, "inverse": 1, "dft_length": 20}, id="irfft-longer"),
])
@pytest.mark.parametrize("opset", [17, 20])
def test_dft_cases_onnxruntime_refuses_follow_the_reference(opset, shape, arguments):
    model, x = _dft_model(shape, opset, **arguments)
    check_converter(model, {"x": x}, use_onnxruntime=False)


@pytest.mark.parametrize("opset", [17, 20])
def test_dft_of_the_component_axis_is_an_error(opset):
    model, x = _dft_model((2, 8, 2), opset, axis=-1)
    with pytest.raises(ValueError, match=r"DFT axis -1 is out of range for an input of rank 3"):
        _run(model, x)


@pytest.mark.parametrize("attribute", ["inverse", "onesided"])
def test_dft_flags_other_than_0_or_1_are_refused(attribute):
    model, _ = _dft_model((2, 8, 2), 20, **{attribute: 2})
    with conversion_refused(rf"DFT {attribute}=2"):
        ow.convert(model, with_weights=True, strict=True)


# ------------------------------------------------------------------------------------------- STFT

def _stft_model(signal_shape, frame_step, *, window=None, frame_length=None, dtype=np.float32, **attributes):
    rng = np.random.default_rng(sum(signal_shape) + frame_step)
    signal = rng.standard_normal(signal_shape).astype(dtype)
    inputs, constants = ["signal", "frame_step", "", ""], {"frame_step": np.array(frame_step, np.int64)}
    if window is not None:
        inputs[2] = "window"
        constants["window"] = (0.5 + rng.random(window)).astype(dtype)
    if frame_length is not None:
        inputs[3] = "frame_length"
        constants["frame_length"] = np.array(frame_length, np.int64)
    while inputs[-1] == "":
        inputs.pop()
    output_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    return _model("STFT", inputs, output_type, signal=("signal", signal), constants=constants, **attributes), signal


@pytest.mark.parametrize("signal_shape, frame_step, arguments", [
    pytest.param((2, 40, 1), 4, {"window": 16}, id="window"),
    pytest.param((2, 40, 1), 4, {"window": 16, "onesided": 0}, id="window-two-sided"),
    pytest.param((2, 41, 2), 5, {"window": 8, "onesided": 0}, id="complex"),
    pytest.param((2, 41, 2), 5, {"window": 8}, id="complex-onesided"),
    pytest.param((1, 64, 1), 8, {"frame_length": 16}, id="frame-length"),
    pytest.param((1, 64, 1), 8, {"window": 16, "frame_length": 16}, id="window-and-frame-length"),
    pytest.param((3, 50, 1), 7, {"window": 12}, id="window-non-power-of-2"),
    pytest.param((2, 16, 1), 3, {"window": 16}, id="one-frame"),
])
def test_stft_matches_onnxruntime(signal_shape, frame_step, arguments):
    """floor((length - frame_length) / frame_step) + 1 frames of the windowed signal, each
    transformed; the window is a weight-like initializer, meta when weightless."""
    model, signal = _stft_model(signal_shape, frame_step, **arguments)
    tolerance = 1e-5 if _power_of_two(arguments.get("frame_length") or arguments["window"]) else 1e-4
    check_converter(model, {"signal": signal}, atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-10), (np.float16, 1e-2)])
def test_stft_keeps_the_signal_type(dtype, tolerance):
    model, signal = _stft_model((2, 40, 1), 4, window=16, dtype=dtype)
    check_converter(model, {"signal": signal}, atol=tolerance, rtol=tolerance)


def test_stft_frame_length_defaults_to_the_signal_length():
    """Without window and frame_length, one frame spans the whole signal (onnxruntime fails to size
    its output here; the reference follows the spec)."""
    model, signal = _stft_model((2, 16, 1), 4)
    check_converter(model, {"signal": signal}, use_onnxruntime=False)
    assert _run(model, signal).shape == (2, 1, 9, 2)


def test_stft_window_must_have_frame_length_elements():
    model, signal = _stft_model((2, 40, 1), 4, window=16, frame_length=12)
    with pytest.raises(ValueError, match=r"window has 16 elements but frame_length is 12"):
        _run(model, signal)


def test_stft_onesided_other_than_0_or_1_is_refused():
    model, _ = _stft_model((2, 40, 1), 4, window=16, onesided=3)
    with conversion_refused(r"STFT onesided=3"):
        ow.convert(model, with_weights=True, strict=True)


# -------------------------------------------------------------------------------- MelWeightMatrix

def _mel_model(mel_bins, dft_length, sample_rate, lower, upper, *, integer=np.int64, hertz=np.float32,
               output_type=F) -> onnx.ModelProto:
    names = ["num_mel_bins", "dft_length", "sample_rate", "lower_edge_hertz", "upper_edge_hertz"]
    values = [np.array(mel_bins, integer), np.array(dft_length, integer), np.array(sample_rate, integer),
              np.array(lower, hertz), np.array(upper, hertz)]
    attributes = {} if output_type == F else {"output_datatype": output_type}
    return _model("MelWeightMatrix", names, output_type, constants=dict(zip(names, values)), **attributes)


@pytest.mark.parametrize("mel_bins, dft_length, sample_rate, lower, upper", [
    (8, 16, 8192, 0.0, 4096.0),      # the spec's example: one bin per filter point
    (20, 512, 16000, 20.0, 7999.0),  # wide triangles, rising and falling over several bins
    (40, 255, 22050, 300.0, 4000.0),  # odd dft_length; filters narrower than a bin start and end at one point
    (5, 64, 8000, 300.0, 1000.0),
    (1, 16, 8000, 0.0, 1000.0),
])
def test_mel_weight_matrix_matches_onnxruntime(mel_bins, dft_length, sample_rate, lower, upper):
    check_converter(_mel_model(mel_bins, dft_length, sample_rate, lower, upper), {})


@pytest.mark.parametrize("output_type", [TensorProto.DOUBLE, TensorProto.INT32, TensorProto.UINT8])
def test_mel_weight_matrix_output_datatype_and_int32_inputs(output_type):
    model = _mel_model(20, 512, 16000, 20.0, 7999.0, integer=np.int32, output_type=output_type)
    check_converter(model, {})


@pytest.mark.parametrize("hertz", [np.float16, np.float64])
def test_mel_weight_matrix_float16_output_and_other_hertz_types_follow_the_reference(hertz):
    """onnxruntime has only float hertz and no float16 output."""
    model = _mel_model(10, 128, 8000, 0.0, 2000.0, hertz=hertz, output_type=TensorProto.FLOAT16)
    check_converter(model, {}, use_onnxruntime=False)


def test_mel_weight_matrix_edges_beyond_the_spectrogram_are_an_error():
    model = _mel_model(8, 16, 8000, 0.0, 4000.0)  # 4000 Hz maps to bin 8 of 0..8; 4500 to bin 9
    _run(model)
    with pytest.raises(ValueError, match=r"upper_edge_hertz=4500.0 lies beyond the last of the 9 spectrogram bins"):
        _run(_mel_model(8, 16, 8000, 0.0, 4500.0))


def test_mel_weight_matrix_output_datatype_outside_the_spec_is_refused():
    with conversion_refused(r"MelWeightMatrix output_datatype=STRING"):
        ow.convert(_mel_model(8, 16, 8000, 0.0, 4000.0, output_type=TensorProto.STRING), with_weights=True, strict=True)


# ----------------------------------------------------------------------------------------- together

def test_a_mel_spectrogram():
    """HannWindow -> STFT -> power -> MatMul with MelWeightMatrix, as audio front ends export it;
    the window the STFT reads is computed from a value, so it is real in the meta forward too."""
    constants = {
        "frame_length": np.array(32, np.int64), "frame_step": np.array(16, np.int64),
        "mel_bins": np.array(10, np.int64), "sample_rate": np.array(16000, np.int64),
        "lower": np.array(0.0, np.float32), "upper": np.array(8000.0, np.float32), "last": np.array([-1], np.int64),
    }
    nodes = [
        helper.make_node("HannWindow", ["frame_length"], ["window"]),
        helper.make_node("STFT", ["signal", "frame_step", "window", "frame_length"], ["spectrum"]),
        helper.make_node("Mul", ["spectrum", "spectrum"], ["squares"]),
        helper.make_node("ReduceSum", ["squares", "last"], ["power"], keepdims=0),
        helper.make_node("MelWeightMatrix", ["mel_bins", "frame_length", "sample_rate", "lower", "upper"], ["mel"]),
        helper.make_node("MatMul", ["power", "mel"], ["y"]),
    ]
    model = make_model(nodes, [helper.make_tensor_value_info("signal", F, [2, 160, 1])],
                       [helper.make_tensor_value_info("y", F, [2, 9, 10])],
                       [numpy_helper.from_array(value, name) for name, value in constants.items()])
    signal = np.random.default_rng(0).standard_normal((2, 160, 1)).astype(np.float32)
    check_converter(model, {"signal": signal}, atol=1e-4, rtol=1e-5)
