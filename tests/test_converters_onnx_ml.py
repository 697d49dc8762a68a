"""ai.onnx.ml operators (python/onnx_weightless/_converters/onnx_ml.py and onnx_ml_trees.py), one node each, against
onnxruntime: with weights, weightless (tree and linear parameters become meta buffers), and on meta
inputs. Where onnxruntime reads the spec its own way, the test says so in its name."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import onnx_weightless as ow
from tests.converter_checks import check_converter, conversion_refused

F, D, I64 = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64
ML = "ai.onnx.ml"


def _model(op_type, inputs, outputs, ml_opset=1, **attributes) -> onnx.ModelProto:
    """One ai.onnx.ml node; ``inputs``: (name, element type, shape); ``outputs``: (name, element type)."""
    node = helper.make_node(op_type, [name for name, _, _ in inputs], [name for name, _ in outputs], name="node",
                            domain=ML, **attributes)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(*value) for value in inputs],
                              [helper.make_tensor_value_info(name, kind, None) for name, kind in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid(ML, ml_opset)])
    model.ir_version = 10
    return model


def _x(rng, *shape, step=None, nan=0.0) -> np.ndarray:
    values = rng.standard_normal(shape)
    if step:
        values = np.round(values / step) * step
    values[rng.random(shape) < nan] = np.nan
    return values.astype(np.float32)


# --- element-wise and per-feature transforms ------------------------------------------------------


@pytest.mark.parametrize("threshold", [None, 0.25])
def test_binarizer_gives_one_above_the_threshold_and_zero_elsewhere(threshold, rng):
    attributes = {} if threshold is None else {"threshold": threshold}
    model = _model("Binarizer", [("X", F, [3, 4, 5])], [("Y", F)], **attributes)
    check_converter(model, {"X": _x(rng, 3, 4, 5)})


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("per_feature", [True, False])
def test_scaler_subtracts_the_offset_then_multiplies_by_the_scale_into_float(dtype, per_feature, rng):
    count = 4 if per_feature else 1
    model = _model("Scaler", [("X", helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), [3, 4])], [("Y", F)],
                   offset=rng.standard_normal(count).tolist(), scale=rng.standard_normal(count).tolist())
    check_converter(model, {"X": (_x(rng, 3, 4) * 10).astype(dtype)})


def test_scaler_without_as_many_offsets_as_scales_is_refused():
    model = _model("Scaler", [("X", F, [3, 4])], [("Y", F)], offset=[0.0, 1.0], scale=[2.0])
    with conversion_refused("scale .* and offset"):
        ow.convert(model, strict=True)


@pytest.mark.parametrize("norm", ["MAX", "L1", "L2"])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_normalizer_divides_each_row_by_its_norm_and_keeps_zero_rows(norm, dtype, rng):
    x = (_x(rng, 4, 5) * 4).astype(dtype)
    x[1] = 0
    model = _model("Normalizer", [("X", helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), [4, 5])], [("Y", F)], norm=norm)
    check_converter(model, {"X": x})


def test_normalizer_of_a_vector_normalizes_it_whole(rng):
    check_converter(_model("Normalizer", [("X", F, [5])], [("Y", F)], norm="L2"), {"X": _x(rng, 5)})


@pytest.mark.parametrize("imputed", [[1.0, 2.0, 3.0, 4.0], [7.0]])
def test_imputer_replaces_nan_with_the_feature_s_value_or_the_only_one(imputed, rng):
    model = _model("Imputer", [("X", F, [5, 4])], [("Y", F)], imputed_value_floats=imputed,
                   replaced_value_float=float("nan"))
    check_converter(model, {"X": _x(rng, 5, 4, nan=0.3)})


def test_imputer_replaces_the_replaced_integer(rng):
    model = _model("Imputer", [("X", I64, [5, 4])], [("Y", I64)], imputed_value_int64s=[10, 20, 30, 40],
                   replaced_value_int64=2)
    check_converter(model, {"X": rng.integers(0, 4, (5, 4))})


# --- gathering, joining and encoding ---------------------------------------------------------------


@pytest.mark.parametrize("shape, indices", [((3, 4), [[3, 0], [1, 1]]), ((4,), [3, 0, 1]), ((2, 2, 3), [2, 0])])
def test_array_feature_extractor_takes_the_last_axis_at_the_indices(shape, indices, rng):
    indices = np.array(indices, np.int64)
    model = _model("ArrayFeatureExtractor", [("X", F, list(shape)), ("I", I64, list(indices.shape))], [("Y", F)])
    check_converter(model, {"X": _x(rng, *shape), "I": indices})


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_feature_vectorizer_cuts_or_zero_pads_each_input_to_its_width(dtype, rng):
    kind = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    model = _model("FeatureVectorizer", [("A", kind, [3, 2]), ("B", kind, [3, 3]), ("C", kind, [3, 1])], [("Y", F)],
                   inputdimensions=[2, 2, 3])
    feeds = {name: (_x(rng, 3, width) * 5).astype(dtype) for name, width in (("A", 2), ("B", 3), ("C", 1))}
    check_converter(model, feeds)


@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_one_hot_encoder_adds_an_axis_with_one_at_the_category_and_zeros_for_unknowns(dtype, rng):
    x = rng.integers(-1, 5, (3, 4)).astype(dtype)
    model = _model("OneHotEncoder", [("X", helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), [3, 4])], [("Y", F)],
                   cats_int64s=[0, 2, 3, 9])
    check_converter(model, {"X": x})


def test_one_hot_encoder_counts_a_repeated_category_at_its_last_place(rng):
    model = _model("OneHotEncoder", [("X", I64, [3, 4])], [("Y", F)], cats_int64s=[0, 2, 3, 2])
    check_converter(model, {"X": rng.integers(0, 4, (3, 4))})


def test_one_hot_encoder_without_zeros_fails_on_an_unknown_category_as_onnxruntime_does():
    model = _model("OneHotEncoder", [("X", I64, [2])], [("Y", F)], cats_int64s=[0, 1], zeros=0)
    check_converter(model, {"X": np.array([1, 0])})
    unknown = np.array([1, 5])
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    with pytest.raises(Exception, match="Unknown Category"):
        session.run(None, {"X": unknown})
    with pytest.raises(ValueError, match="no category"):
        ow.convert(model, with_weights=True, strict=True)(torch.from_numpy(unknown))


def test_one_hot_encoder_of_strings_is_refused():
    model = _model("OneHotEncoder", [("X", TensorProto.STRING, [3])], [("Y", F)], cats_strings=["a", "b"])
    with conversion_refused("input 'X' holds strings"):
        ow.convert(model, strict=True)


@pytest.mark.parametrize("ml_opset", [2, 4])
def test_label_encoder_maps_integer_keys_and_the_first_of_repeated_keys_wins_as_in_onnxruntime(ml_opset):
    model = _model("LabelEncoder", [("X", I64, [2, 3])], [("Y", I64)], ml_opset=ml_opset,
                   keys_int64s=[1, 3, 7, 3], values_int64s=[10, 30, 70, 33], default_int64=-5)
    check_converter(model, {"X": np.array([[1, 5, 3], [7, 2, 9]], np.int64)})


def test_label_encoder_maps_integers_to_floats_with_the_default_float():
    model = _model("LabelEncoder", [("X", I64, [4])], [("Y", F)], ml_opset=2, keys_int64s=[1, 3],
                   values_floats=[0.5, 1.5], default_float=-2.5)
    check_converter(model, {"X": np.array([1, 2, 3, 4], np.int64)})


@pytest.mark.parametrize("ml_opset", [2, 4])
def test_label_encoder_nan_key_matches_nan_from_version_4(ml_opset):
    model = _model("LabelEncoder", [("X", F, [4])], [("Y", F)], ml_opset=ml_opset,
                   keys_floats=[0.5, 2.0, float("nan")], values_floats=[1.0, 2.0, 3.0])
    check_converter(model, {"X": np.array([0.5, 1.0, np.nan, 2.0], np.float32)})


def test_label_encoder_takes_keys_and_values_as_tensors_from_version_4():
    model = _model("LabelEncoder", [("X", D, [3])], [("Y", D)], ml_opset=4,
                   keys_tensor=numpy_helper.from_array(np.array([1.0, 3.0])),
                   values_tensor=numpy_helper.from_array(np.array([10.0, 30.0])),
                   default_tensor=numpy_helper.from_array(np.array([-1.5])))
    check_converter(model, {"X": np.array([1.0, 2.0, 3.0])})


def test_label_encoder_with_string_values_is_refused():
    model = _model("LabelEncoder", [("X", I64, [3])], [("Y", TensorProto.STRING)], ml_opset=2,
                   keys_int64s=[1, 2], values_strings=["a", "b"])
    with conversion_refused("attribute values_strings holds strings"):
        ow.convert(model, strict=True)


# --- linear models ---------------------------------------------------------------------------------

TRANSFORMS = ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"]


@pytest.mark.parametrize("post", TRANSFORMS)
@pytest.mark.parametrize("targets", [1, 3])
def test_linear_regressor_transforms_two_or_more_targets_and_only_probits_one(post, targets, rng):
    model = _model("LinearRegressor", [("X", F, [5, 4])], [("Y", F)], targets=targets, post_transform=post,
                   coefficients=(rng.standard_normal(4 * targets) * 0.3).tolist(),
                   intercepts=(rng.standard_normal(targets) * 0.1).tolist())
    check_converter(model, {"X": _x(rng, 5, 4) * 0.3})


def test_linear_regressor_adds_intercepts_only_when_there_is_one_per_target(rng):
    model = _model("LinearRegressor", [("X", F, [5, 4])], [("Y", F)], targets=2,
                   coefficients=rng.standard_normal(8).tolist(), intercepts=[3.0])
    check_converter(model, {"X": _x(rng, 5, 4)})


@pytest.mark.parametrize("post", TRANSFORMS)
def test_linear_classifier_labels_the_best_class_and_transforms_the_scores(post, rng):
    model = _model("LinearClassifier", [("X", F, [6, 4])], [("Y", I64), ("Z", F)], post_transform=post,
                   coefficients=rng.standard_normal(12).tolist(), intercepts=rng.standard_normal(3).tolist(),
                   classlabels_ints=[4, 9, 11])
    check_converter(model, {"X": _x(rng, 6, 4)})


@pytest.mark.parametrize("post", ["NONE", "LOGISTIC", "SOFTMAX"])
def test_linear_classifier_widens_one_score_to_two_columns_as_onnxruntime_does(post, rng):
    model = _model("LinearClassifier", [("X", I64, [6, 4])], [("Y", I64), ("Z", F)], post_transform=post,
                   coefficients=(rng.standard_normal(4) * 0.2).tolist(), intercepts=[0.1], classlabels_ints=[4, 9])
    check_converter(model, {"X": rng.integers(-3, 4, (6, 4))})


def test_linear_classifier_probit_on_one_score_is_refused(rng):
    model = _model("LinearClassifier", [("X", F, [6, 4])], [("Y", I64), ("Z", F)], post_transform="PROBIT",
                   coefficients=[0.1, 0.2, 0.3, 0.4], intercepts=[0.1], classlabels_ints=[4, 9])
    with conversion_refused("PROBIT on a single score"):
        ow.convert(model, strict=True)


def test_linear_classifier_with_string_labels_is_refused():
    model = _model("LinearClassifier", [("X", F, [6, 4])], [("Y", TensorProto.STRING), ("Z", F)],
                   coefficients=[0.1] * 8, intercepts=[0.1, 0.2], classlabels_strings=["a", "b"])
    with conversion_refused("attribute classlabels_strings holds strings"):
        ow.convert(model, strict=True)


# --- tree ensembles ----------------------------------------------------------------------------------

BRANCHES = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"]


def _trees(rng, count: int, depth: int, features: int, mixed: bool, missing: bool) -> list[list[dict]]:
    """Full binary trees, each node listed as a dict; children follow their parent in the list."""
    trees = []
    for _ in range(count):
        nodes = []

        def build(level: int) -> int:
            position = len(nodes)
            nodes.append({"id": position})
            if level == depth:
                nodes[position]["mode"] = "LEAF"
                return position
            nodes[position].update(
                mode=BRANCHES[int(rng.integers(6))] if mixed else "BRANCH_LEQ",
                feature=int(rng.integers(features)), value=float(np.round(rng.standard_normal() * 2) / 2),
                missing=int(rng.integers(2)) if missing else 0,
            )
            nodes[position]["true"] = build(level + 1)
            nodes[position]["false"] = build(level + 1)
            return position

        build(0)
        trees.append(nodes)
    return trees


def _v3_attributes(rng, trees, prefix: str, targets, weights_for) -> dict:
    """TreeEnsembleRegressor/Classifier attributes; ``weights_for(leaf)`` -> [(target, weight)]."""
    attributes = {key: [] for key in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes",
                                      "nodes_values", "nodes_truenodeids", "nodes_falsenodeids",
                                      "nodes_missing_value_tracks_true", f"{prefix}_treeids", f"{prefix}_nodeids",
                                      f"{prefix}_ids", f"{prefix}_weights")}
    for tree, nodes in enumerate(trees):
        for node in nodes:
            attributes["nodes_treeids"].append(tree)
            attributes["nodes_nodeids"].append(node["id"])
            attributes["nodes_modes"].append(node["mode"])
            attributes["nodes_featureids"].append(node.get("feature", 0))
            attributes["nodes_values"].append(node.get("value", 0.0))
            attributes["nodes_truenodeids"].append(node.get("true", 0))
            attributes["nodes_falsenodeids"].append(node.get("false", 0))
            attributes["nodes_missing_value_tracks_true"].append(node.get("missing", 0))
            if node["mode"] == "LEAF":
                for target, weight in weights_for(node):
                    attributes[f"{prefix}_treeids"].append(tree)
                    attributes[f"{prefix}_nodeids"].append(node["id"])
                    attributes[f"{prefix}_ids"].append(target)
                    attributes[f"{prefix}_weights"].append(weight)
    return attributes


@pytest.mark.parametrize("aggregate", ["SUM", "AVERAGE", "MIN", "MAX"])
@pytest.mark.parametrize("targets", [1, 3])
def test_tree_ensemble_regressor_aggregates_the_leaves_each_tree_reaches(aggregate, targets, rng):
    trees = _trees(rng, 3, 3, 4, mixed=True, missing=True)
    # A leaf gives some of the targets only: a target no reached leaf gives is 0, base value or not.
    attributes = _v3_attributes(rng, trees, "target", targets, lambda leaf: [
        (target, float(np.round(rng.standard_normal(), 2))) for target in range(targets) if rng.random() < 0.7 or target == 0])
    model = _model("TreeEnsembleRegressor", [("X", F, [8, 4])], [("Y", F)], n_targets=targets,
                   aggregate_function=aggregate, base_values=rng.standard_normal(targets).round(2).tolist(), **attributes)
    check_converter(model, {"X": _x(rng, 8, 4, step=0.5, nan=0.15)})


@pytest.mark.parametrize("post", TRANSFORMS)
def test_tree_ensemble_regressor_transforms_several_targets_and_only_probits_one(post, rng):
    trees = _trees(rng, 2, 2, 3, mixed=False, missing=False)
    for targets in (1, 2):
        attributes = _v3_attributes(rng, trees, "target", targets, lambda leaf: [
            (target, float(rng.random() * 0.9)) for target in range(targets)])
        model = _model("TreeEnsembleRegressor", [("X", F, [6, 3])], [("Y", F)], n_targets=targets,
                       aggregate_function="AVERAGE", post_transform=post, **attributes)
        check_converter(model, {"X": _x(rng, 6, 3)})


def test_tree_ensemble_regressor_3_reads_thresholds_and_weights_as_tensors(rng):
    trees = _trees(rng, 2, 3, 3, mixed=True, missing=False)
    attributes = _v3_attributes(rng, trees, "target", 1, lambda leaf: [(0, float(rng.standard_normal()))])
    for name in ("nodes_values", "target_weights"):
        attributes[f"{name}_as_tensor"] = numpy_helper.from_array(np.array(attributes.pop(name), np.float32))
    model = _model("TreeEnsembleRegressor", [("X", F, [6, 3])], [("Y", F)], ml_opset=3, n_targets=1, **attributes)
    check_converter(model, {"X": _x(rng, 6, 3, step=0.5)})


def test_tree_ensemble_regressor_with_one_target_takes_a_leaf_s_first_weight_as_onnxruntime_does(rng):
    trees = _trees(rng, 2, 2, 3, mixed=False, missing=False)
    attributes = _v3_attributes(rng, trees, "target", 1, lambda leaf: [(0, 1.0 + leaf["id"]), (0, 100.0)])
    model = _model("TreeEnsembleRegressor", [("X", F, [6, 3])], [("Y", F)], n_targets=1, **attributes)
    check_converter(model, {"X": _x(rng, 6, 3)})


def test_tree_ensembles_compare_integer_and_double_inputs_with_the_thresholds(rng):
    """onnxruntime has integer kernels for the classifier only."""
    trees = _trees(rng, 2, 3, 3, mixed=True, missing=False)
    attributes = _v3_attributes(rng, trees, "target", 2, lambda leaf: [(0, float(rng.random())), (1, float(rng.random()))])
    model = _model("TreeEnsembleRegressor", [("X", D, [6, 3])], [("Y", F)], n_targets=2, **attributes)
    check_converter(model, {"X": _x(rng, 6, 3, step=0.5).astype(np.float64)})
    attributes = _v3_attributes(rng, trees, "class", 3, lambda leaf: [(label, float(rng.random())) for label in range(3)])
    model = _model("TreeEnsembleClassifier", [("X", I64, [6, 3])], [("Y", I64), ("Z", F)], classlabels_int64s=[0, 1, 2],
                   **attributes)
    check_converter(model, {"X": rng.integers(-2, 3, (6, 3))})


@pytest.mark.parametrize("post", TRANSFORMS)
@pytest.mark.parametrize("with_base", [False, True])
def test_tree_ensemble_classifier_labels_the_best_scored_of_three_classes(post, with_base, rng):
    trees = _trees(rng, 3, 3, 4, mixed=True, missing=True)
    attributes = _v3_attributes(rng, trees, "class", 3, lambda leaf: [
        (label, float(np.round(rng.standard_normal(), 2))) for label in range(3)])
    if with_base:
        attributes["base_values"] = rng.standard_normal(3).round(2).tolist()
    model = _model("TreeEnsembleClassifier", [("X", F, [8, 4])], [("Y", I64), ("Z", F)], classlabels_int64s=[3, 5, 8],
                   post_transform=post, **attributes)
    check_converter(model, {"X": _x(rng, 8, 4, step=0.5, nan=0.1)})


@pytest.mark.parametrize("post", ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO"])
@pytest.mark.parametrize("classes", [(0,), (1,), (0, 1)], ids=["class0", "class1", "both"])
@pytest.mark.parametrize("positive", [True, False], ids=["positive", "mixed"])
@pytest.mark.parametrize("base", [None, [0.1, 0.25]], ids=["no-base", "two-bases"])
def test_tree_ensemble_classifier_follows_onnxruntime_s_rules_for_two_classes(post, classes, positive, base, rng):
    trees = _trees(rng, 2, 2, 3, mixed=False, missing=False)
    attributes = _v3_attributes(rng, trees, "class", 2, lambda leaf: [
        (label, float(np.round(rng.random() if positive else rng.standard_normal(), 2))) for label in classes])
    if base is not None:
        attributes["base_values"] = base
    model = _model("TreeEnsembleClassifier", [("X", F, [8, 3])], [("Y", I64), ("Z", F)], classlabels_int64s=[5, 7],
                   post_transform=post, **attributes)
    check_converter(model, {"X": _x(rng, 8, 3)})


@pytest.mark.parametrize("post", ["NONE", "LOGISTIC"])
def test_tree_ensemble_classifier_adds_one_base_value_to_class_0_of_two(post, rng):
    """scikit-learn's binary gradient boosting: weights for class 0 only, its prior as the one base value."""
    trees = _trees(rng, 3, 2, 3, mixed=False, missing=False)
    attributes = _v3_attributes(rng, trees, "class", 2, lambda leaf: [(0, float(rng.standard_normal()))])
    model = _model("TreeEnsembleClassifier", [("X", F, [8, 3])], [("Y", I64), ("Z", F)], classlabels_int64s=[0, 1],
                   post_transform=post, base_values=[0.69], **attributes)
    check_converter(model, {"X": _x(rng, 8, 3)})


def test_tree_ensemble_classifier_probit_where_onnxruntime_leaves_a_column_unwritten_is_refused(rng):
    trees = _trees(rng, 1, 2, 3, mixed=False, missing=False)
    attributes = _v3_attributes(rng, trees, "class", 2, lambda leaf: [(0, 0.5)])
    model = _model("TreeEnsembleClassifier", [("X", F, [8, 3])], [("Y", I64), ("Z", F)], classlabels_int64s=[0, 1],
                   post_transform="PROBIT", **attributes)
    with conversion_refused("PROBIT .* second score of their rows unwritten"):
        ow.convert(model, strict=True)


def test_tree_ensemble_classifier_with_string_labels_is_refused(rng):
    trees = _trees(rng, 1, 1, 3, mixed=False, missing=False)
    attributes = _v3_attributes(rng, trees, "class", 2, lambda leaf: [(0, 0.5), (1, 0.5)])
    model = _model("TreeEnsembleClassifier", [("X", F, [8, 3])], [("Y", TensorProto.STRING), ("Z", F)],
                   classlabels_strings=["a", "b"], **attributes)
    with conversion_refused("classlabels_strings holds strings"):
        ow.convert(model, strict=True)


def test_tree_ensemble_regressor_with_a_base_value_count_onnxruntime_refuses_is_refused(rng):
    trees = _trees(rng, 1, 1, 3, mixed=False, missing=False)
    attributes = _v3_attributes(rng, trees, "target", 2, lambda leaf: [(0, 0.5), (1, 0.5)])
    model = _model("TreeEnsembleRegressor", [("X", F, [8, 3])], [("Y", F)], n_targets=2, base_values=[1.0], **attributes)
    with conversion_refused("base_values has 1 values for 2"):
        ow.convert(model, strict=True)


def test_tree_ensemble_whose_branches_loop_is_refused():
    model = _model("TreeEnsembleRegressor", [("X", F, [2, 1])], [("Y", F)], n_targets=1,
                   nodes_treeids=[0, 0, 0], nodes_nodeids=[0, 1, 2], nodes_featureids=[0, 0, 0],
                   nodes_modes=["BRANCH_LEQ", "BRANCH_LEQ", "LEAF"], nodes_values=[0.0, 1.0, 0.0],
                   nodes_truenodeids=[1, 0, 0], nodes_falsenodeids=[2, 2, 0],
                   target_treeids=[0], target_nodeids=[2], target_ids=[0], target_weights=[1.0])
    with pytest.raises(ow.ConversionError, match="loop back"):
        ow.convert(model, strict=True)


def _v5_attributes(rng, trees, targets: int, dtype, members: bool) -> dict:
    """TreeEnsemble-5 attributes for ``trees``: interior nodes numbered in one list, leaves in
    another; with ``members``, some nodes test set membership instead."""
    interior, children, leaves, roots = [], [], [], []
    for nodes in trees:
        place = {}
        for node in nodes:
            if node["mode"] == "LEAF":
                place[node["id"]] = (1, len(leaves))
                leaves.append((int(rng.integers(targets)), float(np.round(rng.standard_normal(), 2))))
            else:
                place[node["id"]] = (0, len(interior))
                interior.append(node)
        children += [(place[node["true"]], place[node["false"]]) for node in nodes if node["mode"] != "LEAF"]
        roots.append(place[nodes[0]["id"]][1])
    modes, member_sets = [], []
    for node in interior:
        if members and rng.random() < 0.4:
            modes.append(6)
            member_sets += [float(v) for v in rng.integers(-2, 3, int(rng.integers(1, 4)))] + [np.nan]
        else:
            modes.append(BRANCHES.index(node["mode"]))
    attributes = dict(
        n_targets=targets, tree_roots=roots, nodes_featureids=[node["feature"] for node in interior],
        nodes_modes=numpy_helper.from_array(np.array(modes, np.uint8)),
        nodes_splits=numpy_helper.from_array(np.array([node["value"] for node in interior], dtype)),
        nodes_truenodeids=[true[1] for true, _ in children], nodes_trueleafs=[true[0] for true, _ in children],
        nodes_falsenodeids=[false[1] for _, false in children], nodes_falseleafs=[false[0] for _, false in children],
        nodes_missing_value_tracks_true=[node["missing"] for node in interior],
        leaf_targetids=[target for target, _ in leaves],
        leaf_weights=numpy_helper.from_array(np.array([weight for _, weight in leaves], dtype)),
    )
    if member_sets:
        attributes["membership_values"] = numpy_helper.from_array(np.array(member_sets, dtype))
    return attributes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("aggregate", [0, 1, 2, 3])
def test_tree_ensemble_5_walks_interior_nodes_to_leaves_with_set_membership(dtype, aggregate, rng):
    trees = _trees(rng, 3, 3, 3, mixed=True, missing=True)
    attributes = _v5_attributes(rng, trees, 2, dtype, members=True)
    kind = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    model = _model("TreeEnsemble", [("X", kind, [8, 3])], [("Y", kind)], ml_opset=5, aggregate_function=aggregate,
                   **attributes)
    x = np.round(rng.standard_normal((8, 3)) * 1.5).astype(dtype)
    x[rng.random(x.shape) < 0.15] = np.nan
    check_converter(model, {"X": x})


@pytest.mark.parametrize("post", [0, 1, 2, 3, 4])
def test_tree_ensemble_5_post_transform_follows_onnxruntime_s_numbering(post, rng):
    """onnxruntime reads post_transform 1 as LOGISTIC and 2 as SOFTMAX (the spec: 1 SOFTMAX, 2 LOGISTIC)."""
    trees = _trees(rng, 2, 2, 3, mixed=False, missing=False)
    attributes = _v5_attributes(rng, trees, 3, np.float32, members=False)
    model = _model("TreeEnsemble", [("X", F, [6, 3])], [("Y", F)], ml_opset=5, post_transform=post, **attributes)
    real = check_converter(model, {"X": _x(rng, 6, 3)})
    if post == 1:
        (module,) = [m for m in real.modules() if type(m).__name__ == "OnnxTreeEnsembleRegressor"]
        assert module.post == "LOGISTIC"


def test_tree_ensemble_parameters_are_meta_buffers_when_weightless(rng):
    trees = _trees(rng, 2, 3, 3, mixed=True, missing=False)
    attributes = _v3_attributes(rng, trees, "class", 3, lambda leaf: [(label, float(rng.random())) for label in range(3)])
    model = _model("TreeEnsembleClassifier", [("X", F, [4, 3])], [("Y", I64), ("Z", F)], classlabels_int64s=[0, 1, 2],
                   **attributes)
    weightless = ow.convert(model, strict=True, size_threshold=0)
    buffers = dict(weightless.named_buffers())
    assert any(name.endswith("threshold") for name in buffers) and any(name.endswith("leaf_values") for name in buffers)
    assert all(tensor.is_meta for tensor in buffers.values())
