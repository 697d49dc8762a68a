"""NegativeLogLikelihoodLoss (12, 13, 22) and SoftmaxCrossEntropyLoss (12, 13) against onnxruntime:
reductions, class weights, ignore_index (inside the classes, negative, beyond them), inputs of
rank 2 to 7, the optional log_prob output, and the element types the specs allow. bfloat16, for
which onnxruntime has no kernel, is compared with onnx's reference evaluator."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import onnx_weightless as ow
from onnx_weightless._converters import lookup
from tests.conftest import make_model
from tests.converter_checks import check_converter, conversion_refused, reference_outputs

F = TensorProto.FLOAT
NLL = "NegativeLogLikelihoodLoss"
SCE = "SoftmaxCrossEntropyLoss"


def _loss_model(
    op: str,
    scores: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    opset: int = 13,
    weight_initializer: bool = False,
    log_prob: bool = False,
    **attributes,
) -> onnx.ModelProto:
    """One loss node fed ``scores``, ``target`` and, if given, ``weight`` (a graph input, or an initializer)."""
    elem = helper.np_dtype_to_tensor_dtype(scores.dtype)
    inputs = [
        helper.make_tensor_value_info("scores", elem, scores.shape),
        helper.make_tensor_value_info("target", helper.np_dtype_to_tensor_dtype(target.dtype), target.shape),
    ]
    initializers = []
    names = ["scores", "target"]
    if weight is not None:
        names.append("weight")
        if weight_initializer:
            initializers.append(numpy_helper.from_array(weight, "weight"))
        else:
            inputs.append(helper.make_tensor_value_info("weight", elem, weight.shape))
    outputs = ["loss", "log_prob"] if log_prob else ["loss"]
    model = make_model(
        [helper.make_node(op, names, outputs, name="loss_node", **attributes)],
        inputs,
        [helper.make_tensor_value_info(name, elem, None) for name in outputs],
        initializers,
        opset=opset,
    )
    model.ir_version = 10
    return model


def _feeds(model: onnx.ModelProto, scores, target, weight=None) -> dict[str, np.ndarray]:
    given = {"scores": scores, "target": target, "weight": weight}
    return {value.name: given[value.name] for value in model.graph.input}


def _case(rng, shape, ignore_index=None, dtype=np.float32, target_dtype=np.int64):
    """Scores of ``shape`` (N, C, d1..dk) and valid targets; a third of them ``ignore_index`` if given."""
    scores = rng.standard_normal(shape).astype(dtype)
    target_shape = shape[:1] + shape[2:]
    target = rng.integers(0, shape[1], target_shape)
    if ignore_index is not None:
        target = np.where(rng.random(target_shape) < 1 / 3, ignore_index, target)
    weight = (rng.random(shape[1]) + 0.25).astype(dtype)
    return scores, target.astype(target_dtype), weight


@pytest.mark.parametrize("op", [NLL, SCE])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("ignore_index", [None, 1, -3], ids=["no_ii", "ii_a_class", "ii_negative"])
def test_reduction_weight_and_ignore_index_follow_onnxruntime(op, reduction, weighted, ignore_index, rng):
    scores, target, weight = _case(rng, (3, 4, 5), ignore_index=ignore_index)
    attributes = {"reduction": reduction} if ignore_index is None else {"reduction": reduction, "ignore_index": ignore_index}
    model = _loss_model(op, scores, target, weight if weighted else None, **attributes)
    check_converter(model, _feeds(model, scores, target, weight))


@pytest.mark.parametrize(("op", "opset", "version"), [
    (NLL, 12, 12), (NLL, 13, 13), (NLL, 21, 13), (NLL, 22, 22),
    (SCE, 12, 12), (SCE, 13, 13), (SCE, 22, 13),
])
def test_every_version_is_ours_and_follows_onnxruntime(op, opset, version, rng):
    entry = lookup("", op, opset)
    assert (entry.source, entry.op.version) == ("onnx-weightless", version)
    scores, target, weight = _case(rng, (2, 5, 3), ignore_index=4)
    model = _loss_model(op, scores, target, weight, opset=opset, reduction="mean", ignore_index=4)
    check_converter(model, _feeds(model, scores, target, weight))


@pytest.mark.parametrize("op", [NLL, SCE])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (2, 3, 2, 3), (2, 3, 2, 1, 2, 3, 2)], ids=lambda s: f"rank{len(s)}")
def test_inputs_of_any_rank_n_c_d1_to_dk(op, shape, rng):
    scores, target, weight = _case(rng, shape, ignore_index=0)
    for reduction in ("none", "mean"):
        model = _loss_model(op, scores, target, weight, reduction=reduction, ignore_index=0)
        check_converter(model, _feeds(model, scores, target, weight))


def test_mean_divides_by_the_weights_of_the_non_ignored_targets(rng):
    scores, _, weight = _case(rng, (6, 3))
    target = np.array([0, 2, 1, 2, 1, 0], np.int64)
    model = _loss_model(NLL, scores, target, weight, reduction="mean", ignore_index=1)
    real = check_converter(model, _feeds(model, scores, target, weight))
    kept = target != 1
    picked = -scores[np.arange(6), target] * weight[target]
    expected = picked[kept].sum() / weight[target][kept].sum()
    got = real(torch.from_numpy(scores), torch.from_numpy(target), torch.from_numpy(weight))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    # dividing by the count of targets, or by every target's weight, would be another number
    assert not np.isclose(expected, picked[kept].sum() / kept.sum())
    assert not np.isclose(expected, picked[kept].sum() / weight[target].sum())


@pytest.mark.parametrize("op", [NLL, SCE])
def test_unweighted_mean_divides_by_the_count_of_non_ignored_targets(op, rng):
    scores, _, _ = _case(rng, (2, 3, 4))
    target = np.array([[0, 1, 2, 1], [1, 1, 0, 2]], np.int64)
    model = _loss_model(op, scores, target, reduction="mean", ignore_index=1)
    real = check_converter(model, _feeds(model, scores, target))
    per_target = _loss_model(op, scores, target, reduction="none", ignore_index=1)
    losses = reference_outputs(per_target, _feeds(per_target, scores, target))[0]
    got = real(torch.from_numpy(scores), torch.from_numpy(target))
    np.testing.assert_allclose(got.numpy(), losses.sum() / 4, rtol=1e-6)


@pytest.mark.parametrize("op", [NLL, SCE])
@pytest.mark.parametrize("ignore_index", [-1, 3, 100], ids=["minus_one", "class_count", "far_beyond"])
def test_ignore_index_outside_the_classes_is_never_read_as_a_class(op, ignore_index, rng):
    scores, target, weight = _case(rng, (4, 3, 5), ignore_index=ignore_index)
    assert (target == ignore_index).any()
    for reduction in ("none", "sum", "mean"):
        model = _loss_model(op, scores, target, weight, reduction=reduction, ignore_index=ignore_index)
        real = check_converter(model, _feeds(model, scores, target, weight))
    losses = real(torch.from_numpy(scores), torch.from_numpy(target), torch.from_numpy(weight))
    assert np.isfinite(losses.numpy()).all()


@pytest.mark.parametrize("op", [NLL, SCE])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_mean_of_only_ignored_targets_is_nan_as_in_onnxruntime(op, weighted, rng):
    scores, _, weight = _case(rng, (3, 4))
    target = np.full(3, 2, np.int64)
    model = _loss_model(op, scores, target, weight if weighted else None, reduction="mean", ignore_index=2)
    feeds = _feeds(model, scores, target, weight)
    assert np.isnan(reference_outputs(model, feeds)[0])
    real = check_converter(model, feeds)
    assert torch.isnan(real(*(torch.from_numpy(feeds[value.name]) for value in model.graph.input)))


def test_an_ignored_target_contributes_zero_even_where_class_0_is_minus_infinity():
    """An ignored target is no class: the score of class 0 it stands on is never part of the loss."""
    scores = np.array([[-np.inf, -1.0, -2.0], [-0.5, -1.5, -2.5]], np.float32)
    target = np.array([7, 1], np.int64)
    model = _loss_model(NLL, scores, target, reduction="none", ignore_index=7)
    real = check_converter(model, _feeds(model, scores, target))
    np.testing.assert_array_equal(real(torch.from_numpy(scores), torch.from_numpy(target)).numpy(), [0.0, 1.5])


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_softmax_cross_entropy_log_prob_output_is_the_log_softmax_over_classes(reduction, rng):
    scores, target, weight = _case(rng, (2, 4, 3, 2), ignore_index=-1)
    model = _loss_model(SCE, scores, target, weight, log_prob=True, reduction=reduction, ignore_index=-1)
    real = check_converter(model, _feeds(model, scores, target, weight))
    _, log_prob = real(torch.from_numpy(scores), torch.from_numpy(target), torch.from_numpy(weight))
    np.testing.assert_allclose(log_prob.exp().sum(dim=1).numpy(), 1.0, rtol=1e-6)


def test_softmax_cross_entropy_equals_nll_of_its_log_prob(rng):
    scores, target, weight = _case(rng, (3, 5, 4), ignore_index=2)
    sce = _loss_model(SCE, scores, target, weight, log_prob=True, reduction="mean", ignore_index=2)
    loss, log_prob = reference_outputs(sce, _feeds(sce, scores, target, weight))
    nll = _loss_model(NLL, log_prob, target, weight, reduction="mean", ignore_index=2)
    real = check_converter(nll, _feeds(nll, log_prob, target, weight))
    got = real(torch.from_numpy(log_prob), torch.from_numpy(target), torch.from_numpy(weight))
    np.testing.assert_allclose(got.numpy(), loss, rtol=1e-5)


@pytest.mark.parametrize("op", [NLL, SCE])
@pytest.mark.parametrize(("dtype", "tolerance"), [(np.float16, 2e-3), (np.float32, 1e-5), (np.float64, 1e-12)],
                         ids=["float16", "float", "double"])
@pytest.mark.parametrize("target_dtype", [np.int32, np.int64])
def test_element_types_the_spec_allows(op, dtype, tolerance, target_dtype, rng):
    # float16: this module rounds once from float32, onnxruntime's Softmax-based loss may round
    # once more: one float16 unit in the last place apart (2**-10 relative).
    scores, target, weight = _case(rng, (3, 4, 5), ignore_index=1, dtype=dtype, target_dtype=target_dtype)
    for reduction in ("none", "sum", "mean"):
        model = _loss_model(op, scores, target, weight, log_prob=op == SCE, reduction=reduction, ignore_index=1)
        check_converter(model, _feeds(model, scores, target, weight), atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize(("op", "opset"), [(NLL, 22), (SCE, 13)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_bfloat16_follows_the_reference_evaluator(op, opset, reduction, rng):
    """onnxruntime has no bfloat16 kernel for these ops; onnx's reference evaluator computes in
    bfloat16 throughout, this module in float32: a few bfloat16 units (2**-7 relative) apart."""
    scores, target, weight = _case(rng, (3, 4, 5), ignore_index=1)
    scores, weight = scores.astype(ml_dtypes.bfloat16), weight.astype(ml_dtypes.bfloat16)
    model = _loss_model(op, scores, target, weight, opset=opset, reduction=reduction, ignore_index=1)
    expected = ReferenceEvaluator(model).run(None, _feeds(model, scores, target, weight))[0].astype(np.float32)

    def bf16(array):
        return torch.from_numpy(array.astype(np.float32)).to(torch.bfloat16)

    real = ow.convert(model, with_weights=True, strict=True)
    got = real(bf16(scores), torch.from_numpy(target), bf16(weight))
    assert got.dtype == torch.bfloat16 and tuple(got.shape) == expected.shape
    np.testing.assert_allclose(got.float().numpy(), expected, rtol=4 * 2**-7, atol=4 * 2**-7)
    meta_inputs = (t.to("meta") for t in (bf16(scores), torch.from_numpy(target), bf16(weight)))
    meta = ow.meta_forward(ow.convert(model, strict=True), *meta_inputs)
    assert (meta.dtype, tuple(meta.shape)) == (torch.bfloat16, expected.shape)


@pytest.mark.parametrize("op", [NLL, SCE])
def test_class_weights_from_an_initializer(op, rng):
    scores, target, weight = _case(rng, (4, 6, 3), ignore_index=-2)
    model = _loss_model(op, scores, target, weight, weight_initializer=True, reduction="mean", ignore_index=-2)
    check_converter(model, {"scores": scores, "target": target})


@pytest.mark.parametrize("reduction", ["max", "MEAN", ""])
@pytest.mark.parametrize("op", [NLL, SCE])
def test_a_reduction_outside_none_sum_mean_is_refused(op, reduction, rng):
    scores, target, _ = _case(rng, (2, 3))
    model = _loss_model(op, scores, target, reduction=reduction)
    with conversion_refused(f"reduction={reduction!r}"):
        ow.convert(model, with_weights=True, strict=True)


def test_a_loss_over_a_matmul_of_initializer_weights(rng):
    """A classifier head (MatMul and Add of initializers) into SoftmaxCrossEntropyLoss with class
    weights from an initializer: weightless, every weight is meta and the loss still has its shape."""
    features, classes = 16, 5
    w = numpy_helper.from_array(rng.standard_normal((features, classes)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal(classes).astype(np.float32), "b")
    class_weight = numpy_helper.from_array((rng.random(classes) + 0.5).astype(np.float32), "class_weight")
    model = make_model(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["logits"]),
            helper.make_node(SCE, ["logits", "labels", "class_weight"], ["loss", "log_prob"], reduction="mean", ignore_index=-1),
            helper.make_node("NegativeLogLikelihoodLoss", ["log_prob", "labels"], ["nll"], reduction="sum", ignore_index=-1),
        ],
        [helper.make_tensor_value_info("x", F, [8, features]), helper.make_tensor_value_info("labels", TensorProto.INT64, [8])],
        [helper.make_tensor_value_info(name, F, None) for name in ("loss", "log_prob", "nll")],
        [w, b, class_weight],
        opset=13,
    )
    labels = np.array([0, 4, -1, 2, 3, -1, 1, 1], np.int64)
    check_converter(model, {"x": rng.standard_normal((8, features)).astype(np.float32), "labels": labels}, atol=1e-4, rtol=1e-5)
    weightless = ow.convert(model, strict=True, size_threshold=0)
    assert all(tensor.is_meta for tensor in weightless.state_dict().values())
