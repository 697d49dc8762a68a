"""The HTML report's benchmark: `onnx-weightless inspect --html` on the 8B and 70B skeletons (the
CLI's time and peak memory, the file's size), and the page opened in headless Chromium (the time
from navigation start to the end of the page's script, which the page records, and the whole
browser process). Run by benchmarks/run.py (``--only report``)."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import workloads

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / "build" / "cpp" / "onnx-weightless"
WORKLOADS = ("llama-8b", "llama-70b")


def _time_cli(model: Path, html: Path) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of `inspect --html`, under /usr/bin/time."""
    done = subprocess.run(["/usr/bin/time", "-f", "%e %M", str(CLI), "inspect", "--html", str(html), str(model)],
                          capture_output=True, text=True, check=True)
    seconds, rss = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(rss)


def _open(html: Path, profile: Path) -> tuple[float, float]:
    """(ms from navigation to the end of the page's script, seconds of the whole browser process)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        raise SystemExit("the report benchmark needs headless Chromium (Debian: apt-get install chromium)")
    start = time.perf_counter()
    dom = subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={profile}", "--dump-dom", html.resolve().as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    wall = time.perf_counter() - start
    found = re.search(r'data-script-ms="(\d+)"', dom)
    if not found or 'data-rendered="ok"' not in dom or "data-errors" in dom:
        raise SystemExit(f"{html} did not render")
    return float(found.group(1)), wall


def report_section(runs: int) -> str:
    if not CLI.exists():
        raise SystemExit(f"{CLI} not found: run `make cpp` first")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in WORKLOADS:
            model = workloads.build(name)
            html = Path(folder) / f"{name}.html"
            cli = [_time_cli(model, html) for _ in range(runs)]
            page = [_open(html, Path(folder) / "profile") for _ in range(runs)]
            rows.append((name, statistics.median(s for s, _ in cli), max(r for _, r in cli) / 1024, html.stat().st_size / 1024,
                         statistics.median(ms for ms, _ in page), statistics.median(w for _, w in page)))
    lines = [
        "| workload | `inspect --html` | its peak RSS | report size | page script done | Chromium process |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, seconds, rss_mib, kib, script_ms, wall in rows:
        lines.append(f"| {name} | {seconds:.2f} s | {rss_mib:.0f} MiB | {kib:.1f} KiB | {script_ms:.0f} ms | {wall:.2f} s |")
    return (
        "Medians of " + str(runs) + " runs. *page script done*: `performance.now()` at the end of the page's "
        "script (from navigation start, so it covers parsing and laying out the page); *Chromium process*: "
        "the whole `chromium --headless --dump-dom` run, browser start-up included. Target: the 70B report "
        "loads in under 2 s.\n\n" + "\n".join(lines)
    )
