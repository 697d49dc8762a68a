"""Runs onnx's backend node test cases through plain onnx2torch, onnx2fx and onnx-weightless, and
the corpus of files made by other tools (tests/wild) through the same three, and writes the results:
docs/coverage.md (for people) and tests/node_sweep_baseline.json (what the test suite holds every
later change to).

    make coverage            # or: python scripts/node_test_coverage.py [--check]

``--check`` writes nothing and fails on a regression of this package against the baseline (see
``check``); cases that onnx now generates differently are listed, not failed.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from node_sweep import CaseResult, collect, down_converted, sweep  # noqa: E402
from wild_sweep import TOOLS, ToolResult  # noqa: E402
from wild_sweep import sweep as wild_sweep  # noqa: E402

DOC = REPO / "docs" / "coverage.md"
BASELINE = REPO / "tests" / "node_sweep_baseline.json"
#: The same for the cases onnx.version_converter converts down to older opsets ("<case>@opset<N>").
OPSET_BASELINE = REPO / "tests" / "opset_sweep_baseline.json"


# The ways a converted case can fall short. Whether a case converts, and whether its weightless module
# matches the one with weights, follow from its model alone; its values and meta-forward shapes
# also from its data set (inputs and expected outputs).
SHORTFALLS_OF_THE_MODEL = ("weightless",)
SHORTFALLS_OF_THE_DATA = ("values", "meta")


def mismatches(results: list[CaseResult]) -> dict[str, dict[str, str]]:
    """Case -> {shortfall: why}, for every case that converts but does not fully match."""
    found = {}
    for r in results:
        if not r.ours:
            continue
        causes = {}
        if not r.parity:
            causes["weightless"] = "; ".join(r.notes) or "state or conversion differs from the conversion with weights"
        if r.values is False:
            causes["values"] = r.values_note
        if r.meta is False:
            causes["meta"] = r.meta_note
        if causes:
            found[r.name] = causes
    return found


def baseline(results: list[CaseResult]) -> dict:
    found = mismatches(results)
    return {
        "onnx": version("onnx"),
        "cases": {
            r.name: {
                "model": r.model_digest,
                "data": r.data_digest,
                "converted": r.ours,
                "mismatch": found.get(r.name, {}),
            }
            for r in results
        },
    }


def _describe(causes: dict[str, str]) -> str:
    return " | ".join(f"{kind}: {why}" for kind, why in causes.items())


def _count(results, predicate) -> int:
    return sum(1 for r in results if predicate(r))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _mark(value: bool | None) -> str:
    return "n/a" if value is None else "yes" if value else "**no**"


def _wild_section(wild: dict[str, dict[str, ToolResult]]) -> list[str]:
    """The corpus of files made by other tools (tests/wild), tool by tool."""
    lines = [
        "",
        "## ONNX files made by other tools, side by side",
        "",
        "tests/wild (`make wild-corpus`; tests/wild/README.md): per file, whether each tool converts it,",
        "whether the module as returned computes onnxruntime's outputs (with weights; atol and rtol",
        "1e-4), and whether the weightless conversion's meta forward gives onnxruntime's output shapes",
        "(only this package has a weightless mode).",
        "",
        "| file | onnx-weightless: converts / equal / meta shapes | onnx2torch: converts / equal | onnx2fx: converts / equal |",
        "|---|---|---|---|",
    ]
    for name, tools in wild.items():
        ours, plain, other = tools["onnx-weightless"], tools["onnx2torch"], tools["onnx2fx"]
        lines.append(
            f"| {_cell(name)} | {_mark(ours.converts)} / {_mark(ours.equal)} / {_mark(ours.meta)} | "
            f"{_mark(plain.converts)} / {_mark(plain.equal)} | {_mark(other.converts)} / {_mark(other.equal)} |"
        )
    totals = {tool: sum(r[tool].equal for r in wild.values()) for tool in TOOLS}
    lines += ["", "Outputs equal to onnxruntime's: " + ", ".join(f"{tool} {count} of {len(wild)}" for tool, count in totals.items())
              + ". Where a tool fails, its first error:", ""]
    for name, tools in wild.items():
        for tool in ("onnx2torch", "onnx2fx"):
            if tools[tool].note:
                lines.append(f"- {_cell(name)}, {tool}: {_cell(tools[tool].note)}")
    return lines


def _older_opsets_section(results: list[CaseResult], tried: dict[int, int]) -> list[str]:
    """The node tests converted down to older opsets by onnx.version_converter, opset by opset."""
    lines = [
        "",
        "## Older opsets",
        "",
        "onnx's node tests converted down to older opsets by `onnx.version_converter` (where it has the",
        "adapters: most cases it cannot convert), then run like the cases themselves. The test suite holds",
        "them to tests/opset_sweep_baseline.json as it holds the cases to theirs.",
        "",
        "| opset | cases tried | down-converted | onnx-weightless converts | values equal | meta shapes equal | onnx2fx converts | plain onnx2torch converts |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_opset: dict[int, list[CaseResult]] = collections.defaultdict(list)
    for r in results:
        by_opset[int(r.name.rpartition("@opset")[2])].append(r)
    for opset in sorted(tried):
        rs = by_opset.get(opset, [])
        lines.append(
            f"| {opset} | {tried[opset]} | {len(rs)} | {_count(rs, lambda r: r.ours)} | {_count(rs, lambda r: r.values)} | "
            f"{_count(rs, lambda r: r.meta)} | {_count(rs, lambda r: r.onnx2fx)} | {_count(rs, lambda r: r.plain)} |"
        )
    failing = sorted((r for r in results if not r.ours or r.values is False or r.meta is False), key=lambda r: r.name)
    if failing:
        lines += ["", "| down-converted case | not converted, or what differs |", "|---|---|"]
        for r in failing:
            why = r.ours_error if not r.ours else r.values_note or r.meta_note
            lines.append(f"| {r.name} | {_cell(why)} |")
    return lines


def render(results: list[CaseResult], seconds: float, wild: dict[str, dict[str, ToolResult]] | None = None,
           older: tuple[list[CaseResult], dict[int, int]] | None = None) -> str:
    total = len(results)
    plain = _count(results, lambda r: r.plain)
    ours = _count(results, lambda r: r.ours)
    compared = [r for r in results if r.values is not None]
    meta_checked = [r for r in results if r.meta is not None]
    opaque_checked = [r for r in results if r.opaque is not None]
    lines = [
        "# Operator coverage: onnx's backend node tests",
        "",
        "Every node test case that onnx ships (`onnx.backend.test.case.node.collect_testcases()`: one",
        "small model per case, with inputs and expected outputs) converted by plain onnx2torch and by",
        "onnx-weightless. Regenerate with `make coverage`; the test suite (`tests/test_node_sweep.py`)",
        "fails if a case converted here stops converting, if its weightless module stops matching the",
        "one with weights, or if a new mismatch of values or meta shapes appears on the same model and",
        "data; a case whose model or data onnx now generates differently (another onnx release, or a",
        "package it uses, such as ml_dtypes) is listed as changed upstream instead.",
        "",
        f"onnx {version('onnx')}, onnx2torch {version('onnx2torch')}, onnx2fx {version('onnx2fx')}, "
        f"torch {version('torch')}; {total} cases in {seconds:.0f} s.",
        "",
        "| | cases | share |",
        "|---|---:|---:|",
        f"| converted by plain onnx2torch | {plain} | {plain / total:.1%} |",
        f"| converted by onnx-weightless with weights (`with_weights=True, strict=True`) | {ours} | {ours / total:.1%} |",
        f"| converted weightless (`strict=True`, every tensor meta except values) | {_count(results, lambda r: r.weightless)} | |",
        f"| weightless converts exactly when with-weights does, same state | {_count(results, lambda r: r.parity)} | {_count(results, lambda r: r.parity) / total:.1%} |",
        f"| with weights: outputs equal the expected ones (of {len(compared)} comparable) | {_count(compared, lambda r: r.values)} | |",
        f"| weightless: meta forward shapes and dtypes equal the expected ones (of {len(meta_checked)} checked) | {_count(meta_checked, lambda r: r.meta)} | |",
        f"| not converted, but loaded with opaque modules whose meta forward has the expected shapes (of {len(opaque_checked)}) | {_count(opaque_checked, lambda r: r.opaque)} | |",
        f"| converted by onnx2fx (another ONNX to torch.fx converter; no weightless mode) | {_count(results, lambda r: r.onnx2fx)} | {_count(results, lambda r: r.onnx2fx) / total:.1%} |",
        f"| onnx2fx: outputs equal the expected ones | {_count(results, lambda r: r.onnx2fx_values)} | |",
        "",
        "Cases whose inputs or outputs torch cannot hold (strings, maps, float8 and other sub-byte or",
        "exotic types) are converted but not compared, nor are the values of random operators.",
        "Sequences are compared as lists of tensors and empty optionals as None.",
        "",
        "## By operator",
        "",
        "| operator | cases | plain onnx2torch | onnx-weightless | values equal | meta shapes equal |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    by_op: dict[str, list[CaseResult]] = collections.defaultdict(list)
    for r in results:
        by_op[r.op].append(r)
    for op in sorted(by_op, key=str.lower):
        rs = by_op[op]
        lines.append(
            f"| {_cell(op)} | {len(rs)} | {_count(rs, lambda r: r.plain)} | {_count(rs, lambda r: r.ours)} | "
            f"{_count(rs, lambda r: r.values)} | {_count(rs, lambda r: r.meta)} |"
        )
    lines += ["", "## Converted, with a mismatch", "", "| case | cause |", "|---|---|"]
    for name, causes in sorted(mismatches(results).items()):
        lines.append(f"| {name} | {_cell(_describe(causes))} |")
    lines += _wild_section(wild) if wild else []
    lines += _older_opsets_section(*older) if older else []
    lines += ["", "## Not converted", "", "| case | reason |", "|---|---|"]
    for r in sorted(results, key=lambda r: r.name):
        if not r.ours:
            lines.append(f"| {r.name} | {_cell(r.ours_error)} |")
    return "\n".join(lines) + "\n"


@dataclass
class Comparison:
    compared: int = 0  # cases whose model is the one the baseline was recorded with
    problems: list[str] = field(default_factory=list)  # regressions of this package
    upstream: list[str] = field(default_factory=list)  # cases onnx now generates differently


def check(results: list[CaseResult], recorded: dict) -> Comparison:
    """Holds the results to the baseline ``recorded`` (as ``baseline`` writes it).

    A case whose model is the one recorded must still convert, and its weightless module must still
    match the conversion with weights; if its data set is the recorded one too, no new mismatch of
    values or meta shapes may appear. A case whose model or data changed (another onnx release, or
    a package onnx uses to generate cases) is listed as changed upstream for what it can no longer
    be held to; so are cases added or removed.
    """
    comparison = Comparison()
    now = baseline(results)["cases"]
    for name in sorted(set(recorded["cases"]) - set(now)):
        comparison.upstream.append(f"{name}: no longer generated")
    for name, case in sorted(now.items()):
        before = recorded["cases"].get(name)
        if before is None:
            comparison.upstream.append(f"{name}: new case")
            continue
        if before["model"] != case["model"]:
            comparison.upstream.append(f"{name}: model changed")
            continue
        comparison.compared += 1
        if before["converted"] and not case["converted"]:
            comparison.problems.append(f"{name}: no longer converts")
            continue
        same_data = before["data"] == case["data"]
        new = {kind: why for kind, why in case["mismatch"].items() if kind not in before["mismatch"]}
        for kind, why in new.items():
            if kind in SHORTFALLS_OF_THE_MODEL or same_data:
                comparison.problems.append(f"{name}: new {kind} mismatch: {why}")
        if not same_data:
            unheld = {kind: why for kind, why in new.items() if kind in SHORTFALLS_OF_THE_DATA}
            comparison.upstream.append(f"{name}: data changed" + (f"; new {_describe(unheld)}" if unheld else ""))
    return comparison


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the baseline instead of writing")
    args = parser.parse_args()
    started = time.perf_counter()
    cases = collect()
    results = sweep(cases)
    seconds = time.perf_counter() - started
    if args.check:
        comparison = check(results, json.loads(BASELINE.read_text()))
        if comparison.upstream:
            print(f"changed upstream ({len(comparison.upstream)}):", *comparison.upstream, sep="\n  ")
        print("\n".join(comparison.problems)
              or f"{comparison.compared} of {len(results)} cases compared: no regression against {BASELINE.name}")
        return 1 if comparison.problems else 0
    DOC.parent.mkdir(exist_ok=True)
    older, tried = down_converted(cases)
    older_results = sweep(older)
    DOC.write_text(render(results, seconds, wild_sweep(), (older_results, tried)))
    BASELINE.write_text(json.dumps(baseline(results), indent=1, sort_keys=True) + "\n")
    OPSET_BASELINE.write_text(json.dumps(baseline(older_results), indent=1, sort_keys=True) + "\n")
    print(f"{len(results)} cases in {seconds:.0f} s: wrote {DOC.relative_to(REPO)}, {BASELINE.relative_to(REPO)} "
          f"and {OPSET_BASELINE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
