"""Newer versions of ops onnx2torch converts at an older version: the type-only aliases of
versions.py, and the converters for versions whose semantics changed (Reduce*, Pad, Split, Resize,
AveragePool, Cast, Reshape allowzero, ScatterND, Range).

Each model sets the opset at which the version under test is in force, and goes through
check_converter (with weights against onnxruntime, or onnx's reference evaluator where onnxruntime
has no kernel for that version; weightless state and meta forward).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import TensorProto, defs, helper, numpy_helper

import onnx_weightless as ow
from onnx_weightless._converters import lookup
from onnx_weightless._converters.versions import ALIASES, OLDER
from tests.conftest import make_model
from tests.converter_checks import check_converter, conversion_refused

F = TensorProto.FLOAT


def _model(op: str, feeds: dict, constants: dict, opset: int, outputs=("y",), out_type: int = F, order=None, **attrs):
    """One ``op`` node; ``feeds`` are graph inputs, ``constants`` initializers; inputs in ``order``
    ("" skips an optional one), by default feeds then constants."""
    names = order if order is not None else list(feeds) + list(constants)
    node = helper.make_node(op, names, list(outputs), name="n", **attrs)
    model = make_model(
        [node],
        [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape) for k, v in feeds.items()],
        [helper.make_tensor_value_info(o, out_type, None) for o in outputs],
        [numpy_helper.from_array(v, k) for k, v in constants.items()],
        opset=opset,
    )
    model.ir_version = 10
    return model


def _onnxruntime_runs(model: onnx.ModelProto) -> bool:
    try:
        onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - no kernel for this op version: use onnx's reference
        return False
    return True


def _check(model: onnx.ModelProto, feeds: dict, atol: float = 1e-5, reference: bool = False):
    return check_converter(model, feeds, atol=atol, use_onnxruntime=not reference and _onnxruntime_runs(model))


def _signature(schema) -> tuple:
    return (
        sorted(schema.attributes),
        [(i.name, i.option) for i in schema.inputs],
        [(o.name, o.option) for o in schema.outputs],
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


# --- versions.py aliases --------------------------------------------------------------------------


def _assert_served(op_type: str, serving: int, versions: tuple[int, ...], same_attributes: bool) -> None:
    """Each of ``versions`` has the serving version's inputs and outputs, its attributes (or, with
    ``same_attributes`` False, a subset of them) with the same defaults, and our registration."""
    base = defs.get_schema(op_type, serving, "")
    assert base.since_version == serving
    for version in versions:
        schema = defs.get_schema(op_type, version, "")
        assert schema.since_version == version
        assert _signature(schema)[1:] == _signature(base)[1:], (op_type, version)
        if same_attributes:
            assert set(schema.attributes) == set(base.attributes), (op_type, version)
        assert set(schema.attributes) <= set(base.attributes), (op_type, version)
        for attribute, spec in schema.attributes.items():
            assert spec.default_value == base.attributes[attribute].default_value, (op_type, version, attribute)
        assert lookup("", op_type, version).source == "onnx-weightless"


@pytest.mark.parametrize("op_type", sorted(ALIASES))
def test_aliases_only_add_types(op_type):
    _assert_served(op_type, *ALIASES[op_type], same_attributes=True)


@pytest.mark.parametrize("op_type", sorted(OLDER))
def test_older_versions_take_a_subset_of_the_attributes(op_type):
    _assert_served(op_type, *OLDER[op_type], same_attributes=False)


def test_every_later_version_is_covered():
    """Every ai.onnx version newer than onnx2torch's newest for an op it converts has a converter."""
    from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY

    newest: dict[str, int] = {}
    for key in _CONVERTER_REGISTRY:
        if key.domain in ("", "ai.onnx"):
            newest[key.operation_type] = max(newest.get(key.operation_type, 0), key.version)
    versions = {(s.name, s.since_version) for s in defs.get_all_schemas_with_history() if s.domain == ""}
    missing = sorted((op, v) for op, v in versions if op in newest and v > newest[op] and lookup("", op, v).converter is None)
    assert missing == []


@pytest.mark.parametrize(
    "op_type, opset, attrs",
    [
        ("Cos", 22, {}),
        ("Atan", 22, {}),
        ("Celu", 28, {"alpha": 0.5}),
        ("Elu", 22, {"alpha": 0.7}),
        ("HardSigmoid", 22, {"alpha": 0.3, "beta": 0.4}),
        ("HardSwish", 22, {}),
        ("Round", 22, {}),
        ("Selu", 22, {}),
        ("Softplus", 22, {}),
        ("Softsign", 22, {}),
        ("Identity", 25, {}),
        ("Flatten", 25, {"axis": 2}),
        ("Transpose", 25, {"perm": [2, 0, 1]}),
        ("Shape", 25, {"start": 1}),
        ("IsNaN", 20, {}),
        ("IsInf", 20, {}),
    ],
)
def test_alias_unary(op_type, opset, attrs, rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    if op_type in ("IsNaN", "IsInf"):
        x[0, 0, :2] = [np.nan, np.inf]
    out_type = {"Shape": TensorProto.INT64, "IsNaN": TensorProto.BOOL, "IsInf": TensorProto.BOOL}.get(op_type, F)
    _check(_model(op_type, {"x": x}, {}, opset, out_type=out_type, **attrs), {"x": x})


def test_alias_conv_22(rng):
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    _check(_model("Conv", {"x": x}, {"w": w}, 22, pads=[1, 1, 1, 1]), {"x": x}, atol=1e-4)


@pytest.mark.parametrize("op_type", ["Squeeze", "Unsqueeze"])
def test_alias_squeeze_unsqueeze_25(op_type, rng):
    x = rng.standard_normal((2, 1, 3)).astype(np.float32)
    _check(_model(op_type, {"x": x}, {"axes": np.array([1], np.int64)}, 25), {"x": x})


def test_alias_topk_24(rng):
    x = rng.standard_normal((3, 6)).astype(np.float32)
    model = _model("TopK", {"x": x}, {"k": np.array([2], np.int64)}, 24, outputs=("v", "i"))
    model.graph.output[1].type.tensor_type.elem_type = TensorProto.INT64
    _check(model, {"x": x})


# --- Reduce* ----------------------------------------------------------------------------------------

_REDUCE_OPS = ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
               "ReduceProd", "ReduceSumSquare"]


@pytest.mark.parametrize("op_type", _REDUCE_OPS)
@pytest.mark.parametrize(
    "axes, keepdims, noop",
    [([1], 1, 0), ([0, -1], 0, 0), (None, 1, 0), (None, 0, 0), ([], 0, 0), (None, 1, 1), ([], 0, 1)],
)
def test_reduce_18(op_type, axes, keepdims, noop, rng):
    x = rng.uniform(0.5, 1.5, (2, 3, 4)).astype(np.float32)
    constants = {} if axes is None else {"axes": np.array(axes, np.int64)}
    model = _model(op_type, {"x": x}, constants, 18, keepdims=keepdims, noop_with_empty_axes=noop)
    _check(model, {"x": x}, atol=1e-5)


@pytest.mark.parametrize("op_type", ["ReduceMax", "ReduceMin"])
def test_reduce_20_bool(op_type):
    x = np.array([[True, False, False], [False, False, False]])
    model = _model(op_type, {"x": x}, {"axes": np.array([1], np.int64)}, 20, out_type=TensorProto.BOOL, keepdims=0)
    _check(model, {"x": x}, reference=True)


@pytest.mark.parametrize("op_type", ["ReduceLogSum", "ReduceLogSumExp"])
def test_reduce_28(op_type, rng):
    x = rng.uniform(0.5, 1.5, (2, 3)).astype(np.float32)
    _check(_model(op_type, {"x": x}, {"axes": np.array([0], np.int64)}, 28), {"x": x})


@pytest.mark.parametrize("op_type", ["ReduceMean", "ReduceSumSquare", "ReduceMax", "ReduceProd"])
def test_reduce_integer(op_type):
    x = np.arange(1, 13, dtype=np.int32).reshape(3, 4)
    model = _model(op_type, {"x": x}, {"axes": np.array([1], np.int64)}, 18, out_type=TensorProto.INT32)
    _check(model, {"x": x})


@pytest.mark.parametrize("op_type", ["ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_reduce_extremum_of_nothing(op_type, dtype):
    x = np.zeros((2, 0, 3), dtype)
    model = _model(op_type, {"x": x}, {"axes": np.array([1], np.int64)}, 20,
                   out_type=helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    _check(model, {"x": x}, reference=True)


def test_reduce_axes_computed_at_run_time(rng):
    """Axes from a graph input: read in forward."""
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    axes = np.array([2], np.int64)
    model = _model("ReduceMean", {"x": x, "axes": axes}, {}, 18, keepdims=0)
    gm = ow.convert(model, with_weights=True, strict=True)
    np.testing.assert_allclose(gm(torch.from_numpy(x), torch.from_numpy(axes)).numpy(), x.mean(2), rtol=1e-6)


# --- Pad -------------------------------------------------------------------------------------------


# wrap is a Pad-19 mode; onnxruntime crops (negative pads) only in constant mode.
PAD_CASES = [
    (opset, mode, pads, axes)
    for opset in (18, 19, 25)
    for mode in ("constant", "reflect", "edge", "wrap")
    for pads, axes in (([1, 0, 2, 2, 1, 0], None), ([0, 2, 1, 1], [0, -1]), ([2, -1], [1]), ([1, 0, 0, 0, 0, 1], None))
    if not (mode == "wrap" and opset == 18) and (mode == "constant" or min(pads) >= 0)
]


@pytest.mark.parametrize("opset, mode, pads, axes", PAD_CASES)
def test_pad(opset, mode, pads, axes, rng):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    constants = {"pads": np.array(pads, np.int64), "value": np.array(1.5, np.float32)}
    order = ["x", "pads", "value" if mode == "constant" else ""]
    if axes is not None:
        constants["axes"] = np.array(axes, np.int64)
        order.append("axes")
    _check(_model("Pad", {"x": x}, constants, opset, order=order, mode=mode), {"x": x})


def test_pad_18_rejects_wrap(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    model = _model("Pad", {"x": x}, {"pads": np.array([1, 1, 1, 1], np.int64)}, 18, mode="wrap")
    with conversion_refused(r"Pad-18 mode='wrap'"):
        ow.convert(model, with_weights=True)


# --- Split -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "length, num_outputs, split, outputs",
    [(7, 3, None, 3), (8, 4, None, 4), (7, None, [2, 5], 2), (6, None, None, 3), (5, 1, None, 1)],
)
def test_split_18(length, num_outputs, split, outputs, rng):
    x = rng.standard_normal((2, length)).astype(np.float32)
    attrs = {"axis": -1} | ({"num_outputs": num_outputs} if num_outputs else {})
    constants = {"split": np.array(split, np.int64)} if split else {}
    names = tuple(f"y{i}" for i in range(outputs))
    _check(_model("Split", {"x": x}, constants, 18, outputs=names, **attrs), {"x": x})


# --- Resize ----------------------------------------------------------------------------------------


def _resize(x, opset, scales=None, sizes=None, roi=None, **attrs):
    constants = {}
    order = ["x", "", "", ""]
    for position, (name, value) in enumerate((("roi", roi), ("scales", scales), ("sizes", sizes)), 1):
        if value is not None:
            constants[name] = np.array(value, np.int64 if name == "sizes" else np.float32)
            order[position] = name
    while order[-1] == "":
        order.pop()
    return _model("Resize", {"x": x}, constants, opset, order=order, **attrs)


@pytest.mark.parametrize("opset", [13, 18, 19])
@pytest.mark.parametrize("nearest_mode", ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"])
@pytest.mark.parametrize("coordinate_mode", ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"])
@pytest.mark.parametrize("scales", [[1, 1, 2.0, 3.0], [1, 1, 0.5, 0.75]])
def test_resize_nearest(opset, nearest_mode, coordinate_mode, scales, rng):
    """Scales are exact binary fractions: onnxruntime computes coordinates in float32, the reference
    (and this converter) in float64, which can round a near-tie the other way."""
    x = rng.standard_normal((1, 2, 6, 8)).astype(np.float32)
    model = _resize(x, opset, scales=scales, mode="nearest", nearest_mode=nearest_mode,
                    coordinate_transformation_mode=coordinate_mode)
    _check(model, {"x": x})


@pytest.mark.parametrize("opset", [11, 18, 19])
@pytest.mark.parametrize("mode", ["linear", "cubic"])
@pytest.mark.parametrize("coordinate_mode", ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"])
@pytest.mark.parametrize("scales", [[1, 1, 2.0, 1.5], [1, 1, 0.5, 0.75]])
def test_resize_linear_cubic(opset, mode, coordinate_mode, scales, rng):
    x = rng.standard_normal((1, 2, 6, 8)).astype(np.float32)
    model = _resize(x, opset, roi=[] if opset == 11 else None, scales=scales, mode=mode,
                    coordinate_transformation_mode=coordinate_mode)
    _check(model, {"x": x}, atol=1e-5)


@pytest.mark.parametrize("mode", ["linear", "cubic"])
@pytest.mark.parametrize("sizes", [[1, 2, 3, 5], [1, 2, 12, 7]])
def test_resize_antialias(mode, sizes, rng):
    x = rng.standard_normal((1, 2, 9, 8)).astype(np.float32)
    model = _resize(x, 18, sizes=sizes, mode=mode, antialias=1)
    _check(model, {"x": x}, atol=1e-5)


@pytest.mark.parametrize("exclude_outside, cubic_coeff_a", [(1, -0.5), (0, -0.5), (1, -0.75)])
def test_resize_cubic_options(exclude_outside, cubic_coeff_a, rng):
    x = rng.standard_normal((1, 1, 5, 6)).astype(np.float32)
    model = _resize(x, 18, scales=[1, 1, 1.7, 0.8], mode="cubic", exclude_outside=exclude_outside,
                    cubic_coeff_a=cubic_coeff_a)
    _check(model, {"x": x})


@pytest.mark.parametrize("policy", ["stretch", "not_larger", "not_smaller"])
@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_resize_axes_and_policy(policy, mode, rng):
    x = rng.standard_normal((1, 6, 7, 3)).astype(np.float32)
    model = _resize(x, 18, sizes=[10, 12], axes=[1, 2], keep_aspect_ratio_policy=policy, mode=mode)
    _check(model, {"x": x})


@pytest.mark.parametrize("mode, axes", [("nearest", [-1, 1]), ("linear", [-2, -1])])
def test_resize_negative_axes(mode, axes, rng):
    """(onnxruntime and the reference both ignore negative axes under not_larger/not_smaller, and
    onnxruntime's linear mode only resizes some axis combinations.)"""
    x = rng.standard_normal((1, 6, 7, 3)).astype(np.float32)
    _check(_resize(x, 18, scales=[1.5, 0.5], axes=axes, mode=mode), {"x": x})


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
def test_resize_half_pixel_symmetric_19(mode, rng):
    x = rng.standard_normal((1, 1, 5, 7)).astype(np.float32)
    model = _resize(x, 19, scales=[1, 1, 1.3, 0.7], mode=mode, coordinate_transformation_mode="half_pixel_symmetric")
    _check(model, {"x": x})


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_resize_tf_crop_and_resize(mode, rng):
    x = rng.standard_normal((1, 1, 6, 6)).astype(np.float32)
    model = _resize(x, 18, roi=[-0.2, 0.15, 1.1, 0.8], sizes=[5, 4], axes=[2, 3], mode=mode,
                    coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=9.0)
    _check(model, {"x": x})


def test_resize_uint8(rng):
    x = rng.integers(0, 256, (1, 1, 4, 4), dtype=np.uint8)
    model = _resize(x, 18, scales=[1, 1, 1.5, 2.0], mode="linear")
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.UINT8
    _check(model, {"x": x}, atol=1)


def test_resize_rejections(rng):
    x = rng.standard_normal((1, 1, 4, 4)).astype(np.float32)
    for opset, attrs, message in [
        (18, {"coordinate_transformation_mode": "half_pixel_symmetric"}, "Resize-18 coordinate_transformation_mode"),
        (19, {"mode": "area"}, r"Resize-19 mode='area'"),
        (19, {"keep_aspect_ratio_policy": "fit"}, "keep_aspect_ratio_policy='fit'"),
    ]:
        model = _resize(x, opset, scales=[1, 1, 2.0, 2.0], **attrs)
        with conversion_refused(message):
            ow.convert(model, with_weights=True)


# --- AveragePool -------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [19, 22])
@pytest.mark.parametrize(
    "attrs",
    [
        {"kernel_shape": [3, 3], "dilations": [2, 2]},
        {"kernel_shape": [2, 3], "dilations": [2, 1], "strides": [2, 2], "pads": [1, 1, 1, 1]},
        {"kernel_shape": [2, 3], "dilations": [2, 1], "strides": [2, 2], "pads": [1, 1, 1, 1], "count_include_pad": 1},
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 1, 1, 0]},
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 1, 1, 0], "count_include_pad": 1},
        {"kernel_shape": [3, 2], "dilations": [1, 2], "strides": [2, 2], "pads": [1, 0, 1, 0], "ceil_mode": 1},
        {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1, "count_include_pad": 1},
        {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "SAME_UPPER"},
        {"kernel_shape": [2, 2], "strides": [1, 1], "auto_pad": "SAME_LOWER", "count_include_pad": 1},
        {"kernel_shape": [2, 2], "strides": [1, 1], "auto_pad": "VALID"},
        {"kernel_shape": [3, 3], "pads": [2, 2, 2, 2]},
    ],
)
def test_average_pool(opset, attrs, rng):
    x = rng.standard_normal((2, 3, 7, 8)).astype(np.float32)
    _check(_model("AveragePool", {"x": x}, {}, opset, **attrs), {"x": x})


def test_average_pool_1d_3d(rng):
    x = rng.standard_normal((1, 2, 9)).astype(np.float32)
    _check(_model("AveragePool", {"x": x}, {}, 19, kernel_shape=[3], dilations=[3]), {"x": x})
    x = rng.standard_normal((1, 2, 5, 6, 7)).astype(np.float32)
    _check(_model("AveragePool", {"x": x}, {}, 22, kernel_shape=[2, 2, 2], dilations=[1, 2, 2]), {"x": x})


# --- Cast ------------------------------------------------------------------------------------------


def _cast_chain(x: np.ndarray, opset: int, middle: int, **attrs) -> onnx.ModelProto:
    """x -> Cast(middle) -> Cast(float): float8 and bfloat16 values come back as floats."""
    nodes = [
        helper.make_node("Cast", ["x"], ["m"], name="to_middle", to=middle, **attrs),
        helper.make_node("Cast", ["m"], ["y"], name="back", to=F),
    ]
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, x.shape)],
                       [helper.make_tensor_value_info("y", F, x.shape)], opset=opset)
    model.ir_version = 10
    return model


_SPECIALS = np.array([0.0, -0.0, 0.3, -1.7, 100.0, 300.0, 460.0, 470.0, 1e5, 6e4, 1e6, np.inf, -np.inf, np.nan],
                     np.float32)
_FLOAT8 = [TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2, TensorProto.FLOAT8E5M2FNUZ]


@pytest.mark.parametrize("opset", [19, 21, 23, 24, 25])
@pytest.mark.parametrize("target", _FLOAT8)
@pytest.mark.parametrize("saturate", [0, 1])
def test_cast_float8(opset, target, saturate):
    x = _SPECIALS.reshape(2, 7)
    _check(_cast_chain(x, opset, target, saturate=saturate), {"x": x})


@pytest.mark.parametrize("saturate", [0, 1])
def test_cast_float8_to_float8(saturate):
    """e5m2 values beyond e4m3fnuz's range saturate (or become NaN)."""
    x = np.array([1.0, 300.0, -5e4, np.inf], np.float32)
    nodes = [
        helper.make_node("Cast", ["x"], ["a"], name="wide", to=TensorProto.FLOAT8E5M2),
        helper.make_node("Cast", ["a"], ["b"], name="narrow", to=TensorProto.FLOAT8E4M3FNUZ, saturate=saturate),
        helper.make_node("Cast", ["b"], ["y"], name="back", to=F),
    ]
    model = make_model(nodes, [helper.make_tensor_value_info("x", F, x.shape)],
                       [helper.make_tensor_value_info("y", F, x.shape)], opset=19)
    _check(model, {"x": x})


@pytest.mark.parametrize("opset", [13, 19, 25])
def test_cast_bfloat16(opset, rng):
    x = rng.standard_normal((3, 4)).astype(np.float32) * 100
    _check(_cast_chain(x, opset, TensorProto.BFLOAT16), {"x": x}, atol=0)


@pytest.mark.parametrize("opset", [19, 28])
@pytest.mark.parametrize("target, dtype", [(TensorProto.INT32, np.int32), (TensorProto.DOUBLE, np.float64),
                                           (TensorProto.BOOL, np.bool_), (TensorProto.FLOAT16, np.float16)])
def test_cast_plain(opset, target, dtype, rng):
    x = (rng.standard_normal((3, 4)) * 10).astype(np.float32)
    model = _model("Cast", {"x": x}, {}, opset, out_type=target, to=target)
    _check(model, {"x": x})


@pytest.mark.parametrize(
    "opset, target",
    [(21, TensorProto.INT4), (21, TensorProto.UINT4), (23, TensorProto.FLOAT4E2M1), (24, TensorProto.FLOAT8E8M0),
     (25, TensorProto.INT2), (28, TensorProto.FLOAT6E2M3), (19, TensorProto.STRING)],
)
def test_cast_rejects_types_torch_lacks(opset, target):
    x = np.zeros((2,), np.float32)
    model = _model("Cast", {"x": x}, {}, opset, out_type=target, to=target)
    name = TensorProto.DataType.Name(target)
    with conversion_refused(rf"Cast-{opset} to={name} is not supported"):
        ow.convert(model, with_weights=True)


# --- Reshape -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [14, 19, 21, 25])
@pytest.mark.parametrize(
    "shape, allowzero, x_shape",
    [([3, -1], 1, (3, 4)), ([0, 2, -1], 0, (3, 4)), ([0, 4], 1, (0, 3)), ([2, 0], 1, (0, 5)), ([-1], 1, (2, 3))],
)
def test_reshape_allowzero(opset, shape, allowzero, x_shape, rng):
    x = rng.standard_normal(x_shape).astype(np.float32)
    _check(_model("Reshape", {"x": x}, {"shape": np.array(shape, np.int64)}, opset, allowzero=allowzero), {"x": x})


# --- ScatterND -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "opset, reduction", [(11, None), (13, None), (16, "none"), (16, "add"), (16, "mul"), (18, "add"), (18, "max"),
                         (18, "min"), (18, "mul")]
)
def test_scatter_nd(opset, reduction, rng):
    data = rng.standard_normal((4, 3, 2)).astype(np.float32)
    indices = np.array([[[1, 2], [3, 0]], [[1, 2], [-4, 1]]], np.int64)  # a repeated and a negative index
    if reduction in (None, "none"):
        indices = np.array([[[1, 2], [3, 0]], [[0, 1], [-1, 1]]], np.int64)
    updates = rng.standard_normal((2, 2, 2)).astype(np.float32)
    attrs = {} if reduction is None else {"reduction": reduction}
    model = _model("ScatterND", {"data": data, "updates": updates}, {"indices": indices}, opset,
                   order=["data", "indices", "updates"], **attrs)
    _check(model, {"data": data, "updates": updates})


def test_scatter_nd_16_rejects_max(rng):
    data = np.zeros((3,), np.float32)
    model = _model("ScatterND", {"data": data, "updates": np.zeros((1,), np.float32)},
                   {"indices": np.array([[1]], np.int64)}, 16, order=["data", "indices", "updates"], reduction="max")
    with conversion_refused(r"ScatterND-16 reduction='max'"):
        ow.convert(model, with_weights=True)


# --- Range -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [11, 27])
@pytest.mark.parametrize(
    "start, limit, delta, dtype",
    [(3, 10, 3, np.int32), (10, 4, -2, np.int64), (0.5, 3.2, 0.7, np.float32), (1.0, -2.0, -0.25, np.float64),
     (5, 5, 1, np.int32)],
)
def test_range(opset, start, limit, delta, dtype):
    constants = {name: np.array(value, dtype) for name, value in (("start", start), ("limit", limit), ("delta", delta))}
    out_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    _check(_model("Range", {}, constants, opset, out_type=out_type), {})


@pytest.mark.parametrize("stash_type", [None, TensorProto.FLOAT, TensorProto.DOUBLE])
def test_range_27_float16(stash_type):
    constants = {name: np.array(value, np.float16) for name, value in (("start", 2000.0), ("limit", 2010.0), ("delta", 0.5))}
    attrs = {} if stash_type is None else {"stash_type": stash_type}
    _check(_model("Range", {}, constants, 27, out_type=TensorProto.FLOAT16, **attrs), {}, reference=True)


def test_range_27_rejects_stash_type():
    constants = {name: np.array(value, np.float16) for name, value in (("start", 0), ("limit", 3), ("delta", 1))}
    model = _model("Range", {}, constants, 27, out_type=TensorProto.FLOAT16, stash_type=TensorProto.FLOAT16)
    with conversion_refused("Range-27 stash_type=FLOAT16"):
        ow.convert(model, with_weights=True)


@pytest.mark.parametrize("opset", [11, 13, 18, 19])
@pytest.mark.parametrize("mode, nearest_mode", [("nearest", "floor"), ("nearest", "round_prefer_ceil"), ("linear", "floor")])
@pytest.mark.parametrize("scales", [[1, 1, 2.0, 3.0], [1, 1, 0.5, 0.75]])
def test_resize_tf_half_pixel_for_nn(opset, mode, nearest_mode, scales, rng):
    """Resize-11's tf_half_pixel_for_nn, x_original = (x_resized + 0.5) / scale: dropped from the
    spec at 13, but tf2onnx writes it there (with an empty roi, which Resize-11 requires) and
    onnxruntime computes it."""
    x = rng.standard_normal((1, 2, 6, 8)).astype(np.float32)
    model = _resize(x, opset, roi=[], scales=scales, mode=mode, nearest_mode=nearest_mode,
                    coordinate_transformation_mode="tf_half_pixel_for_nn")
    _check(model, {"x": x})


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("scales", [[1, 1, 2.0, 3.0], [1, 1, 2.5, 1.4], [1, 1, 0.6, 0.5], [1, 1, 0.75, 1.5]])
def test_resize_10_maps_coordinates_asymmetrically(mode, scales, rng):
    """Resize-10 as onnxruntime computes it: input position = output position / scale; nearest
    truncates on a growing axis and rounds up on a shrinking one."""
    x = rng.standard_normal((1, 2, 7, 9)).astype(np.float32)
    _check(_model("Resize", {"x": x}, {"scales": np.array(scales, np.float32)}, 10, mode=mode), {"x": x})


def test_resize_10_refuses_cubic(rng):
    x = rng.standard_normal((1, 1, 4, 4)).astype(np.float32)
    with conversion_refused("Resize-10 mode='cubic'"):
        ow.convert(_model("Resize", {"x": x}, {"scales": np.array([1, 1, 2, 2], np.float32)}, 10, mode="cubic"),
                   with_weights=True)
