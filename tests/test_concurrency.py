"""Concurrent use: conversions in several threads at once never see each other's state, whatever
mix of weightless, with-weights, failing and plain onnx2torch conversions runs side by side, and
the patched onnx/onnx2torch functions are restored once the last user leaves, exceptions included."""

from __future__ import annotations

import os
import threading

import numpy as np
import onnx
import onnx2torch
import pytest
import torch

import onnx_weightless as ow
from conftest import linear_reshape_model, save
from test_loader import assert_restored

ROUNDS = 6


@pytest.fixture
def models(tmp_path):
    """Three models with different weights: one with its data file, one without, one whose
    Reshape shape lives only in a missing file (every conversion of it must fail)."""
    present = save(linear_reshape_model(np.random.default_rng(1)), tmp_path / "present", external=True)
    absent = save(linear_reshape_model(np.random.default_rng(2)), tmp_path / "absent", external=True)
    os.remove(str(absent) + ".data")
    failing = save(linear_reshape_model(np.random.default_rng(3)), tmp_path / "failing", external=True, size_threshold=0)
    os.remove(str(failing) + ".data")
    return present, absent, failing


def _run_together(workers) -> list[BaseException]:
    """Runs each worker in its own thread, all released at once; returns what they raised."""
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(work):
        try:
            barrier.wait(timeout=30)
            for _ in range(ROUNDS):
                work()
        except BaseException as error:  # surfaced by the caller
            errors.append(error)

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a conversion hung"
    return errors


def test_mixed_conversions_in_parallel_keep_to_their_own_model(models):
    present, absent, failing = models
    expected = onnx2torch.convert(onnx.load(str(present)))  # plain onnx2torch, real weights
    x = torch.randn(2, 64)
    with torch.no_grad():
        reference = expected(x)

    def with_weights():
        gm = ow.convert(present, with_weights=True)
        torch.testing.assert_close(gm(x), reference, rtol=0, atol=0)

    def weightless():
        gm = ow.convert(absent)
        assert {tuple(t.shape): t.device.type for t in gm.buffers()}[(64, 64)] == "meta"

    def failing_conversion():
        with pytest.raises(ow.MissingWeightsError, match="'shape' is read as values"):
            ow.convert(failing)

    def plain_onnx2torch():
        gm = onnx2torch.convert(onnx.load(str(present)))  # no session in this thread: plain behaviour
        with torch.no_grad():
            torch.testing.assert_close(gm(x), reference, rtol=0, atol=0)

    def seed_loader():
        with ow.weightless_onnx_loader():
            gm = onnx2torch.convert(onnx.load(str(absent)))
        assert {tuple(t.shape): t.device.type for t in gm.buffers()}[(64, 64)] == "meta"

    assert _run_together([with_weights, weightless, failing_conversion, plain_onnx2torch, seed_loader]) == []
    assert_restored()


def test_patches_stay_while_any_thread_is_inside_and_go_with_the_last(models):
    _, absent, _ = models
    first_inside, second_inside, first_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with ow.weightless_onnx_loader():
            first_inside.set()
            assert second_inside.wait(timeout=30)
        first_left.set()

    def second():
        assert first_inside.wait(timeout=30)
        with ow.weightless_onnx_loader():
            second_inside.set()
            assert first_left.wait(timeout=30)
            # The first thread has left; this one is still weightless.
            seen["gm"] = onnx2torch.convert(onnx.load(str(absent)))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert {tuple(t.shape): t.device.type for t in seen["gm"].buffers()}[(64, 64)] == "meta"
    assert_restored()


def test_an_exception_in_a_nested_context_leaves_the_outer_one_working(models):
    _, absent, _ = models
    with ow.weightless_onnx_loader():
        with pytest.raises(RuntimeError, match="inner"):
            with ow.weightless_onnx_loader():
                onnx2torch.convert(onnx.load(str(absent)))
                raise RuntimeError("inner")
        gm = onnx2torch.convert(onnx.load(str(absent)))  # still weightless in the outer context
        assert {tuple(t.shape): t.device.type for t in gm.buffers()}[(64, 64)] == "meta"
        with pytest.raises(ow.MissingWeightsError):  # convert inside a context: its own, nested session
            ow.convert(absent, with_weights=True)
        gm = onnx2torch.convert(onnx.load(str(absent)))  # and a failed convert leaves it weightless
        assert {tuple(t.shape): t.device.type for t in gm.buffers()}[(64, 64)] == "meta"
    assert_restored()
    with pytest.raises(onnx.checker.ValidationError):
        onnx2torch.convert(onnx.load(str(absent)))  # plain again: the weights are needed
