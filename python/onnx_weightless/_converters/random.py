"""RandomNormal, RandomUniform and their *Like forms (1 and 22). Random, as ONNX says: with a
``seed`` the module draws from a generator of its own seeded with it, which gives the same tensors
each call, but not another runtime's. On meta (a meta input, or under meta_forward) nothing is drawn."""

from __future__ import annotations

import torch
from onnx import TensorProto
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule
from torch import nn

from .._adapter import OnnxGraph, OperationConverterResult
from .._dtypes import torch_dtype
from ._common import converted
from .registry import register


class OnnxRandom(nn.Module, OnnxToTorchModule):
    """Draws ``shape`` (or the input's shape) from N(mean, scale²) or U(low, high) in ``dtype``
    (or the input's dtype)."""

    def __init__(self, normal: bool, first: float, second: float, shape: tuple[int, ...] | None,
                 dtype: torch.dtype | None, seed: float | None) -> None:
        super().__init__()
        self.normal = normal
        self.first, self.second = first, second  # mean and scale, or low and high
        self.shape = shape
        self.dtype = dtype
        self.seed = seed

    def forward(self, like: torch.Tensor | None = None) -> torch.Tensor:
        shape = self.shape if like is None else tuple(like.shape)
        dtype = self.dtype or like.dtype
        device = like.device if like is not None else None
        if device is not None and device.type == "meta":
            return torch.empty(shape, dtype=dtype, device="meta")
        generator = None
        if self.seed is not None:
            generator = torch.Generator(device=device or "cpu")
            generator.manual_seed(int(self.seed))
        if self.normal:
            drawn = torch.randn(shape, generator=generator, dtype=torch.float64, device=device) * self.second + self.first
        else:
            drawn = torch.rand(shape, generator=generator, dtype=torch.float64, device=device) * (self.second - self.first) + self.first
        return drawn.to(dtype)


def _random(normal: bool, like: bool):
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        del graph
        attributes = node.attributes
        first, second = (attributes.get("mean", 0.0), attributes.get("scale", 1.0)) if normal else (
            attributes.get("low", 0.0), attributes.get("high", 1.0))
        dtype = attributes.get("dtype", None if like else TensorProto.FLOAT)
        module = OnnxRandom(normal, first, second, None if like else tuple(attributes["shape"]),
                            torch_dtype(dtype) if dtype is not None else None, attributes.get("seed"))
        if like:
            return converted(node, module)
        return OperationConverterResult(module, OnnxMapping(inputs=(), outputs=tuple(node.output_values)))

    return convert


for _version in (1, 22):
    register("RandomNormal", _version)(_random(normal=True, like=False))
    register("RandomUniform", _version)(_random(normal=False, like=False))
    register("RandomNormalLike", _version)(_random(normal=True, like=True))
    register("RandomUniformLike", _version)(_random(normal=False, like=True))
