"""ai.onnx.ml's feature and linear operators (Binarizer, Scaler, Normalizer, Imputer,
ArrayFeatureExtractor, FeatureVectorizer, OneHotEncoder, LabelEncoder, LinearRegressor,
LinearClassifier), computed as onnxruntime's CPU kernels compute them; see _onnx_ml.py for how their
parameters are held and why strings are refused."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import converted
from ._onnx_ml import (DOMAIN, as_rows, checked_attributes, decoded, held_tensor, node_attributes, post_transform,
    post_transformed, refuse_string_attributes, tensor_attribute_values)
from .registry import register


class OnnxBinarizer(nn.Module, OnnxToTorchModule):
    """1 where the input is greater than ``threshold``, else 0, in the input's type."""

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > self.threshold).to(x.dtype)


@register("Binarizer", 1, domain=DOMAIN)
def _binarizer(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = checked_attributes(node, graph)
    return converted(node, OnnxBinarizer(float(attributes.get("threshold", 0.0))))


def _feature_rows(x: torch.Tensor) -> torch.Tensor:
    """The input as rows of its dimension 1 (dimension 0 for 1-D): onnxruntime's Scaler and
    Imputer apply per-feature values to element i by i % dims[1]."""
    stride = x.shape[0] if x.dim() == 1 else x.shape[1]
    return x.reshape(-1, stride)


class OnnxScaler(nn.Module, OnnxToTorchModule):
    """(x - offset) * scale in float32 (double for double inputs); offset and scale hold one value
    or one per feature."""

    def __init__(self, offset: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("offset", offset)
        self.register_buffer("scale", scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        compute = torch.float64 if x.dtype == torch.float64 else torch.float32
        rows = _feature_rows(x).to(compute)
        scaled = (rows - self.offset.to(compute)) * self.scale.to(compute)
        return scaled.reshape(x.shape).to(torch.float32)


@register("Scaler", 1, domain=DOMAIN)
def _scaler(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = checked_attributes(node, graph)
    scale = np.asarray(attributes.get("scale", []), np.float32)
    offset = np.asarray(attributes.get("offset", []), np.float32)
    if scale.size == 0 or scale.size != offset.size:
        # onnxruntime's kernel refuses these models when it is created.
        raise NotImplementedError(
            f"Scaler: scale ({scale.size} values) and offset ({offset.size}) must be as long, and not empty"
        )
    return converted(node, OnnxScaler(held_tensor(offset), held_tensor(scale)))


class OnnxNormalizer(nn.Module, OnnxToTorchModule):
    """Each row (dimension 1; dimension 0 of a 1-D input) divided by its max, L1 or L2 norm, in
    float32; a row whose norm is 0 is copied unchanged."""

    def __init__(self, norm: str) -> None:
        super().__init__()
        self.norm = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axis = 0 if x.dim() == 1 else 1
        values = x.to(torch.float32)
        if self.norm == "MAX":
            norm = values.amax(dim=axis, keepdim=True)
            normalized = values / norm
        elif self.norm == "L1":
            norm = x.abs().to(torch.float32).sum(dim=axis, keepdim=True)
            normalized = values / norm
        else:
            squares = (x * x).to(torch.float32)
            norm = squares.sum(dim=axis, keepdim=True)
            magnitude = torch.sqrt(squares / norm)
            normalized = torch.where(x < 0, -magnitude, magnitude)
        return torch.where(norm != 0, normalized, values)


@register("Normalizer", 1, domain=DOMAIN)
def _normalizer(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    checked_attributes(node, graph)
    norm = decoded(node_attributes(node).get("norm", b"MAX"))
    if norm not in ("MAX", "L1", "L2"):
        raise NotImplementedError(f"Normalizer: norm={norm!r} is not MAX, L1 or L2")
    return converted(node, OnnxNormalizer(norm))


class OnnxImputer(nn.Module, OnnxToTorchModule):
    """Elements equal to the replaced value (NaN matching NaN) become the imputed value of their
    feature, or the first imputed value when there are not one per feature."""

    def __init__(self, imputed: torch.Tensor, replaced: float | int) -> None:
        super().__init__()
        self.register_buffer("imputed", imputed)
        self.replaced = replaced

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = _feature_rows(x)
        imputed = self.imputed if self.imputed.shape[0] == rows.shape[1] else self.imputed[:1]
        if isinstance(self.replaced, float) and math.isnan(self.replaced):
            hit = torch.isnan(rows)
        else:
            hit = rows == self.replaced
        return torch.where(hit, imputed.to(x.dtype), rows).reshape(x.shape)


@register("Imputer", 1, domain=DOMAIN)
def _imputer(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = checked_attributes(node, graph)
    floats = attributes.get("imputed_value_floats", [])
    ints = attributes.get("imputed_value_int64s", [])
    if bool(floats) == bool(ints):
        raise NotImplementedError("Imputer: exactly one of imputed_value_floats and imputed_value_int64s must be given")
    if floats:
        imputed, replaced = np.asarray(floats, np.float32), float(attributes.get("replaced_value_float", 0.0))
    else:
        imputed, replaced = np.asarray(ints, np.int64), int(attributes.get("replaced_value_int64", 0))
    return converted(node, OnnxImputer(held_tensor(imputed), replaced))


# --- ArrayFeatureExtractor, FeatureVectorizer, OneHotEncoder, LabelEncoder ---------------------------


class OnnxArrayFeatureExtractor(nn.Module, OnnxToTorchModule):
    """The input's last axis at the given indices (flattened); a 1-D input gives one row."""

    def forward(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        picked = x.index_select(-1, indices.reshape(-1).to(torch.int64))
        return picked.unsqueeze(0) if x.dim() == 1 else picked


@register("ArrayFeatureExtractor", 1, domain=DOMAIN)
def _array_feature_extractor(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    checked_attributes(node, graph)
    return converted(node, OnnxArrayFeatureExtractor())


class OnnxFeatureVectorizer(nn.Module, OnnxToTorchModule):
    """The inputs' rows (each flattened past dimension 0) side by side in float32, each cut or
    zero-padded to its ``inputdimensions`` width."""

    def __init__(self, widths: Sequence[int]) -> None:
        super().__init__()
        self.widths = tuple(widths)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        batch = 1 if inputs[0].dim() == 1 else inputs[0].shape[0]
        parts = []
        for x, width in zip(inputs, self.widths):
            rows = x.reshape(1, -1) if x.dim() == 1 else x.reshape(x.shape[0], -1)
            rows = rows[:batch, :width].to(torch.float32)
            if rows.shape[1] < width:
                rows = torch.nn.functional.pad(rows, (0, width - rows.shape[1]))
            parts.append(rows)
        return torch.cat(parts, dim=1)


@register("FeatureVectorizer", 1, domain=DOMAIN)
def _feature_vectorizer(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    checked_attributes(node, graph)
    widths = list(node_attributes(node).get("inputdimensions", []))
    if len(widths) != len(node.input_values):
        raise NotImplementedError(
            f"FeatureVectorizer: inputdimensions has {len(widths)} values for {len(node.input_values)} inputs"
        )
    return converted(node, OnnxFeatureVectorizer(widths))


class OnnxOneHotEncoder(nn.Module, OnnxToTorchModule):
    """X's shape plus one axis of len(categories): 1.0 at the category an element (cast to int64)
    is, where a category listed twice counts at its last place. An unknown element gives zeros, or,
    without ``zeros``, an error (checked on real inputs only)."""

    def __init__(self, categories: torch.Tensor, last: torch.Tensor, zeros: bool) -> None:
        super().__init__()
        self.register_buffer("categories", categories)
        self.register_buffer("last", last)
        self.zeros = zeros

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hits = (x.to(torch.int64).unsqueeze(-1) == self.categories) & self.last
        if not self.zeros and x.device.type != "meta" and not bool(hits.any(dim=-1).all()):
            raise ValueError("OneHotEncoder: an input is no category and zeros=0")
        return hits.to(torch.float32)


@register("OneHotEncoder", 1, domain=DOMAIN)
def _one_hot_encoder(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = checked_attributes(node, graph, ("cats_strings",))
    categories = np.asarray(attributes.get("cats_int64s", []), np.int64)
    if categories.size == 0:
        raise NotImplementedError("OneHotEncoder: cats_int64s is empty")
    last = np.array([value not in categories[position + 1 :] for position, value in enumerate(categories)])
    return converted(node, OnnxOneHotEncoder(held_tensor(categories), held_tensor(last), bool(attributes.get("zeros", 1))))


class OnnxLabelEncoder(nn.Module, OnnxToTorchModule):
    """Each element mapped through (sorted) keys to values, ``default`` where no key matches; a
    NaN key, if any, matches NaN elements (``nan_value``)."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, default: torch.Tensor,
                 nan_value: torch.Tensor | None) -> None:
        super().__init__()
        self.register_buffer("keys", keys)
        self.register_buffer("values", values)
        self.register_buffer("default", default)
        self.register_buffer("nan_value", nan_value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keys = self.keys.to(x.dtype)
        position = torch.searchsorted(keys, x.contiguous()).clamp(max=keys.shape[0] - 1)
        found = keys[position] == x
        mapped = torch.where(found, self.values[position], self.default)
        if self.nan_value is not None:
            mapped = torch.where(torch.isnan(x), self.nan_value, mapped)
        return mapped


_LABEL_DEFAULTS = {"floats": ("default_float", np.float32, -0.0), "int64s": ("default_int64", np.int64, -1)}


def _label_table(attributes: dict[str, Any], kind: str) -> np.ndarray | None:
    """The keys or values (``kind``) an attribute gives, or None."""
    for suffix, dtype in (("floats", np.float32), ("int64s", np.int64)):
        if f"{kind}_{suffix}" in attributes:
            return np.asarray(attributes[f"{kind}_{suffix}"], dtype)
    if f"{kind}_tensor" in attributes:
        return tensor_attribute_values(attributes[f"{kind}_tensor"]).reshape(-1)
    return None


def _label_encoder(version: int):
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        attributes = checked_attributes(node, graph)
        if version == 1:
            raise NotImplementedError(
                "LabelEncoder-1 maps strings to integers (classes_strings), which torch tensors cannot hold"
            )
        refuse_string_attributes(
            node, attributes, ("keys_strings", "values_strings", "keys_tensor", "values_tensor", "default_tensor")
        )
        keys, values = _label_table(attributes, "keys"), _label_table(attributes, "values")
        if keys is None or values is None or keys.size != values.size:
            raise NotImplementedError("LabelEncoder: keys_* and values_* must be given, as many of each")
        if "values_tensor" in attributes:
            if "default_tensor" in attributes:
                default = tensor_attribute_values(attributes["default_tensor"]).reshape(-1)[:1]
            else:
                default = np.array([-0.0 if values.dtype.kind == "f" else -1], values.dtype)
            default = default.astype(values.dtype).reshape(())
        else:
            name, dtype, fallback = _LABEL_DEFAULTS["floats" if values.dtype == np.float32 else "int64s"]
            default = np.array(attributes.get(name, fallback), dtype)
        # onnxruntime's map keeps the first of repeated keys.
        ordered, first = np.unique(keys, return_index=True)
        nan_value = None
        if keys.dtype.kind == "f" and np.isnan(keys).any():
            # From version 4 a NaN key matches NaN elements; before, nothing equals it.
            if version >= 4:
                nan_value = held_tensor(np.array(values[np.flatnonzero(np.isnan(keys))[0]]))
            kept = ~np.isnan(ordered)
            ordered, first = ordered[kept], first[kept]
        if ordered.size == 0:  # only NaN keys: a key no element equals keeps the search well-formed
            ordered, first = np.zeros(1, keys.dtype), np.zeros(1, np.int64)
            table = np.array([default], values.dtype)
        else:
            table = values[first]
        return converted(node, OnnxLabelEncoder(held_tensor(ordered), held_tensor(table), held_tensor(default), nan_value))

    return convert


for _version in (1, 2, 4):
    register("LabelEncoder", _version, domain=DOMAIN)(_label_encoder(_version))


# --- LinearRegressor, LinearClassifier -----------------------------------------------------------


class OnnxLinearRegressor(nn.Module, OnnxToTorchModule):
    """x @ coefficients.T + intercepts in float32; the post transform applies to two or more targets
    (PROBIT to one too)."""

    def __init__(self, coefficients: torch.Tensor, intercepts: torch.Tensor | None, post: str) -> None:
        super().__init__()
        self.register_buffer("coefficients", coefficients)
        self.register_buffer("intercepts", intercepts)
        self.post = post

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = as_rows(x).to(torch.float32) @ self.coefficients.T
        if self.intercepts is not None:
            scores = scores + self.intercepts
        if scores.shape[1] > 1 or self.post == "PROBIT":
            scores = post_transformed(scores, self.post)
        return scores


@register("LinearRegressor", 1, domain=DOMAIN)
def _linear_regressor(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = checked_attributes(node, graph)
    targets = int(attributes.get("targets", 1))
    coefficients = np.asarray(attributes.get("coefficients", []), np.float32)
    if targets < 1 or coefficients.size == 0 or coefficients.size % targets:
        raise NotImplementedError(f"LinearRegressor: {coefficients.size} coefficients do not make {targets} targets")
    intercepts = np.asarray(attributes.get("intercepts", []), np.float32)
    # onnxruntime adds intercepts only when there is one per target.
    held = held_tensor(intercepts) if intercepts.size == targets else None
    module = OnnxLinearRegressor(held_tensor(coefficients.reshape(targets, -1)), held, post_transform(node, attributes))
    return converted(node, module)


class OnnxLinearClassifier(nn.Module, OnnxToTorchModule):
    """Scores x @ coefficients.T + intercepts (float32) and the label of the best one. One score s
    with its two labels: the second label where s > 0, and the scores [1 - s, s], or [σ(-s), σ(s)]
    under LOGISTIC (onnxruntime applies no other transform to a single score)."""

    def __init__(self, coefficients: torch.Tensor, intercepts: torch.Tensor, labels: torch.Tensor, post: str) -> None:
        super().__init__()
        self.register_buffer("coefficients", coefficients)
        self.register_buffer("intercepts", intercepts)
        self.register_buffer("labels", labels)
        self.post = post

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = as_rows(x).to(torch.float32) @ self.coefficients.T + self.intercepts
        if scores.shape[1] > 1:
            return self.labels[scores.argmax(dim=1)], post_transformed(scores, self.post)
        label = torch.where(scores[:, 0] > 0, self.labels[1], self.labels[0])
        if self.post == "LOGISTIC":
            return label, torch.cat([torch.sigmoid(-scores), torch.sigmoid(scores)], dim=1)
        return label, torch.cat([1 - scores, scores], dim=1)


@register("LinearClassifier", 1, domain=DOMAIN)
def _linear_classifier(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    attributes = checked_attributes(node, graph, ("classlabels_strings",))
    labels = np.asarray(attributes.get("classlabels_ints", []), np.int64)
    intercepts = np.asarray(attributes.get("intercepts", []), np.float32)
    coefficients = np.asarray(attributes.get("coefficients", []), np.float32)
    classes = intercepts.size  # onnxruntime counts the classes by the intercepts
    if classes == 0 or coefficients.size % classes or coefficients.size == 0:
        raise NotImplementedError(
            f"LinearClassifier: {coefficients.size} coefficients and {classes} intercepts make no classes"
        )
    if labels.size < max(classes, 2) or (classes == 1 and labels.size != 2):
        # onnxruntime refuses a single score without exactly two labels.
        raise NotImplementedError(f"LinearClassifier: classlabels_ints has {labels.size} labels for {classes} scores")
    post = post_transform(node, attributes)
    if classes == 1 and post == "PROBIT":
        raise NotImplementedError(
            "LinearClassifier: post_transform=PROBIT on a single score (onnxruntime writes its two columns out of place)"
        )
    # multi_class (OvR or multinomial) says how the model was trained; scoring is the same.
    module = OnnxLinearClassifier(held_tensor(coefficients.reshape(classes, -1)), held_tensor(intercepts), held_tensor(labels), post)
    return converted(node, module)


