"""Checking one converter the way the node-test sweep does: against onnxruntime (or onnx's
reference evaluator), with weights and weightless.

    check_converter(model, {"x": x_array}, atol=1e-5)

1. ``convert(model, with_weights=True)`` run on the inputs equals the reference outputs;
2. the weightless conversion has the same parameter/buffer names, shapes and dtypes;
3. its meta forward gives the reference outputs' shapes and dtypes.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import numpy as np
import onnx
import pytest
import torch

import onnx_weightless as ow
from onnx_weightless._opaque import OpaqueOp
from conftest import flat_outputs, state_signature


def reference_outputs(model: onnx.ModelProto, feeds: dict[str, np.ndarray], use_onnxruntime: bool = True) -> list[np.ndarray]:
    if use_onnxruntime:
        import onnxruntime

        session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(None, feeds)
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(model).run(None, feeds)


def check_converter(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    *,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    use_onnxruntime: bool = True,
) -> torch.fx.GraphModule:
    """Asserts the three properties above; returns the with-weights module."""
    expected = reference_outputs(model, feeds, use_onnxruntime)
    inputs = [torch.from_numpy(np.ascontiguousarray(feeds[value.name])) for value in model.graph.input if value.name in feeds]

    real = ow.convert(model, with_weights=True, strict=True)
    assert not any(isinstance(m, OpaqueOp) for m in real.modules())
    with torch.no_grad():
        got = flat_outputs(real(*inputs))
    assert len(got) == len(expected), (len(got), len(expected))
    for index, (ours, theirs) in enumerate(zip(got, expected)):
        theirs = np.asarray(theirs)
        # onnxruntime hands out uint64 as numpy.ulonglong, which torch.from_numpy refuses.
        theirs = theirs.astype(np.dtype(theirs.dtype.name), copy=False)
        assert tuple(ours.shape) == theirs.shape, (index, tuple(ours.shape), theirs.shape)
        assert ours.dtype == torch.from_numpy(np.ascontiguousarray(theirs)).dtype, (index, ours.dtype, theirs.dtype)
        np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.astype(np.float64), atol=atol, rtol=rtol, err_msg=f"output {index}")

    weightless = ow.convert(model, strict=True, size_threshold=0)
    assert state_signature(weightless) == state_signature(real)
    meta_inputs = [torch.empty(t.shape, dtype=t.dtype, device="meta") for t in inputs]
    meta = flat_outputs(ow.meta_forward(weightless, *meta_inputs))
    assert [(tuple(t.shape), t.dtype) for t in meta] == [(tuple(t.shape), t.dtype) for t in got]
    return real


@contextlib.contextmanager
def conversion_refused(match: str) -> Iterator[None]:
    """``convert`` refusing a node whose attributes or inputs its converter does not support: a
    ConversionError naming the node and operator, caused by the converter's NotImplementedError
    whose message matches ``match``."""
    with pytest.raises(ow.ConversionError, match=r"^while converting node '[^']*' \([\w.]+::\w+-\d+\): NotImplementedError") as raised:
        yield
    assert isinstance(raised.value.__cause__, NotImplementedError)
    assert re.search(match, str(raised.value.__cause__)), (match, str(raised.value.__cause__))
