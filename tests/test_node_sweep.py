"""onnx's backend node tests, swept in full (see tests/node_sweep.py and docs/coverage.md)."""

from __future__ import annotations

import functools
import json
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from node_sweep import collect, sweep  # noqa: E402
from node_test_coverage import BASELINE, check  # noqa: E402


@functools.lru_cache(maxsize=None)
def _results():
    return tuple(sweep(collect()))


def test_weightless_converts_exactly_what_the_conversion_with_weights_converts():
    broken = [r.name for r in _results() if not r.parity]
    assert not broken, broken


def test_everything_plain_onnx2torch_converts_still_converts():
    lost = [r.name for r in _results() if r.plain and not r.ours]
    assert not lost, lost


def test_no_regression_against_the_committed_baseline():
    compared, problems = check(list(_results()))
    # Every case with the onnx release the baseline was recorded with; those unchanged with others.
    recorded_with = json.loads(BASELINE.read_text())["onnx"]
    assert compared == len(_results()) if recorded_with == version("onnx") else compared > 0
    assert not problems, "\n".join(problems) + "\n(if intended, regenerate with `make coverage`)"


def test_many_more_cases_convert_than_with_plain_onnx2torch():
    results = _results()
    plain = sum(r.plain for r in results)
    ours = sum(r.ours for r in results)
    assert ours >= plain * 1.2, (ours, plain)


@pytest.mark.parametrize("name", ["test_softmax_axis_0_expanded", "test_reshape_reordered_all_dims"])
def test_constants_read_as_values_stay_real_when_everything_else_is_meta(name):
    (result,) = [r for r in _results() if r.name == name]
    assert result.ours and result.weightless and result.meta and result.values
