"""CumSum with the spec's default ``reverse=0``.

onnx2torch's converter defaults a missing ``reverse`` attribute to 1, so every CumSum that leaves
it out (position ids computed from an attention mask, for one) sums backwards. This override
builds onnx2torch's own module with the right default.
"""

from __future__ import annotations

from onnx2torch.node_converters.cumsum import OnnxCumSum

from .._adapter import OperationConverterResult, OnnxMapping
from .registry import register


@register("CumSum", 11, 14, value_inputs=(1,))
def _(node, graph):
    attributes = node.attributes
    module = OnnxCumSum(exclusive=bool(attributes.get("exclusive", 0)), reverse=bool(attributes.get("reverse", 0)))
    return OperationConverterResult(
        torch_module=module, onnx_mapping=OnnxMapping(inputs=node.input_values, outputs=node.output_values)
    )
