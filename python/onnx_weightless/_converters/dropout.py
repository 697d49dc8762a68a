"""Dropout, every version: what ONNX specifies for inference, the identity with an all-true mask.

ONNX Dropout drops only in training: from version 12 when its ``training_mode`` input is true,
before that when the runtime trains (``is_test=0`` in versions 1 and 6). Here a module drops when its
``training_mode`` input is true, or, without one, when the module is in training mode
(``gm.train()``; ``convert`` returns modules in eval mode). onnx2torch has no converter before
version 10, and drops whenever its module is in training mode, whatever ``training_mode`` says.
"""

from __future__ import annotations

import onnx
import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from .._dtypes import torch_dtype
from ._common import element_type, given
from .registry import register


class OnnxDropout(nn.Module, OnnxToTorchModule):
    """The identity unless training; with ``mask_dtype``, also returns the mask of kept elements."""

    def __init__(self, ratio: float, mask_dtype: torch.dtype | None, never_drops: bool = False) -> None:
        super().__init__()
        self.ratio = ratio
        self.mask_dtype = mask_dtype
        self.never_drops = never_drops  # is_test=1 (versions 1 and 6)

    def forward(
        self, data: torch.Tensor, ratio: torch.Tensor | None = None, training_mode: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        training = bool(training_mode.reshape(-1)[0]) if training_mode is not None else self.training
        rate = float(ratio.reshape(-1)[0]) if ratio is not None else self.ratio
        if training and not self.never_drops and rate > 0:
            kept = torch.rand_like(data, dtype=torch.float32) >= rate
            output = data * kept.to(data.dtype) / (1 - rate) if rate < 1 else torch.zeros_like(data)
        else:
            kept = torch.ones_like(data, dtype=torch.bool)
            output = data
        if self.mask_dtype is None:
            return output
        return output, kept.to(self.mask_dtype)


def _dropout(version: int):
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        attributes = node.attributes
        with_mask = given(node.output_values, 1)
        mask_dtype = None
        if with_mask:  # bool from version 10; before, the data's element type
            data_type = element_type(node.input_values[0], graph) if version < 10 else None
            mask_dtype = torch.bool if version >= 10 else torch_dtype(data_type or onnx.TensorProto.FLOAT)
        module = OnnxDropout(attributes.get("ratio", 0.5), mask_dtype, never_drops=bool(attributes.get("is_test", 0)))
        outputs = node.output_values[:2] if with_mask else node.output_values[:1]
        return OperationConverterResult(module, OnnxMapping(inputs=tuple(node.input_values), outputs=tuple(outputs)))

    return convert


for _version in (1, 6, 7, 10):
    register("Dropout", _version)(_dropout(_version))
for _version in (12, 13, 22):
    register("Dropout", _version, value_inputs=(1, 2))(_dropout(_version))
