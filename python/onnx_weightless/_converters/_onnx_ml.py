"""What the ai.onnx.ml converters (onnx_ml.py, onnx_ml_trees.py) share; nothing here is registered.

ai.onnx.ml: the classic machine-learning operators scikit-learn's exporter (skl2onnx) and its
kin emit, computed as onnxruntime's CPU kernels compute them. These models are checked against
onnxruntime, and where its kernels read the ONNX text their own way, that reading is followed and
said so where it is.

Attributes hold these models' parameters (tree thresholds and leaf weights, coefficients, scales,
label tables). They become module buffers handed out under the conversion's value policy, as
initializers are: real with weights, meta in a weightless conversion when over the size
threshold, so a weightless module holds the same state names, shapes and dtypes. What shapes the
module is read as structure: how deep the trees go, which comparisons they use, how many classes,
targets or categories there are.

Strings cannot be torch tensors: string inputs, and string labels, keys, values or categories,
are refused at conversion (NotImplementedError naming the input or attribute).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.onnx_tensor import OnnxTensor

from .._adapter import OnnxGraph
from ._common import element_type

DOMAIN = "ai.onnx.ml"


def node_attributes(node: OnnxNode) -> dict[str, Any]:
    """Name -> value as onnx.helper reads it (lists for repeated fields, bytes for strings,
    TensorProto for tensors): unlike onnx2torch's parse, an empty list stays a list."""
    return {attribute.name: helper.get_attribute_value(attribute) for attribute in node.proto.attribute}


def decoded(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def tensor_attribute_values(proto: TensorProto) -> np.ndarray:
    """A tensor attribute's values, read through the conversion (external data included)."""
    return OnnxTensor(proto).to_numpy()


def held_tensor(array: np.ndarray) -> torch.Tensor:
    """A parameter computed from attributes, handed out as the conversion hands out initializers:
    real with weights, meta in a weightless conversion when over the size threshold."""
    return OnnxTensor(numpy_helper.from_array(np.ascontiguousarray(array))).to_torch()


def _refuse_string_inputs(node: OnnxNode, graph: OnnxGraph) -> None:
    for name in node.input_values:
        if name and element_type(name, graph) == TensorProto.STRING:
            raise NotImplementedError(
                f"{node.operation_type}: input {name!r} holds strings, which torch tensors cannot hold"
            )


def checked_attributes(node: OnnxNode, graph: OnnxGraph, string_attributes: Sequence[str] = ()) -> dict[str, Any]:
    """The node's attributes (see ``attributes``), once its inputs and the named attributes are
    known to hold no strings."""
    _refuse_string_inputs(node, graph)
    found = node_attributes(node)
    refuse_string_attributes(node, found, string_attributes)
    return found


def refuse_string_attributes(node: OnnxNode, attributes: dict[str, Any], names: Sequence[str]) -> None:
    for name in names:
        value = attributes.get(name)
        if isinstance(value, TensorProto):
            held = value.data_type == TensorProto.STRING
        else:
            held = value is not None and (not isinstance(value, list) or len(value) > 0)
        if held:
            raise NotImplementedError(
                f"{node.operation_type}: attribute {name} holds strings, which torch tensors cannot hold"
            )


# --- post transforms, as onnxruntime's ml_common.h computes them -----------------------------------

TRANSFORM_NAMES = ("NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO", "PROBIT")


def erfinv(x: torch.Tensor) -> torch.Tensor:
    """onnxruntime's ErfInv: Winitzki's approximation (a = 0.147), not the exact inverse."""
    sign = torch.where(x < 0, -1.0, 1.0)
    log = torch.log((1 - x) * (1 + x))
    v = 2 / (math.pi * 0.147) + 0.5 * log
    v2 = log / 0.147
    return sign * torch.sqrt(-v + torch.sqrt(v * v - v2))


def probit(x: torch.Tensor) -> torch.Tensor:
    return math.sqrt(2) * erfinv(2 * x - 1)


def softmax_zero(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis skipping zeros (|v| <= 1e-7), which stay near zero."""
    top = x.amax(dim=-1, keepdim=True)
    nonzero = (x > 1e-7) | (x < -1e-7)
    exps = torch.where(nonzero, torch.exp(x - top), x * torch.exp(-top))
    total = torch.where(nonzero, exps, torch.zeros_like(exps)).sum(dim=-1, keepdim=True)
    return exps / total


def post_transformed(scores: torch.Tensor, post: str) -> torch.Tensor:
    """The post transform of two or more scores per row (the last axis)."""
    if post == "SOFTMAX":
        return torch.softmax(scores, dim=-1)
    if post == "LOGISTIC":
        return torch.sigmoid(scores)
    if post == "SOFTMAX_ZERO":
        return softmax_zero(scores)
    if post == "PROBIT":
        return probit(scores)
    return scores


def post_transform(node: OnnxNode, attributes: dict[str, Any]) -> str:
    post = decoded(attributes.get("post_transform", b"NONE"))
    if post not in TRANSFORM_NAMES:
        raise NotImplementedError(f"{node.operation_type}: post_transform={post!r} is not one of {TRANSFORM_NAMES}")
    return post


def as_rows(x: torch.Tensor) -> torch.Tensor:
    """onnxruntime's ml kernels read a 1-D input as one row."""
    return x.unsqueeze(0) if x.dim() == 1 else x
