"""ai.onnx.ml's tree ensembles: TreeEnsembleRegressor and TreeEnsembleClassifier (1 and 3) and
TreeEnsemble-5, computed as onnxruntime's CPU kernels compute them. The trees' thresholds and leaf
weights are held as buffers (meta when weightless); their depth and comparison modes are structure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from ._onnx_ml import (DOMAIN, TRANSFORM_NAMES, as_rows, checked_attributes, decoded, held_tensor, post_transform,
    post_transformed, probit, refuse_string_attributes, tensor_attribute_values)
from .registry import register


# Node modes: TreeEnsemble-5's numbering (0-6), and LEAF.
_MODES = {"BRANCH_LEQ": 0, "BRANCH_LT": 1, "BRANCH_GTE": 2, "BRANCH_GT": 3, "BRANCH_EQ": 4, "BRANCH_NEQ": 5}
_MEMBER, _LEAF = 6, 7
_AGGREGATES = ("AVERAGE", "SUM", "MIN", "MAX")


@dataclass
class _Forest:
    """Trees flattened into one index space: node i compares feature[i] with threshold[i] by
    mode[i] and goes to true_next[i] or false_next[i]; leaves point at themselves and hold
    leaf_values[i] (one per target; leaf_has says which targets a leaf gives)."""

    feature: np.ndarray
    threshold: np.ndarray
    mode: np.ndarray
    true_next: np.ndarray
    false_next: np.ndarray
    missing_true: np.ndarray
    roots: np.ndarray
    leaf_values: np.ndarray
    leaf_has: np.ndarray
    members: np.ndarray | None = None


def _depth(forest: _Forest) -> int:
    """The most comparisons from a root to a leaf; a cycle is refused (it would never end)."""
    count = forest.mode.size
    depth = np.full(count, -1, np.int64)
    visiting = np.zeros(count, bool)
    for root in forest.roots.tolist():
        stack = [root]
        while stack:
            node = stack[-1]
            if depth[node] >= 0:
                stack.pop()
                continue
            if forest.mode[node] == _LEAF:
                depth[node] = 0
                stack.pop()
                continue
            children = (int(forest.true_next[node]), int(forest.false_next[node]))
            if not visiting[node]:
                visiting[node] = True
                for child in children:
                    if visiting[child] and depth[child] < 0:
                        raise ValueError(f"the trees loop back to node {child}")
                    if depth[child] < 0:
                        stack.append(child)
                continue
            depth[node] = 1 + max(depth[children[0]], depth[children[1]])
            stack.pop()
    return int(depth[forest.roots].max()) if forest.roots.size else 0


def _check_lengths(node: OnnxNode, attributes: dict[str, Any], names: Sequence[str], count: int) -> None:
    for name in names:
        value = attributes.get(name)
        if value is not None and len(value) not in (0, count):
            raise NotImplementedError(f"{node.operation_type}: {name} has {len(value)} values for {count} nodes")


def _floats_or_tensor(attributes: dict[str, Any], name: str) -> np.ndarray | None:
    """``name`` (FLOATS) or ``name``_as_tensor (TreeEnsemble*-3: float or double)."""
    if f"{name}_as_tensor" in attributes:
        values = tensor_attribute_values(attributes[f"{name}_as_tensor"]).reshape(-1)
        if name in attributes and len(attributes[name]):
            raise NotImplementedError(f"both {name} and {name}_as_tensor are given")
        return values
    if name in attributes:
        return np.asarray(attributes[name], np.float32)
    return None


def _forest_v3(node: OnnxNode, attributes: dict[str, Any], prefix: str, targets: int, aggregate: str) -> _Forest:
    """TreeEnsembleClassifier/Regressor-1 and -3, laid out as onnxruntime lays them out: a tree's
    root is its first node in attribute order; weights on a non-leaf are ignored; with one target
    a leaf gives its first weight only."""
    op = node.operation_type
    tree_ids = np.asarray(attributes.get("nodes_treeids", []), np.int64)
    node_ids = np.asarray(attributes.get("nodes_nodeids", []), np.int64)
    count = tree_ids.size
    if count == 0:
        raise NotImplementedError(f"{op}: the ensemble has no nodes")
    _check_lengths(node, attributes, ("nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_truenodeids",
                                      "nodes_falsenodeids", "nodes_missing_value_tracks_true"), count)
    thresholds = _floats_or_tensor(attributes, "nodes_values")
    if thresholds is None or thresholds.size != count:
        raise NotImplementedError(f"{op}: nodes_values must hold one value per node")
    names = [decoded(mode) for mode in attributes.get("nodes_modes", [])]
    unknown = sorted(set(names) - set(_MODES) - {"LEAF"})
    if len(names) != count or unknown:
        raise NotImplementedError(f"{op}: nodes_modes {unknown or names!r} are not all BRANCH_* or LEAF")
    mode = np.array([_MODES.get(name, _LEAF) for name in names], np.uint8)
    index = {}
    for position, key in enumerate(zip(tree_ids.tolist(), node_ids.tolist())):
        if key in index:
            raise NotImplementedError(f"{op}: node {key[1]} of tree {key[0]} is listed twice")
        index[key] = position
    true_ids = attributes.get("nodes_truenodeids", [])
    false_ids = attributes.get("nodes_falsenodeids", [])
    true_next = np.arange(count, dtype=np.int64)
    false_next = np.arange(count, dtype=np.int64)
    for position in np.flatnonzero(mode != _LEAF).tolist():
        tree = int(tree_ids[position])
        for ids, target, side in ((true_ids, true_next, "true"), (false_ids, false_next, "false")):
            child = index.get((tree, int(ids[position])))
            if child is None or child == position:
                raise NotImplementedError(
                    f"{op}: the {side} branch of node {node_ids[position]} of tree {tree} is not another node of its tree"
                )
            target[position] = child
    roots = np.flatnonzero(np.r_[True, tree_ids[1:] != tree_ids[:-1]]).astype(np.int64)

    weight_ids = np.asarray(attributes.get(f"{prefix}_ids", []), np.int64)
    weight_trees = np.asarray(attributes.get(f"{prefix}_treeids", []), np.int64)
    weight_nodes = np.asarray(attributes.get(f"{prefix}_nodeids", []), np.int64)
    weights = _floats_or_tensor(attributes, f"{prefix}_weights")
    weights = np.zeros(0, np.float32) if weights is None else weights
    if not weight_ids.size == weight_trees.size == weight_nodes.size == weights.size:
        raise NotImplementedError(f"{op}: {prefix}_ids, _treeids, _nodeids and _weights differ in length")
    values = np.zeros((count, targets), weights.dtype)
    has = np.zeros((count, targets), bool)
    order = sorted(range(weights.size), key=lambda i: (int(weight_trees[i]), int(weight_nodes[i])))
    for entry in order:
        position = index.get((int(weight_trees[entry]), int(weight_nodes[entry])))
        if position is None:
            raise NotImplementedError(
                f"{op}: a weight names node {weight_nodes[entry]} of tree {weight_trees[entry]}, which is not listed"
            )
        if mode[position] != _LEAF:
            continue
        target = 0 if targets == 1 else int(weight_ids[entry])
        if not 0 <= target < targets:
            raise NotImplementedError(f"{op}: {prefix}_ids has {target}, outside [0, {targets})")
        weight = weights[entry]
        if has[position, target]:
            if targets == 1:
                continue
            if aggregate == "MIN":
                weight = min(weight, values[position, target])
            elif aggregate == "MAX":
                weight = max(weight, values[position, target])
            else:
                weight = weight + values[position, target]
        values[position, target] = weight
        has[position, target] = True
    missing_leaves = np.flatnonzero((mode == _LEAF) & ~has.any(axis=1))
    if missing_leaves.size:
        position = int(missing_leaves[0])
        raise NotImplementedError(f"{op}: leaf {node_ids[position]} of tree {tree_ids[position]} has no weight")
    missing = np.asarray(attributes.get("nodes_missing_value_tracks_true", []), np.int64)
    missing_true = missing == 1 if missing.size else np.zeros(count, bool)
    feature = np.asarray(attributes.get("nodes_featureids", []), np.int64)
    return _Forest(feature, thresholds, mode, true_next, false_next, missing_true & (mode != _LEAF), roots, values, has)


def _forest_v5(node: OnnxNode, attributes: dict[str, Any]) -> _Forest:
    """TreeEnsemble-5: interior nodes then leaves in one index space; BRANCH_MEMBER sets come from
    membership_values, split at NaNs, in the order of the nodes that have that mode."""
    op = node.operation_type
    if "nodes_modes" not in attributes or "nodes_splits" not in attributes or "leaf_weights" not in attributes:
        raise NotImplementedError(f"{op}: nodes_modes, nodes_splits and leaf_weights must be given")
    modes = tensor_attribute_values(attributes["nodes_modes"]).reshape(-1).astype(np.int64)
    splits = tensor_attribute_values(attributes["nodes_splits"]).reshape(-1)
    leaf_weights = tensor_attribute_values(attributes["leaf_weights"]).reshape(-1)
    count, leaves = modes.size, leaf_weights.size
    _check_lengths(node, attributes, ("nodes_featureids", "nodes_truenodeids", "nodes_falsenodeids", "nodes_trueleafs",
                                      "nodes_falseleafs", "nodes_missing_value_tracks_true"), count)
    if splits.size != count or len(attributes.get("leaf_targetids", [])) != leaves:
        raise NotImplementedError(f"{op}: nodes_splits and leaf_targetids must match nodes_modes and leaf_weights")
    if not set(modes.tolist()) <= set(range(7)):
        raise NotImplementedError(f"{op}: nodes_modes holds {sorted(set(modes.tolist()) - set(range(7)))}, not 0-6")
    targets = int(attributes.get("n_targets", 0))
    total = count + leaves

    def next_of(ids_name: str, leafs_name: str) -> np.ndarray:
        ids = np.asarray(attributes.get(ids_name, []), np.int64)
        is_leaf = np.asarray(attributes.get(leafs_name, [0] * count), np.int64) != 0
        found = np.where(is_leaf, ids + count, ids)
        bad = (ids < 0) | np.where(is_leaf, ids >= leaves, ids >= count)
        if bad.any():
            raise NotImplementedError(f"{op}: {ids_name} holds {ids[bad][0]}, which names no node or leaf")
        return np.r_[found, np.arange(count, total)]

    true_next = next_of("nodes_truenodeids", "nodes_trueleafs")
    false_next = next_of("nodes_falsenodeids", "nodes_falseleafs")
    mode = np.r_[modes, np.full(leaves, _LEAF)].astype(np.uint8)
    threshold = np.r_[splits, np.zeros(leaves, splits.dtype)]
    feature = np.r_[np.asarray(attributes.get("nodes_featureids", []), np.int64), np.zeros(leaves, np.int64)]
    missing = np.asarray(attributes.get("nodes_missing_value_tracks_true", []), np.int64)
    missing_true = np.r_[missing == 1 if missing.size else np.zeros(count, bool), np.zeros(leaves, bool)]
    roots = np.asarray(attributes.get("tree_roots", []), np.int64)
    if ((roots < 0) | (roots >= max(count, 1))).any():
        raise NotImplementedError(f"{op}: tree_roots names nodes outside [0, {count})")
    target_ids = np.asarray(attributes["leaf_targetids"], np.int64)
    if ((target_ids < 0) | (target_ids >= targets)).any():
        raise NotImplementedError(f"{op}: leaf_targetids holds values outside [0, n_targets={targets})")
    values = np.zeros((total, targets), leaf_weights.dtype)
    has = np.zeros((total, targets), bool)
    values[count + np.arange(leaves), target_ids] = leaf_weights
    has[count + np.arange(leaves), target_ids] = True
    members = None
    if (modes == _MEMBER).any():
        raw = np.zeros(0, splits.dtype)
        if "membership_values" in attributes:
            raw = tensor_attribute_values(attributes["membership_values"]).reshape(-1)
        sets = np.split(raw, np.flatnonzero(np.isnan(raw)))
        sets = [chunk[~np.isnan(chunk)] for chunk in sets]
        width = max([len(chunk) for chunk in sets] + [1])
        members = np.full((total, width), np.nan, splits.dtype)
        for order, position in enumerate(np.flatnonzero(modes == _MEMBER).tolist()):
            chunk = sets[order] if order < len(sets) else np.zeros(0, splits.dtype)
            members[position, : len(chunk)] = chunk
    return _Forest(feature, threshold, mode, true_next, false_next, missing_true, roots, values, has, members)


class _TreeWalk(nn.Module):
    """Walks every row down every tree at once, one level per step, and gathers the leaf values:
    (values, has) per row, tree and target."""

    def __init__(self, forest: _Forest) -> None:
        super().__init__()
        self.depth = _depth(forest)
        self.modes = tuple(sorted(set(forest.mode[forest.mode != _LEAF].tolist())))
        self.has_missing = bool(forest.missing_true.any())
        self.register_buffer("feature", held_tensor(forest.feature))
        self.register_buffer("threshold", held_tensor(forest.threshold))
        self.register_buffer("mode", held_tensor(forest.mode))
        self.register_buffer("true_next", held_tensor(forest.true_next))
        self.register_buffer("false_next", held_tensor(forest.false_next))
        self.register_buffer("missing_true", held_tensor(forest.missing_true) if self.has_missing else None)
        self.register_buffer("members", held_tensor(forest.members) if forest.members is not None else None)
        self.register_buffer("roots", held_tensor(forest.roots))
        self.register_buffer("leaf_values", held_tensor(forest.leaf_values))
        self.register_buffer("leaf_has", held_tensor(forest.leaf_has))

    def _goes_true(self, value: torch.Tensor, threshold: torch.Tensor, mode: int, node: torch.Tensor) -> torch.Tensor:
        if mode == 0:
            return value <= threshold
        if mode == 1:
            return value < threshold
        if mode == 2:
            return value >= threshold
        if mode == 3:
            return value > threshold
        if mode == 4:
            return value == threshold
        if mode == 5:
            return value != threshold
        return (value.unsqueeze(-1) == self.members[node].to(value.dtype)).any(dim=-1)

    def forward(self, x: torch.Tensor, compute: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        rows = as_rows(x)
        common = torch.promote_types(rows.dtype, compute)
        rows = rows.to(common)
        node = self.roots.unsqueeze(0).expand(rows.shape[0], -1)
        for _ in range(self.depth):
            value = rows.gather(1, self.feature[node])
            threshold = self.threshold[node].to(common)
            if len(self.modes) == 1:
                goes = self._goes_true(value, threshold, self.modes[0], node)
            else:
                mode = self.mode[node]
                goes = torch.zeros_like(value, dtype=torch.bool)
                for each in self.modes:
                    goes = goes | ((mode == each) & self._goes_true(value, threshold, each, node))
            if self.has_missing:
                goes = goes | (self.missing_true[node] & torch.isnan(value))
            node = torch.where(goes, self.true_next[node], self.false_next[node])
        return self.leaf_values[node].to(compute), self.leaf_has[node]


def _aggregate(values: torch.Tensor, has: torch.Tensor, aggregate: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row and target over the trees: the aggregate of the leaves that give it (0 if none), and
    whether any does."""
    given = has.any(dim=1)
    if aggregate in ("SUM", "AVERAGE"):
        return values.sum(dim=1), given
    fill = math.inf if aggregate == "MIN" else -math.inf
    masked = torch.where(has, values, fill)
    best = masked.amin(dim=1) if aggregate == "MIN" else masked.amax(dim=1)
    return torch.where(given, best, torch.zeros_like(best)), given


class OnnxTreeEnsembleRegressor(nn.Module, OnnxToTorchModule):
    """TreeEnsembleRegressor-1/3 and TreeEnsemble-5, as onnxruntime aggregates: a single target
    adds base_values[0] when there is exactly one and takes no post transform but PROBIT; with
    several targets a target no reached leaf gives is 0, base value or not."""

    def __init__(self, walk: _TreeWalk, base: torch.Tensor | None, aggregate: str, post: str, trees: int,
                 output: torch.dtype | None) -> None:
        super().__init__()
        self.walk = walk
        self.register_buffer("base", base)
        self.aggregate = aggregate
        self.post = post
        self.trees = trees
        self.output = output  # None: the input's type (TreeEnsemble-5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output = self.output or x.dtype
        compute = torch.float64 if torch.float64 in (x.dtype, self.walk.leaf_values.dtype) else torch.float32
        values, has = self.walk(x, compute)
        scores, given = _aggregate(values, has, self.aggregate)
        if self.aggregate == "AVERAGE":
            scores = scores / self.trees
        if scores.shape[1] == 1:
            if self.base is not None and self.base.shape[0] == 1:
                scores = scores + self.base.to(compute)
            return (probit(scores) if self.post == "PROBIT" else scores).to(output)
        if self.base is not None and self.base.shape[0] == scores.shape[1]:
            scores = scores + self.base.to(compute)
        scores = torch.where(given, scores, torch.zeros_like(scores))
        return post_transformed(scores, self.post).to(output)


class OnnxTreeEnsembleClassifier(nn.Module, OnnxToTorchModule):
    """TreeEnsembleClassifier-1/3 as onnxruntime computes it: class scores are sums of leaf
    weights. With three or more classes, base values are added, the label is that of the best
    scored class, and the post transform applies. Two classes follow onnxruntime's binary rules
    (see ``_binary``)."""

    def __init__(self, walk: _TreeWalk, base: torch.Tensor | None, labels: torch.Tensor, post: str,
                 binary_case: bool, all_positive: bool) -> None:
        super().__init__()
        self.walk = walk
        self.register_buffer("base", base)
        self.register_buffer("labels", labels)
        self.post = post
        self.binary_case = binary_case  # two labels, weights for one class only
        self.all_positive = all_positive  # every class weight >= 0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        compute = torch.float64 if torch.float64 in (x.dtype, self.walk.leaf_values.dtype) else torch.float32
        values, has = self.walk(x, compute)
        scores, given = _aggregate(values, has, "SUM")
        if scores.shape[1] == 2:
            label, probabilities = self._binary(scores, given)
            return label, probabilities.to(torch.float32)
        if self.base is not None:
            count = self.base.shape[0]
            scores = torch.cat([scores[:, :count] + self.base.to(compute), scores[:, count:]], dim=1)
            given = torch.cat([torch.ones_like(given[:, :count]), given[:, count:]], dim=1)
        best = torch.where(given, scores, torch.full_like(scores, -math.inf)).argmax(dim=1)
        scores = torch.where(given, scores, torch.zeros_like(scores))
        return self.labels[best], post_transformed(scores, self.post).to(torch.float32)

    def _binary(self, scores: torch.Tensor, given: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """onnxruntime's rules for two classes, row by row. With two base values, a row whose class 1
        got a weight scores base_values[1] + class 0's sum for class 1 and its negation for class
        0. Otherwise (one base value, added to class 0, or none) a row whose class 1 got no weight
        keeps one score s, widened to [σ(-s), σ(s)] under LOGISTIC, else to [1 - s, s] when every
        weight is positive and the weights name one class, else to [-s, s]. The label: with the
        weights naming one class, the second label where the positive score passes 0.5 (all
        weights positive) or 0, else the first; with both classes named, 1 or 0 themselves."""
        s0, s1 = scores[:, 0], scores[:, 1]
        h0, h1 = given[:, 0], given[:, 1]
        zero = torch.zeros_like(s0)
        count = 0 if self.base is None else self.base.shape[0]
        if count == 2:
            b0, b1 = self.base[0].to(s0.dtype), self.base[1].to(s0.dtype)
            s1, s0 = torch.where(h1, b1 + s0, s1 + b1), torch.where(h1, -(b1 + s0), s0 + b0)
            two = torch.ones_like(h1)
        else:
            if count == 1:
                s0 = s0 + self.base[0].to(s0.dtype)
            two = h1
        positive = torch.where(two & h1, s1, torch.where(h0, s0, zero))
        if self.binary_case:
            cut = 0.5 if self.all_positive else 0.0
            label = torch.where(positive > cut, self.labels[1], self.labels[0])
        else:
            label = (positive > 0).to(torch.int64)
        g0 = torch.where(h0, s0, zero)
        g1 = torch.where(h1, s1, zero)
        both = post_transformed(torch.stack([g0, g1], dim=1), self.post)
        if self.post == "LOGISTIC":
            single = torch.stack([torch.sigmoid(-g0), torch.sigmoid(g0)], dim=1)
        elif self.binary_case and self.all_positive:
            single = torch.stack([1 - g0, g0], dim=1)
        else:
            single = torch.stack([-g0, g0], dim=1)
        return label, torch.where(two.unsqueeze(1), both, single)


def _tree_common(node: OnnxNode, graph: OnnxGraph) -> dict[str, Any]:
    attributes = checked_attributes(node, graph)
    for name in ("nodes_hitrates", "nodes_hitrates_as_tensor"):
        attributes.pop(name, None)  # popularity: onnxruntime does not read it to compute
    return attributes


def _base_values(attributes: dict[str, Any], count: int, op: str) -> torch.Tensor | None:
    """One base value per target or class, or none (onnxruntime refuses other counts, but for one
    value with two classes: scikit-learn's binary gradient boosting has that)."""
    base = _floats_or_tensor(attributes, "base_values")
    if base is None or base.size == 0:
        return None
    if base.size != count and not (op == "TreeEnsembleClassifier" and count == 2 and base.size == 1):
        raise NotImplementedError(
            f"{op}: base_values has {base.size} values for {count} targets or classes (0 or {count})"
        )
    return held_tensor(base)


def _tree_regressor(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = _tree_common(node, graph)
    targets = int(attributes.get("n_targets", 0))
    if targets < 1:
        raise NotImplementedError(f"TreeEnsembleRegressor: n_targets={targets} (at least 1)")
    aggregate = decoded(attributes.get("aggregate_function", b"SUM"))
    if aggregate not in _AGGREGATES:
        raise NotImplementedError(f"TreeEnsembleRegressor: aggregate_function={aggregate!r} is not one of {_AGGREGATES}")
    forest = _forest_v3(node, attributes, "target", targets, aggregate)
    base = _base_values(attributes, targets, "TreeEnsembleRegressor")
    module = OnnxTreeEnsembleRegressor(_TreeWalk(forest), base, aggregate,
                                       post_transform(node, attributes), forest.roots.size, torch.float32)
    return converted(node, module)


def _tree_classifier(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = _tree_common(node, graph)
    refuse_string_attributes(node, attributes, ("classlabels_strings",))
    labels = np.asarray(attributes.get("classlabels_int64s", []), np.int64)
    if labels.size < 2:
        raise NotImplementedError(f"TreeEnsembleClassifier: classlabels_int64s has {labels.size} labels (at least 2)")
    forest = _forest_v3(node, attributes, "class", labels.size, "SUM")
    base = _base_values(attributes, labels.size, "TreeEnsembleClassifier")
    weights = _floats_or_tensor(attributes, "class_weights")
    ids = set(attributes.get("class_ids", []))
    all_positive = weights is None or bool((weights >= 0).all())
    post = post_transform(node, attributes)
    binary_case = labels.size == 2 and len(ids) == 1
    leaves = forest.mode == _LEAF
    single = labels.size == 2 and (base is None or base.shape[0] == 1) and not forest.leaf_has[leaves, 1].all()
    if single and (post == "PROBIT" or (base is not None and not binary_case)):
        # Rows whose class 1 got no weight keep one score; onnxruntime writes its first column only.
        raise NotImplementedError(
            f"TreeEnsembleClassifier: two classes, {0 if base is None else 1} base_values, post_transform={post} and "
            "leaves without a class 1 weight: onnxruntime leaves the second score of their rows unwritten"
        )
    module = OnnxTreeEnsembleClassifier(_TreeWalk(forest), base, held_tensor(labels), post, binary_case, all_positive)
    return converted(node, module)


for _version in (1, 3):
    register("TreeEnsembleRegressor", _version, domain=DOMAIN)(_tree_regressor)
    register("TreeEnsembleClassifier", _version, domain=DOMAIN)(_tree_classifier)


# onnxruntime numbers TreeEnsemble-5's post_transform by its own enum, in which 1 is LOGISTIC and 2
# SOFTMAX; the spec has 1 SOFTMAX and 2 LOGISTIC.
_ORT_TRANSFORMS_V5 = ("NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT")


@register("TreeEnsemble", 5, domain=DOMAIN)
def _tree_ensemble(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = _tree_common(node, graph)
    aggregate = int(attributes.get("aggregate_function", 1))
    post = int(attributes.get("post_transform", 0))
    if not 0 <= aggregate < len(_AGGREGATES):
        raise NotImplementedError(f"TreeEnsemble: aggregate_function={aggregate} is not 0-3")
    if not 0 <= post < len(TRANSFORM_NAMES):
        raise NotImplementedError(f"TreeEnsemble: post_transform={post} is not 0-4")
    if int(attributes.get("n_targets", 0)) < 1:
        raise NotImplementedError(f"TreeEnsemble: n_targets={attributes.get('n_targets', 0)} (at least 1)")
    forest = _forest_v5(node, attributes)
    module = OnnxTreeEnsembleRegressor(_TreeWalk(forest), None, _AGGREGATES[aggregate], _ORT_TRANSFORMS_V5[post],
                                       forest.roots.size, None)
    return converted(node, module)
