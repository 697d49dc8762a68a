"""Which operator a node runs: domain, op type and version, as errors and records name it."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ONNX_OP_ATTRIBUTE", "OnnxOp", "normalize_domain"]

#: The attribute of a converted node's module that holds its operator (an OnnxOp).
ONNX_OP_ATTRIBUTE = "onnx_op"

_ONNX_DOMAINS = ("", "ai.onnx")


def normalize_domain(domain: str) -> str:
    """ONNX's default domain has two spellings; both become ""."""
    return "" if domain in _ONNX_DOMAINS else domain


class OnnxOp(NamedTuple):
    """An operator version: for ai.onnx the ``since_version`` in force at the model's opset; for other
    domains the version of the converter that serves it (the domain's opset when none does)."""

    domain: str
    op_type: str
    version: int

    def __str__(self) -> str:
        return f"{self.domain or 'ai.onnx'}::{self.op_type}-{self.version}"
