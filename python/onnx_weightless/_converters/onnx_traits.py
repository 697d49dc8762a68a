"""Traits every version of an ai.onnx operator has, whichever converter serves it (registry.declare).

Inputs read as values come from the ONNX operator specs (a shape, axes, pads, scales...); the
converters of this package add their own at registration. Weight layers are the operators whose
converters (onnx2torch's and ours) build nn layers holding the weights they are given.
"""

from __future__ import annotations

from .registry import declare

# op_type -> positions of inputs read as values (all versions).
_VALUE_INPUTS: dict[str, tuple[int, ...]] = {
    # Gather: onnx2torch indexes with a scalar index's value.
    "Gather": (1,),
    "Reshape": (1,),
    "Slice": (1, 2, 3, 4),
    "Pad": (1, 2, 3),
    "Resize": (1, 2, 3),
    "Upsample": (1,),
    "Split": (1,),
    "Tile": (1,),
    "Expand": (1,),
    "TopK": (1,),
    "Range": (0, 1, 2),
    "CumSum": (1,),
    "ConstantOfShape": (0,),
    "Unsqueeze": (1,),
    "Squeeze": (1,),
    "ReduceSum": (1,),
    "ReduceMean": (1,),
    "ReduceMax": (1,),
    "ReduceMin": (1,),
    "ReduceProd": (1,),
    "ReduceL1": (1,),
    "ReduceL2": (1,),
    "ReduceLogSum": (1,),
    "ReduceLogSumExp": (1,),
    "ReduceSumSquare": (1,),
    "Clip": (1, 2),
    "OneHot": (1,),
    "NonMaxSuppression": (2, 3, 4),
    "Trilu": (1,),
    "CenterCropPad": (1,),
    "Col2Im": (1, 2),
}

_WEIGHT_LAYERS = ("Conv", "ConvTranspose", "Gemm", "BatchNormalization", "LayerNormalization", "InstanceNormalization")

for _op_type, _positions in _VALUE_INPUTS.items():
    declare(_op_type, value_inputs=_positions)
for _op_type in _WEIGHT_LAYERS:
    declare(_op_type, weight_layer=True)
declare("ConstantOfShape", value_attribute=True)
declare("Shape", shape_only=True)
declare("Size", shape_only=True)
