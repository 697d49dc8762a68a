"""Runs the benchmarks: every workload of benchmarks/workloads.py with every method of
benchmarks/measure.py, each measurement in a fresh process under ``/usr/bin/time -v``.

    python benchmarks/run.py [--only NAME ...] [--runs 3] [--timeout 900] [--write-doc]

Prints one table per workload (medians over the runs), a summary of the parameter and node curves
and the targets met or missed; ``--write-doc`` also writes them, with the machine, to docs/benchmarks.md.
Then the export section: ``ow.export`` of the dynamic-shape Llama skeletons against torch.export of
transformers' own model on meta, with its targets. ``--only export`` runs that section alone (and
``--write-doc`` then rewrites only that section of the document), and so does ``--only report``
(the HTML report's section, benchmarks/report.py); ``--only NAME ...`` without either runs those
workloads alone.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import report
import workloads
from measure import EXPORT_METHODS, EXPORT_REFERENCES, METHODS
from workloads import Workload

HERE = Path(__file__).resolve().parent
MEASURE = HERE / "measure.py"
DOC = HERE.parent / "docs" / "benchmarks.md"
MIB = 1024 * 1024
MB = 1000 * 1000
RSS_PATTERN = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")

# Targets (docs/benchmarks.md reports each as met or missed).
EMBEDDED_LOAD_SPEEDUP = 1000  # ow load vs onnx-load
EMBEDDED_CONVERT_SPEEDUP = 100  # ow convert phase vs B1's
EMBEDDED_RSS_ABOVE_IMPORT = 150 * MB
READ_ALLOWANCE_PER_TENSOR = 64 * 1024  # the scan's read-ahead window
SKELETON_CONVERT_SECONDS = ((20e9, 1.0), (math.inf, 3.0))  # (parameters below, seconds): 8B-class, 70B-class
SKELETON_RSS_ABOVE_IMPORT = 100 * MB
SKELETON_VS_B1 = 1.1
# "Flat along parameters": convert time within this ratio and memory within this band across the curve.
FLAT_TIME_RATIO = 1.5
FLAT_RSS_BAND = 50 * MIB
# "Linear along nodes": a straight line explains the convert times (R²) and log-log slope stays near 1.
LINEAR_MIN_R2 = 0.95
LINEAR_MAX_SLOPE = 1.15
# Export: ow-export (load+convert+export) within this ratio of hf-export's (build+export) time, and
# its peak RSS within this much of the import-only process of its imports.
EXPORT_TIME_RATIO = 1.5
EXPORT_RSS_ABOVE_IMPORT = 300 * MB
SEQUENCE_AXIS = 1  # of input_ids: [batch, sequence]
EXPORT_HEADING = "## Export"
REPORT_HEADING = "## HTML report"


@dataclass
class Measurement:
    """One (workload, method): medians over the runs, or the first failure."""

    method: str
    runs: int
    wall: float
    rss: int  # bytes
    phases: dict[str, float]
    best_phases: dict[str, float]  # the fastest run's, for the curve fits (timing noise only adds)
    rchar: int
    read_bytes: int
    scan_bytes_read: int | None
    error: str | None
    details: dict = field(default_factory=dict)  # the other JSON keys of the last run (export facts)

    def phase(self, *names: str) -> float:
        return sum(self.phases[name] for name in names)

    def after_import(self) -> float:
        """The measured work: every in-process phase but the imports."""
        return sum(seconds for name, seconds in self.phases.items() if name != "import")

    def best(self, *names: str) -> float:
        return sum(self.best_phases[name] for name in names)


@dataclass
class WorkloadResult:
    workload: Workload
    path: Path
    file_size: int
    graph_bytes: int  # file size minus the payload bytes the skeleton leaves out
    tensors: int
    measurements: dict[str, Measurement] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def ok(self, method: str) -> Measurement | None:
        m = self.measurements.get(method)
        return m if m is not None and m.error is None else None

    def seed_floor(self) -> tuple[str, Measurement | None, str]:
        """(name, measurement, note) of the baseline the targets compare to: B1, or B1r where B1 fails."""
        if self.ok("B1"):
            return "B1", self.ok("B1"), ""
        note = f"B1 failed ({self.measurements['B1'].error}); "
        if self.ok("B1r"):
            return "B1r", self.ok("B1r"), note + "against B1r"
        return "B1r", None, note + f"B1r failed ({self.measurements['B1r'].error})"

    @property
    def read_budget(self) -> int:
        return self.graph_bytes + READ_ALLOWANCE_PER_TENSOR * self.tensors


@dataclass
class Target:
    text: str
    met: bool | None  # None: could not be evaluated
    detail: str


# ---------------------------------------------------------------------------------------------- running


def run_once(method: str, path: Path, timeout: float) -> dict:
    """One fresh process; its JSON result plus wall time and peak RSS (``error`` set on failure)."""
    command = ["/usr/bin/time", "-v", sys.executable, str(MEASURE), method, str(path)]
    start = time.perf_counter()
    # A session of its own, so a timeout kills the Python process too, not only /usr/bin/time.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return {"error": f"timeout after {timeout:.0f} s", "wall": time.perf_counter() - start, "rss": 0, "phases": {}}
    wall = time.perf_counter() - start
    rss = RSS_PATTERN.search(stderr)
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = stderr.strip().splitlines()[-3:]
        result = {"error": f"exit status {process.returncode}, no result: {' | '.join(tail)}", "phases": {}}
    else:
        result = json.loads(lines[-1])
    result["wall"] = wall
    result["rss"] = int(rss.group(1)) * 1024 if rss else 0
    return result


def measure(method: str, path: Path, runs: int, timeout: float) -> Measurement:
    """Medians over ``runs`` processes; a failure is final (it is the result) and stops the runs."""
    results = []
    for _ in range(runs):
        results.append(run_once(method, path, timeout))
        if results[-1].get("error"):
            break
    failed = results[-1].get("error")
    used = [results[-1]] if failed else results

    def median(key: str) -> int | float:
        return statistics.median(r.get(key) or 0 for r in used)

    scan = [r["scan_bytes_read"] for r in used if "scan_bytes_read" in r]
    known = {"method", "error", "phases", "wall", "rss", "rchar", "read_bytes", "scan_bytes_read"}
    return Measurement(
        method=method,
        runs=len(results),
        wall=median("wall"),
        rss=int(median("rss")),
        phases={name: statistics.median(r["phases"][name] for r in used) for name in used[0]["phases"]},
        best_phases={name: min(r["phases"][name] for r in used) for name in used[0]["phases"]},
        rchar=int(median("rchar")),
        read_bytes=int(median("read_bytes")),
        scan_bytes_read=int(statistics.median(scan)) if scan else None,
        error=failed,
        details={key: value for key, value in used[-1].items() if key not in known},
    )


def graph_facts(path: Path) -> tuple[int, int]:
    """(graph bytes, tensor count) of a model, as the read-budget target defines them."""
    import onnx_weightless
    from onnx_weightless._skeleton import load_skeleton

    size = path.stat().st_size
    return size - load_skeleton(path).stripped_bytes, len(onnx_weightless.scan(path).tensors)


def run_workload(name: str, runs: int, timeout: float, progress: Callable[[str], None]) -> WorkloadResult:
    progress(f"{name}: building")
    path = workloads.build(name)
    workload = workloads.describe(name)  # after the build: it records the measured node count
    graph_bytes, tensors = graph_facts(path)
    result = WorkloadResult(workload, path, path.stat().st_size, graph_bytes, tensors)
    for method in METHODS:
        if method == "import":
            continue  # measured once for all workloads
        if method == "B0" and not workload.weights_present:
            result.skipped[method] = "skipped: weights absent, onnx2torch needs them"
            continue
        progress(f"{name}: {method}")
        result.measurements[method] = measure(method, path, runs, timeout)
    return result


# ---------------------------------------------------------------------------------------------- formatting


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def human_seconds(s: float) -> str:
    return f"{s:.2f} s" if s >= 1 else f"{s * 1e3:.1f} ms" if s >= 1e-3 else f"{s * 1e6:.0f} µs"


def human_count(n: float) -> str:
    for unit in ("", "K", "M", "B"):
        if n < 1000 or unit == "B":
            return f"{n:.0f}{unit}" if not unit else f"{n:.2f}{unit}"
        n /= 1000
    raise AssertionError("unreachable")


def ratio(r: float) -> str:
    return f"{r:,.0f}×" if r >= 10 else f"{r:.2f}×"


def faster(what: str, baseline_seconds: float, our_seconds: float, baseline: str) -> str:
    speedup = baseline_seconds / our_seconds
    if speedup >= 1:
        return f"{what} {ratio(speedup)} faster than {baseline}"
    return f"{what} {ratio(1 / speedup)} slower than {baseline}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def comparisons(result: WorkloadResult, method: str) -> list[str]:
    """The ratios of one of our methods against the baselines (in-process phases)."""
    ours = result.ok(method)
    if ours is None:
        return []
    if method == "ow-load":
        onnx_load = result.ok("onnx-load")
        return [faster("load", onnx_load.phase("load"), ours.phase("load"), "onnx-load")] if onnx_load else []
    if method != "ow-convert":
        return []
    notes = []
    for baseline in ("B1", "B1r", "B0"):
        base = result.ok(baseline)
        if base is not None:
            if baseline != "B0":
                notes.append(faster("convert", base.phase("convert"), ours.phase("convert"), baseline))
            notes.append(faster("load+convert", base.phase("load", "convert"), ours.phase("load", "convert"), baseline))
        elif baseline in result.measurements:
            notes.append(f"{baseline} failed")
    return notes


def workload_section(result: WorkloadResult, reference: Measurement) -> str:
    w = result.workload
    heading = (
        f"### {w.name}\n\n{w.description}. Kind {w.kind}; {human_count(w.parameters)} parameters, {w.nodes} nodes; "
        f"file {human_bytes(result.file_size)}, "
        f"graph bytes {human_bytes(result.graph_bytes)}, {result.tensors} tensors.\n"
    )
    header = ["method", "wall s", "peak RSS MiB", "RSS above import MiB", "read: scan", "read: rchar", "phases (in-process)", "vs baselines"]
    rows = []
    for method in METHODS[1:]:
        if method in result.skipped:
            rows.append([method, "—", "—", "—", "—", "—", result.skipped[method], ""])
            continue
        m = result.measurements[method]
        phases = ", ".join(f"{name} {human_seconds(seconds)}" for name, seconds in m.phases.items())
        if m.error:
            phases = f"**failed** ({m.error})" + (f"; before that {phases}" if phases else "")
        rows.append([
            method,
            f"{m.wall:.2f}",
            f"{m.rss / MIB:.0f}",
            f"{(m.rss - reference.rss) / MIB:+.0f}",
            human_bytes(m.scan_bytes_read) if m.scan_bytes_read is not None else "—",
            human_bytes(m.rchar),
            phases,
            "; ".join(comparisons(result, method)),
        ])
    return heading + "\n" + table(header, rows)


def reference_section(reference: Measurement) -> str:
    return (
        "### import (the reference)\n\n`import onnx_weightless` with its conversion stack (torch, onnx and "
        "onnx2torch, which the package loads on first use): "
        f"wall {reference.wall:.2f} s, peak RSS {reference.rss / MIB:.0f} MiB, import {human_seconds(reference.phase('import'))}. "
        "\"RSS above import\" is a method's peak RSS minus this one. ow-load needs only onnx, so it runs below it; "
        "onnx-load imports only onnx and B0/B1 only onnx and onnx2torch (and torch), so this package never touches them.\n"
    )


def curve_section(results: Sequence[WorkloadResult], kind: str, axis: str, reference: Measurement) -> str:
    points = sorted((r for r in results if r.workload.kind == kind), key=lambda r: getattr(r.workload, axis))
    if not points:
        return ""
    header = ["workload", "parameters", "nodes", "ow load", "ow load+convert", "fastest run", "meta forward", "ow-convert RSS above import MiB", "B1 load+convert", "B1r load+convert"]
    rows = []
    for r in points:
        load, convert, b1, b1r = r.ok("ow-load"), r.ok("ow-convert"), r.ok("B1"), r.ok("B1r")
        rows.append([
            r.workload.name,
            human_count(r.workload.parameters),
            str(r.workload.nodes),
            human_seconds(load.phase("load")) if load else "failed",
            human_seconds(convert.phase("load", "convert")) if convert else "failed",
            human_seconds(convert.best("load", "convert")) if convert else "failed",
            human_seconds(convert.phase("meta forward")) if convert else "failed",
            f"{(convert.rss - reference.rss) / MIB:+.0f}" if convert else "failed",
            human_seconds(b1.phase("load", "convert")) if b1 else "failed",
            human_seconds(b1r.phase("load", "convert")) if b1r else "failed",
        ])
    return f"### {kind}: time and memory vs {axis}\n\n" + table(header, rows)


# ---------------------------------------------------------------------------------------------- targets


def embedded_targets(result: WorkloadResult, reference: Measurement) -> list[Target]:
    name = result.workload.name
    load, onnx_load, convert = (result.ok(m) for m in ("ow-load", "onnx-load", "ow-convert"))
    floor, base, note = result.seed_floor()
    targets = []
    if load and onnx_load:
        speedup = onnx_load.phase("load") / load.phase("load")
        targets.append(Target(f"{name}: ow load ≥ {EMBEDDED_LOAD_SPEEDUP}× faster than onnx-load", speedup >= EMBEDDED_LOAD_SPEEDUP,
                              f"{ratio(speedup)} ({human_seconds(load.phase('load'))} vs {human_seconds(onnx_load.phase('load'))})"))
    else:
        targets.append(Target(f"{name}: ow load ≥ {EMBEDDED_LOAD_SPEEDUP}× faster than onnx-load", None, "a method failed"))
    convert_text = f"{name}: ow convert ≥ {EMBEDDED_CONVERT_SPEEDUP}× faster than B1 (convert phase)"
    if convert and base:
        speedup = base.phase("convert") / convert.phase("convert")
        targets.append(Target(convert_text, speedup >= EMBEDDED_CONVERT_SPEEDUP,
                              f"{note}{'; ' if note else ''}{ratio(speedup)} ({human_seconds(convert.phase('convert'))} vs "
                              f"{human_seconds(base.phase('convert'))}); load+convert "
                              f"{ratio(base.phase('load', 'convert') / convert.phase('load', 'convert'))}"))
    else:
        targets.append(Target(convert_text, None, note if not base else "ow-convert failed"))
    if convert:
        above = convert.rss - reference.rss
        targets.append(Target(f"{name}: ow-convert peak RSS ≤ 150 MB above bare import", above <= EMBEDDED_RSS_ABOVE_IMPORT,
                              f"{above / MB:+.0f} MB ({above / MIB:+.0f} MiB)"))
    if load and load.scan_bytes_read is not None:
        targets.append(Target(
            f"{name}: bytes read ≤ graph bytes + 64 KiB per tensor", load.scan_bytes_read <= result.read_budget,
            f"{human_bytes(load.scan_bytes_read)} read by the scan, budget {human_bytes(result.read_budget)} "
            f"({human_bytes(result.graph_bytes)} + {result.tensors} × 64 KiB); rchar {human_bytes(load.rchar)}"))
    return targets


def skeleton_targets(result: WorkloadResult, reference: Measurement) -> list[Target]:
    name, parameters = result.workload.name, result.workload.parameters
    convert = result.ok("ow-convert")
    floor, base, note = result.seed_floor()
    limit = next(seconds for below, seconds in SKELETON_CONVERT_SECONDS if parameters < below)
    if convert is None:
        return [Target(f"{name}: skeleton targets", False, f"ow-convert failed: {result.measurements['ow-convert'].error}")]
    seconds = convert.phase("load", "convert")
    above = convert.rss - reference.rss
    targets = [
        Target(f"{name} ({human_count(parameters)} parameters): convert ≤ {limit:.0f} s", seconds <= limit,
               f"{human_seconds(seconds)} (load+convert, in-process)"),
        Target(f"{name}: ow-convert peak RSS ≤ 100 MB above bare import", above <= SKELETON_RSS_ABOVE_IMPORT,
               f"{above / MB:+.0f} MB ({above / MIB:+.0f} MiB)"),
    ]
    b1_text = f"{name}: ow time ≤ {SKELETON_VS_B1}× B1's (load+convert)"
    if base:
        share = seconds / base.phase("load", "convert")
        targets.append(Target(b1_text, share <= SKELETON_VS_B1,
                              f"{note}{'; ' if note else ''}{share:.2f}× {floor}'s "
                              f"({human_seconds(seconds)} vs {human_seconds(base.phase('load', 'convert'))})"))
    else:
        targets.append(Target(b1_text, None, note))
    return targets


def curve_targets(results: Sequence[WorkloadResult], reference: Measurement) -> list[Target]:
    targets = []
    params = [r for r in results if r.workload.kind == "params-curve" and r.ok("ow-convert")]
    if len(params) >= 2:
        times = [r.ok("ow-convert").best("load", "convert") for r in params]
        rss = [r.ok("ow-convert").rss - reference.rss for r in params]
        spread, band = max(times) / min(times), max(rss) - min(rss)
        span = max(r.workload.parameters for r in params) / min(r.workload.parameters for r in params)
        targets.append(Target(
            "flat along parameters (convert time within "
            f"{FLAT_TIME_RATIO}×, RSS above import within {FLAT_RSS_BAND // MIB} MiB)",
            spread <= FLAT_TIME_RATIO and band <= FLAT_RSS_BAND,
            f"over {ratio(span)} the parameters: time max/min {spread:.2f}×, RSS band {band / MIB:.0f} MiB"))
    elif any(r.workload.kind == "params-curve" for r in results):
        targets.append(Target("flat along parameters", None, "fewer than 2 points converted"))
    nodes = [r for r in results if r.workload.kind == "nodes-curve" and r.ok("ow-convert")]
    if len(nodes) >= 3:
        xs = [float(r.workload.nodes) for r in nodes]
        times = [r.ok("ow-convert").best("load", "convert") for r in nodes]
        r2 = r_squared(xs, times)
        slope = fit_slope([math.log(x) for x in xs], [math.log(t) for t in times])
        per_node = fit_slope(xs, times)
        targets.append(Target(
            f"linear along nodes (linear fit R² ≥ {LINEAR_MIN_R2}, log-log slope ≤ {LINEAR_MAX_SLOPE})",
            r2 >= LINEAR_MIN_R2 and slope <= LINEAR_MAX_SLOPE,
            f"R² {r2:.3f}, log-log slope {slope:.2f}, {per_node * 1e3:.2f} ms per node; "
            f"RSS R² {r_squared(xs, [float(r.ok('ow-convert').rss) for r in nodes]):.3f}"))
    elif any(r.workload.kind == "nodes-curve" for r in results):
        targets.append(Target("linear along nodes", None, "fewer than 3 points converted"))
    return targets


def fit_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def r_squared(xs: Sequence[float], ys: Sequence[float]) -> float:
    slope, my = fit_slope(xs, ys), statistics.fmean(ys)
    intercept = my - slope * statistics.fmean(xs)
    residual = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys))
    total = sum((y - my) ** 2 for y in ys)
    return 1 - residual / total if total else 1.0


def targets_section(targets: Sequence[Target], title: str = "Targets") -> str:
    mark = {True: "met", False: "**missed**", None: "not evaluated"}
    return f"### {title}\n\n" + table(["target", "result", "measured"], [[t.text, mark[t.met], t.detail] for t in targets])


# ---------------------------------------------------------------------------------------------- export


@dataclass
class ExportResult:
    """One export workload: ow-export and hf-export, each with the import-only reference of its imports."""

    workload: Workload
    measurements: dict[str, Measurement]
    references: dict[str, Measurement]

    def ok(self, method: str) -> Measurement | None:
        m = self.measurements.get(method)
        return m if m is not None and m.error is None else None

    def above_import(self, method: str) -> int:
        return self.measurements[method].rss - self.references[method].rss


def run_export(name: str, references: dict[str, Measurement], runs: int, timeout: float,
               progress: Callable[[str], None]) -> ExportResult:
    progress(f"{name}: building")
    path = workloads.build(name)
    result = ExportResult(workloads.describe(name), {}, references)
    for method in EXPORT_METHODS:
        progress(f"{name}: {method}")
        result.measurements[method] = measure(method, path, runs, timeout)
    return result


def sequence_symbolic(m: Measurement) -> bool:
    """Whether the program's input_ids kept its sequence dim symbolic."""
    dims = next(iter(m.details.get("symbolic_dims", {}).values()), [])
    return len(dims) > SEQUENCE_AXIS and dims[SEQUENCE_AXIS]


def export_notes(m: Measurement) -> str:
    """Why a program is not what was asked: the error, where tracing stopped, warnings, fixed dims."""
    notes = []
    if m.error:
        notes.append(f"**failed** ({m.error})")
    if m.details.get("last_node"):
        notes.append(f"last node run: {m.details['last_node']}")
    notes += m.details.get("warnings", [])
    calls = m.details.get("torch_export_calls", [])
    if len(calls) > 1:
        notes.append(f"torch.export.export ran {len(calls)} times ({', '.join(human_seconds(c) for c in calls)})")
    if m.details.get("specialised"):
        notes.append("dims fixed by: " + "; ".join(m.details["specialised"]))
    return "; ".join(notes) or "—"


def export_section(results: Sequence[ExportResult], runs: int) -> str:
    ow_ref, hf_ref = results[0].references["ow-export"], results[0].references["hf-export"]
    intro = (
        "Each model is exported with a symbolic batch and sequence length and its weights never allocated. "
        "**ow-export**: `onnx_weightless.export(path)` on the skeleton exported with `input_ids: int64[batch, sequence]` "
        "(`llama-*-dynamic`), every ONNX dim_param left symbolic; time = load + convert + export, in-process. "
        "**hf-export**: transformers' `LlamaForCausalLM` built from the same `config.json` (eager attention, as "
        "the skeletons were exported) under "
        "`with torch.device(\"meta\")`, then `torch.export.export(model, (input_ids,), dynamic_shapes=..., "
        "strict=False)` with `Dim(\"batch\")` and `Dim(\"sequence\")` (example 4×4, as ow.export's default); "
        "time = build + export, in-process. Both programs must hold their state on `meta` (checked). "
        f"Fresh process per run, {runs} run{'s' if runs != 1 else ''} each, medians. *above imports*: peak RSS minus that of the import-only "
        f"process of the same imports: `import onnx_weightless` for ow-export (peak {ow_ref.rss / MIB:.0f} MiB, "
        f"wall {ow_ref.wall:.2f} s), `import torch` + transformers' `LlamaConfig`/`LlamaForCausalLM` for hf-export "
        f"(peak {hf_ref.rss / MIB:.0f} MiB, wall {hf_ref.wall:.2f} s). *graph nodes*: `len(program.graph.nodes)`.\n"
    )

    def cell(m: Measurement | None, text: Callable[[Measurement], str]) -> str:
        return text(m) if m else "failed"

    header = ["model", "parameters", "ow-export", "hf-export", "ow / hf", "graph nodes ow / hf",
              "peak RSS MiB ow / hf", "above imports MiB ow / hf", "input_ids ow / hf"]
    rows = []
    for r in results:
        ow, hf = r.ok("ow-export"), r.ok("hf-export")
        rows.append([
            r.workload.name,
            human_count(r.workload.parameters),
            cell(ow, lambda m: human_seconds(m.after_import())),
            cell(hf, lambda m: human_seconds(m.after_import())),
            f"{ow.after_import() / hf.after_import():.2f}×" if ow and hf else "—",
            f"{cell(ow, lambda m: str(m.details['graph_nodes']))} / {cell(hf, lambda m: str(m.details['graph_nodes']))}",
            " / ".join(f"{r.measurements[m].rss / MIB:.0f}" for m in EXPORT_METHODS),
            " / ".join(f"{r.above_import(m) / MIB:+.0f}" for m in EXPORT_METHODS),
            f"{cell(ow, lambda m: next(iter(m.details['input_shapes'].values())))} / "
            f"{cell(hf, lambda m: next(iter(m.details['input_shapes'].values())))}",
        ])
    detail_header = ["model", "method", "wall s", "phases (in-process)", "range constraints", "state (meta)", "notes"]
    detail_rows = []
    for r in results:
        for method in EXPORT_METHODS:
            m = r.measurements[method]
            constraints = m.details.get("range_constraints")
            detail_rows.append([
                r.workload.name,
                method,
                f"{m.wall:.2f}",
                ", ".join(f"{name} {human_seconds(seconds)}" for name, seconds in m.phases.items()) or "—",
                ", ".join(f"{symbol}: {bound}" for symbol, bound in constraints.items()) if constraints else
                ("none (no symbolic dim)" if constraints is not None else "—"),
                f"{m.details['state_tensors']} tensors, {human_count(m.details['state_elements'])} elements"
                if "state_tensors" in m.details else "—",
                export_notes(m),
            ])
    return (
        intro + "\n" + table(header, rows) + "\n\n" + table(detail_header, detail_rows) + "\n\n"
        + targets_section(export_targets(results), "Export targets")
    )


def export_targets(results: Sequence[ExportResult]) -> list[Target]:
    targets = []
    for r in results:
        name = r.workload.name
        ow, hf = r.ok("ow-export"), r.ok("hf-export")
        if ow is None:
            targets.append(Target(f"{name}: ow-export succeeds", False, r.measurements["ow-export"].error or ""))
            continue
        shape = next(iter(ow.details["input_shapes"].values()))
        targets.append(Target(
            f"{name}: ow-export keeps the sequence length symbolic", sequence_symbolic(ow),
            f"input_ids {shape}" + (f"; {'; '.join(ow.details.get('warnings', []))}" if ow.details.get("warnings") else "")))
        targets.append(Target(
            f"{name}: program state all on meta", True,
            f"{ow.details['state_tensors']} tensors, {human_count(ow.details['state_elements'])} elements"))
        ratio_text = f"{name}: ow-export time ≤ {EXPORT_TIME_RATIO}× hf-export's"
        if hf:
            share = ow.after_import() / hf.after_import()
            caveat = "" if sequence_symbolic(ow) else "; ow-export traced with fixed dims, not the symbolic export asked for"
            targets.append(Target(ratio_text, share <= EXPORT_TIME_RATIO,
                                  f"{share:.2f}× ({human_seconds(ow.after_import())} vs {human_seconds(hf.after_import())}){caveat}"))
        else:
            targets.append(Target(ratio_text, None, f"hf-export failed: {r.measurements['hf-export'].error}"))
        above = r.above_import("ow-export")
        targets.append(Target(
            f"{name}: ow-export peak RSS ≤ {EXPORT_RSS_ABOVE_IMPORT // MB} MB above its imports",
            above <= EXPORT_RSS_ABOVE_IMPORT, f"{above / MB:+.0f} MB ({above / MIB:+.0f} MiB); hf-export "
            f"{r.above_import('hf-export') / MB:+.0f} MB above its imports"))
    return targets


# ---------------------------------------------------------------------------------------------- document


def machine() -> str:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        ram_kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
    versions = ", ".join(f"{package} {metadata.version(package)}" for package in ("torch", "onnx", "onnx2torch"))
    return (
        f"* CPU: {cpu}, {os.cpu_count()} cores\n* RAM: {ram_kib / 1024 / 1024:.1f} GiB\n"
        f"* Kernel: {platform.system()} {platform.release()}\n"
        f"* Python {platform.python_version()}, {versions}\n"
    )


def method_notes(runs: int) -> str:
    return (
        f"Each (workload, method) runs in a fresh Python process under `/usr/bin/time -v`, {runs} times; "
        "the tables show medians (a failing method runs once: its failure is the result). "
        "*wall s*: the whole process, imports included. *peak RSS*: the process's maximum resident set size. "
        "*read: scan*: bytes the skeleton scan read from the model file (`Skeleton.bytes_read`, our methods only). "
        "*read: rchar*: bytes this process read by read syscalls during the measured part, from any file "
        "(`/proc/self/io` after minus before; includes modules imported lazily on first use). "
        "*phases*: `time.perf_counter` inside the process; ow-convert's *load* is the skeleton read inside "
        "`convert(path)`, *convert* the rest of that call. Ratios compare in-process phases. The curve "
        "targets (flat, linear) fit each point's fastest run: on a shared 2-core machine timing noise "
        "only ever adds, and it comes in bursts that can cover all runs of one point.\n\n"
        "Methods: **ow-load** `onnx_weightless.load(path)`; **ow-convert** `onnx_weightless.convert(path)` then "
        "`meta_forward` (symbolic dims 1 for the first, 128 elsewhere; integer inputs real zeros); "
        "**onnx-load** `onnx.load(path, load_external_data=False)`; **B0** `onnx2torch.convert(onnx.load(path))` "
        "with weights; **B1** the seed's approach: `onnx.load(path, load_external_data=False)`, onnx2torch's "
        "`OnnxTensor.to_torch` patched to return `torch.empty(dims, dtype, device=\"meta\")`, "
        "`torch.set_default_device(\"meta\")`, `onnx2torch.convert`; **B1r** B1 with the two changes onnx2torch "
        "needs to convert today's exports: tensors of at most 1 KiB serialized stay real (converters read axes, "
        "shapes and perms from them) and the default device stays `cpu` (onnx2torch's Transpose reads its perm back "
        "from a tensor it creates). Where B1 fails, the targets set against B1 are evaluated against B1r.\n"
    )


def write_doc(sections: Sequence[str] | None, export: str | None, html_report: str | None, runs: int,
              argv: Sequence[str]) -> None:
    """Writes the results (``sections``), the export section (``export``) and the HTML report's
    (``html_report``); a part not run this time (None) is kept as the document has it, since each
    part names the run that wrote it."""
    command = shlex.join(["python", "benchmarks/run.py", *argv])
    today = datetime.date.today().isoformat()
    old = DOC.read_text() if DOC.exists() else ""
    old, found_report, old_report = old.partition("\n" + REPORT_HEADING + "\n")
    old_main, found, old_export = old.partition("\n" + EXPORT_HEADING + "\n")
    if sections is not None:
        main_text = (
            "# Benchmarks\n\n"
            f"Written by `{command}` (`make bench`) on {today}.\n\n"
            "## Machine\n\n" + machine() + "\n## Method\n\n" + method_notes(runs) + "\n## Results\n\n"
            + "\n\n".join(sections) + "\n"
        )
    else:
        main_text = old_main.rstrip("\n") + "\n" if old_main.strip() else "# Benchmarks\n\n## Machine\n\n" + machine()
    if export is not None:
        versions = ", ".join(f"{package} {metadata.version(package)}" for package in ("torch", "transformers"))
        export_text = (
            f"{EXPORT_HEADING}\n\nWritten by `{command}` on {today} ({versions}).\n\n" + export + "\n"
        )
    else:
        export_text = EXPORT_HEADING + "\n" + old_export.rstrip("\n") + "\n" if found else ""
    if html_report is not None:
        report_text = f"{REPORT_HEADING}\n\nWritten by `{command}` on {today}.\n\n" + html_report + "\n"
    else:
        report_text = REPORT_HEADING + "\n" + old_report if found_report else ""
    DOC.write_text(main_text + ("\n" + export_text if export_text else "") + ("\n" + report_text if report_text else ""))


# ---------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=(*workloads.WORKLOADS, "export", "report"),
                        help="these workloads only; 'export': the export section; 'report': the HTML report's")
    parser.add_argument("--runs", type=int, default=3, help="processes per (workload, method); medians are shown")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a process is killed")
    parser.add_argument("--write-doc", action="store_true", help=f"also write {DOC.relative_to(HERE.parent)}")
    args = parser.parse_args()
    names = args.only or (*workloads.SWEEP_WORKLOADS, "export", "report")
    sweep = [name for name in names if name not in ("export", "report")]

    def progress(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    progress("import reference")
    reference = measure("import", MEASURE, args.runs, args.timeout)
    if reference.error:
        sys.exit(f"import onnx_weightless failed: {reference.error}")

    sections = None
    if sweep:
        sections = [reference_section(reference)]
        print(sections[0], flush=True)
        results = []
        for name in sweep:
            results.append(run_workload(name, args.runs, args.timeout, progress))
            sections.append(workload_section(results[-1], reference))
            print(sections[-1] + "\n", flush=True)

        for kind, axis in (("params-curve", "parameters"), ("nodes-curve", "nodes")):
            section = curve_section(results, kind, axis, reference)
            if section:
                sections.append(section)
                print(section + "\n")

        targets = [t for r in results if r.workload.kind == "embedded" for t in embedded_targets(r, reference)]
        targets += [t for r in results if r.workload.kind == "skeleton" for t in skeleton_targets(r, reference)]
        targets += curve_targets(results, reference)
        if targets:
            sections.append(targets_section(targets))
            print(sections[-1])

    export = None
    if "export" in names:
        start = time.perf_counter()
        progress("import reference of hf-export")
        references = {"ow-export": reference}
        for method in EXPORT_METHODS:
            if EXPORT_REFERENCES[method] != "import":
                references[method] = measure(EXPORT_REFERENCES[method], MEASURE, args.runs, args.timeout)
        exports = [run_export(name, references, args.runs, args.timeout, progress) for name in workloads.EXPORT_WORKLOADS]
        export = export_section(exports, args.runs)
        print(f"\n{EXPORT_HEADING}\n\n{export}\n", flush=True)
        progress(f"export section: {time.perf_counter() - start:.0f} s")
    html_report = None
    if "report" in names:
        progress("HTML report")
        html_report = report.report_section(args.runs)
        print(f"\n{REPORT_HEADING}\n\n{html_report}\n", flush=True)
    if args.write_doc:
        write_doc(sections, export, html_report, args.runs, sys.argv[1:])
        progress(f"wrote {DOC}")


if __name__ == "__main__":
    main()
