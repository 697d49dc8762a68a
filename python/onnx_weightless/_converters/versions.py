"""Versions of operators onnx2torch converts at another version, where the newer version only admits
more element types (ALIASES) or the older one fewer attributes (OLDER): the older version's converter serves them unchanged (ours if this
package overrides that version, else onnx2torch's; looked up at conversion time, so the order in
which converter modules are imported does not matter).

Versions whose attributes, inputs or semantics changed have converters of their own (reduce.py,
pad.py, split.py, resize.py, average_pool.py, cast.py, reshape.py, scatter_nd.py, range.py).
tests/test_converters_versions.py checks that every alias's old and new schemas have the same
attributes, inputs and outputs.
"""

from __future__ import annotations

from onnx2torch.onnx_node import OnnxNode

from .._adapter import OnnxGraph, OperationConverterResult
from .registry import Converter, record, register

# op_type -> (version onnx2torch converts, newer versions that only add element types)
ALIASES: dict[str, tuple[int, tuple[int, ...]]] = {
    "Acos": (7, (22,)),
    "Asin": (7, (22,)),
    "Atan": (7, (22,)),
    "Cos": (7, (22,)),
    "Sin": (7, (22,)),
    "Tan": (7, (22,)),
    "Celu": (12, (28,)),
    "Constant": (13, (19, 21, 23, 24, 25)),
    "ConstantOfShape": (9, (20, 21, 23, 24, 25)),
    "Conv": (11, (22,)),
    "ConvTranspose": (11, (22,)),
    # 28 changes neither signature nor documented behaviour.
    "DepthToSpace": (13, (28,)),
    "Einsum": (12, (28,)),
    "Elu": (6, (22,)),
    "Equal": (13, (19,)),
    "EyeLike": (9, (22,)),
    "Flatten": (13, (21, 23, 24, 25)),
    "GlobalAveragePool": (1, (22,)),
    "GreaterOrEqual": (12, (16,)),
    "LessOrEqual": (12, (16,)),
    "HardSigmoid": (6, (22,)),
    "HardSwish": (14, (22,)),
    "Identity": (16, (19, 21, 23, 24, 25)),
    "InstanceNormalization": (6, (22,)),
    "IsInf": (10, (20,)),
    "IsNaN": (13, (20,)),
    # 22 only documents that windows starting in the right padding are dropped, as torch does.
    "MaxPool": (12, (22,)),
    "RoiAlign": (16, (22,)),
    "Round": (11, (22,)),
    "Shape": (15, (19, 21, 23, 24, 25)),
    "Softplus": (1, (22,)),
    "Softsign": (1, (22,)),
    "Squeeze": (21, (23, 24, 25)),
    "TopK": (11, (24,)),
    "Transpose": (13, (21, 23, 24, 25)),
    "Unsqueeze": (13, (21, 23, 24, 25)),
}


# op_type -> (version whose converter serves them, older versions whose inputs and outputs are the
# same and whose attributes are a subset of its attributes, with the same defaults).
OLDER: dict[str, tuple[int, tuple[int, ...]]] = {
    "ArgMax": (11, (1,)),
    "ArgMin": (11, (1,)),
    "Cast": (9, (6,)),
    "Constant": (9, (1,)),
    "IsNaN": (13, (9,)),
    # 8 adds multidirectional broadcasting, which same-shaped inputs (all that 6 allows) never need.
    "Max": (8, (6,)),
    "Mean": (8, (6,)),
    "Min": (8, (6,)),
    "Sum": (8, (6,)),
}


def _alias(op_type: str, old: int) -> Converter:
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        older = record("", op_type, old)
        if older.converter is None:
            raise NotImplementedError(f"no converter for {older.op}, which serves the newer versions too")
        return older.converter(node, graph)

    return convert


for _op_type, (_old, _new) in [*ALIASES.items(), *OLDER.items()]:
    register(_op_type, *_new)(_alias(_op_type, _old))
