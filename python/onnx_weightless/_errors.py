"""Exception types. The core's (format, limits, I/O, external data) come from the C++ extension;
the ones raised only on the Python side derive from the same base."""

from __future__ import annotations

from ._core import ExternalDataError, FormatError, LimitError, ModelReadError, WeightlessError
from ._onnx_op import OnnxOp

__all__ = [
    "WeightlessError",
    "FormatError",
    "LimitError",
    "ModelReadError",
    "ExternalDataError",
    "MissingWeightsError",
    "UnsupportedDtypeError",
    "UnsupportedOperatorError",
    "ConversionError",
    "ValueNeededError",
    "MetaForwardError",
    "ExportError",
    "FixedDimensionWarning",
]


class MissingWeightsError(WeightlessError):
    """A tensor whose *values* are needed (a shape, axes, pads...) has no bytes at hand."""


class UnsupportedDtypeError(WeightlessError, TypeError):
    """An ONNX element type that torch cannot represent element by element."""


class UnsupportedOperatorError(WeightlessError, NotImplementedError):
    """Operators without a converter: listed up front by ``convert(strict=True)``, or raised by an
    opaque module asked for values rather than shapes."""

    def __init__(self, message: str, operators: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        #: "domain::OpType-version" of each unsupported operator (strict conversion only).
        self.operators = operators


class ConversionError(WeightlessError):
    """A node's converter failed: the message names the node and its operator, ``__cause__`` is
    the converter's own exception."""

    def __init__(self, message: str, node: str, op: OnnxOp) -> None:
        super().__init__(message)
        #: The node's name (onnx2torch's unique name when the model gives none).
        self.node = node
        #: Its operator: domain, op type and version.
        self.op = op


class ValueNeededError(WeightlessError):
    """A meta forward needs the value of a tensor it has only the shape of (an If's condition
    whose branches give different outputs): the message names the graph inputs to pass as real
    tensors."""


class MetaForwardError(WeightlessError):
    """An operator failed in a meta forward run (input shapes it cannot take, an attribute it
    refuses): the message names the node and its operator, ``__cause__`` is torch's own exception."""

    def __init__(self, message: str, node: str, op: OnnxOp | None) -> None:
        super().__init__(message)
        #: The fx node's name.
        self.node = node
        #: Its ONNX operator (domain, op type, version); None for a node that is no ONNX operator.
        self.op = op


class ExportError(WeightlessError):
    """torch.export could not trace a converted module: the message names the node where it
    stopped and why, and the original error is chained."""


class FixedDimensionWarning(UserWarning):
    """``export`` traced an input dimension the model declares symbolic to one size or relation
    (the model's own Reshape to a constant size, say): the program takes that dimension so."""
