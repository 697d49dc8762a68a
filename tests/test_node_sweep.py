"""onnx's backend node tests, swept in full (see tests/node_sweep.py and docs/coverage.md)."""

from __future__ import annotations

import collections
import functools
import json
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from node_sweep import CaseResult, collect, down_converted, sweep  # noqa: E402
from node_test_coverage import BASELINE, OPSET_BASELINE, baseline, check  # noqa: E402


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
    recorded = json.loads(BASELINE.read_text())
    comparison = check(list(_results()), recorded)
    if comparison.upstream:
        warnings.warn(_listing(comparison.upstream), stacklevel=1)
    assert not comparison.problems, "\n".join(comparison.problems) + "\n(if intended, regenerate with `make coverage`)"
    # With the onnx release the baseline was recorded with, the models are the recorded ones, so
    # (nearly) every case is held to it; another release still shares many of them.
    share = comparison.compared / len(_results())
    assert share >= 0.95 if recorded["onnx"] == version("onnx") else share > 0.5, (comparison.compared, len(_results()))


@functools.lru_cache(maxsize=None)
def _older_results():
    # Only the down-conversions the baseline records: trying every case at every opset takes a minute.
    older, _ = down_converted(collect(), only=set(json.loads(OPSET_BASELINE.read_text())["cases"]))
    return tuple(sweep(older))


_OPSET_SWEEP_ONNX = json.loads(OPSET_BASELINE.read_text())["onnx"]


# The down-conversions are onnx.version_converter's: another onnx release converts other cases, and
# older ones crash on some of them (onnx 1.16.2 segfaults), so the sweep runs with the recorded release.
@pytest.mark.skipif(version("onnx") != _OPSET_SWEEP_ONNX,
                    reason=f"the down-conversions are those of onnx {_OPSET_SWEEP_ONNX}'s version converter")
def test_cases_converted_down_to_older_opsets_still_convert():
    recorded = json.loads(OPSET_BASELINE.read_text())
    results = list(_older_results())
    comparison = check(results, recorded)
    if comparison.upstream:
        warnings.warn(_listing(comparison.upstream), stacklevel=1)
    assert not comparison.problems, "\n".join(comparison.problems) + "\n(if intended, regenerate with `make coverage`)"
    assert comparison.compared >= 0.95 * len(recorded["cases"]), (comparison.compared, len(recorded["cases"]))
    assert sum(r.ours for r in results) >= 0.8 * len(results) > 0, "most down-converted cases convert"


def _listing(upstream: list[str], shown: int = 100) -> str:
    reasons = collections.Counter(entry.split(": ", 1)[1].split(";")[0] for entry in upstream)
    lines = [f"{len(upstream)} node test cases changed upstream (listed, not failed): "
             + ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())]
    lines += upstream[:shown]
    if len(upstream) > shown:
        lines.append(f"... and {len(upstream) - shown} more: `python scripts/node_test_coverage.py --check` lists all")
    return "\n  ".join(lines)


# The comparison itself, on made-up results: what fails, and what is only listed.

def _case(name="test_case", *, model="m1", data="d1", ours=True, parity=True, values=True, meta=True) -> CaseResult:
    result = CaseResult(name, "Op", 17, model, data, ours=ours, weightless=ours, parity=parity,
                        values=values if ours else None, meta=meta if ours else None)
    result.values_note = "" if values else "output 0: values differ (max abs diff 1)"
    result.meta_note = "" if meta else "got [(2,), torch.float32], expected [(3,), torch.float32]"
    return result


def _recorded(*results: CaseResult) -> dict:
    return baseline(list(results))


def test_a_case_whose_generated_data_changed_is_listed_and_not_failed():
    recorded = _recorded(_case())
    comparison = check([_case(data="d2", values=False)], recorded)
    assert comparison.problems == []
    assert comparison.upstream == ["test_case: data changed; new values: output 0: values differ (max abs diff 1)"]
    assert comparison.compared == 1


def test_a_case_that_stops_converting_fails_even_when_its_data_changed():
    recorded = _recorded(_case())
    for data in ("d1", "d2"):
        assert check([_case(data=data, ours=False)], recorded).problems == ["test_case: no longer converts"]


def test_a_new_value_or_meta_mismatch_on_the_recorded_data_fails():
    recorded = _recorded(_case())
    assert check([_case(values=False)], recorded).problems == [
        "test_case: new values mismatch: output 0: values differ (max abs diff 1)"]
    assert check([_case(meta=False)], recorded).problems == [
        "test_case: new meta mismatch: got [(2,), torch.float32], expected [(3,), torch.float32]"]


def test_a_weightless_mismatch_fails_whatever_the_data():
    recorded = _recorded(_case())
    comparison = check([_case(data="d2", parity=False)], recorded)
    assert [p.split(":")[0] for p in comparison.problems] == ["test_case"]
    assert "new weightless mismatch" in comparison.problems[0]


def test_a_mismatch_the_baseline_records_is_not_new():
    recorded = _recorded(_case(values=False))
    assert check([_case(values=False)], recorded).problems == []


def test_changed_added_and_removed_cases_are_listed():
    recorded = _recorded(_case("test_kept"), _case("test_gone"))
    comparison = check([_case("test_kept", model="m2", ours=False), _case("test_added")], recorded)
    assert comparison.problems == []
    assert comparison.upstream == ["test_gone: no longer generated", "test_added: new case", "test_kept: model changed"]
    assert comparison.compared == 0


def test_many_more_cases_convert_than_with_plain_onnx2torch():
    results = _results()
    plain = sum(r.plain for r in results)
    ours = sum(r.ours for r in results)
    assert ours >= plain * 1.2, (ours, plain)


@pytest.mark.parametrize("name", ["test_softmax_axis_0_expanded", "test_reshape_reordered_all_dims"])
def test_constants_read_as_values_stay_real_when_everything_else_is_meta(name):
    (result,) = [r for r in _results() if r.name == name]
    assert result.ours and result.weightless and result.meta and result.values
