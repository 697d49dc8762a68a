"""NegativeLogLikelihoodLoss (12, 13, 22) and SoftmaxCrossEntropyLoss (12, 13), which onnx2torch lacks.

Both follow ONNX's rules rather than torch.nn.functional.nll_loss's:

* ``ignore_index`` may be any integer, negative or beyond the class count: its targets are never
  read as class indices (they gather class 0 and are masked), so it need not be a valid class;
* ``mean`` divides by the sum of the weights of the non-ignored targets (their count without a
  ``weight`` input), which is NaN when every target is ignored, as in onnxruntime;
* inputs of any rank N x C x d1..dk, rank 2 (N x C) included.

float16 and bfloat16 are computed in float32 and rounded once at the end; onnxruntime's float16
results are within one unit in the last place of these.
"""

from __future__ import annotations

import torch
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from ._common import given
from .registry import register

_REDUCTIONS = ("none", "sum", "mean")
_LOW_PRECISION = (torch.float16, torch.bfloat16)


class OnnxNegativeLogLikelihoodLoss(nn.Module, OnnxToTorchModule):
    """ONNX's NLL loss of ``scores`` [N, C, d1..dk] at ``target`` [N, d1..dk], weighted per class by
    ``weight`` [C]; with ``log_softmax`` the scores are logits (SoftmaxCrossEntropyLoss), and
    ``with_log_prob`` also returns their log-softmax."""

    def __init__(self, reduction: str, ignore_index: int | None, log_softmax: bool, with_log_prob: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.ignore_index = ignore_index
        self.log_softmax = log_softmax
        self.with_log_prob = with_log_prob

    def forward(
        self, scores: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if scores.dim() < 2 or target.shape != scores.shape[:1] + scores.shape[2:]:
            raise ValueError(
                f"loss: scores of shape {tuple(scores.shape)} need rank >= 2 and a target of their shape"
                f" without axis 1, got {tuple(target.shape)}"
            )
        compute = torch.float32 if scores.dtype in _LOW_PRECISION else scores.dtype
        log_prob = scores.to(compute)
        if self.log_softmax:
            log_prob = torch.log_softmax(log_prob, dim=1)
        target = target.long()
        ignored = None if self.ignore_index is None else target == self.ignore_index
        index = target if ignored is None else target.masked_fill(ignored, 0)
        loss = -log_prob.gather(1, index.unsqueeze(1)).squeeze(1)
        weights = None if weight is None else weight.to(compute)[index]
        if ignored is not None:
            # masked rather than multiplied by 0: the class-0 score they gathered may be infinite
            loss = loss.masked_fill(ignored, 0)
            kept = (~ignored).to(compute)
            weights = kept if weights is None else weights.masked_fill(ignored, 0)
        if weight is not None:
            loss = loss * weights
        if self.reduction == "sum":
            loss = loss.sum()
        elif self.reduction == "mean":
            loss = loss.mean() if weights is None else loss.sum() / weights.sum()
        loss = loss.to(scores.dtype)
        if self.with_log_prob:
            return loss, log_prob.to(scores.dtype)
        return loss


def _loss_converter(op_type: str, version: int):
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        del graph
        attributes = node.attributes
        reduction = attributes.get("reduction", "mean")
        if reduction not in _REDUCTIONS:
            raise NotImplementedError(f"{op_type}-{version} reduction={reduction!r} is not one of {_REDUCTIONS}")
        ignore_index = attributes.get("ignore_index")
        if ignore_index is not None and not isinstance(ignore_index, int):
            raise NotImplementedError(f"{op_type}-{version} ignore_index={ignore_index!r} is not an integer")
        softmax = op_type == "SoftmaxCrossEntropyLoss"
        with_log_prob = softmax and given(node.output_values, 1)
        module = OnnxNegativeLogLikelihoodLoss(reduction, ignore_index, softmax, with_log_prob)
        inputs = tuple(node.input_values[:3]) if given(node.input_values, 2) else tuple(node.input_values[:2])
        outputs = tuple(node.output_values[: 2 if with_log_prob else 1])
        return OperationConverterResult(module, OnnxMapping(inputs=inputs, outputs=outputs))

    return convert


for _version in (12, 13, 22):
    register("NegativeLogLikelihoodLoss", _version)(_loss_converter("NegativeLogLikelihoodLoss", _version))
for _version in (12, 13):
    register("SoftmaxCrossEntropyLoss", _version)(_loss_converter("SoftmaxCrossEntropyLoss", _version))
