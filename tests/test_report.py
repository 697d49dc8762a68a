"""The HTML report (`inspect --html`, `ModelReport.to_html()`) opened in a real browser: headless
Chromium loads it from disk, runs its script and takes a screenshot; the page must render with no
script error, its block graph (repeated layers folded) and its charts present, and fetch nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

import onnx_weightless as ow
from tests.fixtures.architectures import build

REPO = Path(__file__).resolve().parents[1]
MODEL_8B = REPO / "models" / "llama3-8b.onnx"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("headless Chromium is not installed: `make test` installs Debian's chromium")
    return found


def _open(html: Path, screenshot: Path) -> str:
    """The DOM after the page's script ran, and a screenshot of the page."""
    browser = [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", f"--user-data-dir={html.parent / 'chromium-profile'}"]
    url = html.resolve().as_uri()
    subprocess.run([*browser, "--window-size=1400,1600", f"--screenshot={screenshot}", url],
                   capture_output=True, text=True, timeout=120, check=True)
    dom = subprocess.run([*browser, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True)
    return dom.stdout


def _body(dom: str) -> dict[str, str]:
    tag = re.search(r"<body([^>]*)>", dom)
    assert tag, dom[:500]
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(1)))


def _assert_rendered(html: Path, tmp_path: Path, *, blocks: int) -> str:
    text = html.read_text(encoding="utf-8")
    # Self-contained: no stylesheet, script, image or font fetched; the only URL is SVG's namespace.
    assert not re.search(r"<(link|img|iframe)\b|<script[^>]*\bsrc=", text)
    assert set(re.findall(r"https?://[^\s\"')]+", text)) <= {"http://www.w3.org/2000/svg"}
    screenshot = tmp_path / "screenshot.png"
    dom = _open(html, screenshot)
    body = _body(dom)
    assert body.get("rendered") == "ok" and "errors" not in body, body
    assert int(body["charts"]) == 6 and int(body["blocks"]) >= blocks, body
    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1400, 1600)
    colors = image.resize((140, 160)).getcolors(maxcolors=140 * 160)
    assert colors is not None and len(colors) > 20, "the screenshot is blank"
    return dom


def test_the_8b_report_folds_its_32_layers_and_charts_them(cli, tmp_path):
    html = tmp_path / "llama3-8b.html"
    subprocess.run([cli, "inspect", "--html", str(html), str(MODEL_8B)], capture_output=True, check=True)
    dom = _assert_rendered(html, tmp_path, blocks=10)
    # The 32 decoder layers are one block, ×32, in the block graph and in the charts by block.
    assert re.search(r'<span class="name">0 … 31</span> <span class="repeat">×32</span>', dom)
    assert "model/layers/0 … 31 ×32" in dom
    report = ow.inspect(MODEL_8B)
    assert f"{report.parameters / 1e9:.2f}B" in dom  # the totals' cards
    assert report.to_html() == html.read_text(encoding="utf-8")  # Python's is the CLI's


def test_a_cnn_report_shows_its_stages(tmp_path):
    path = build("resnet18", "default", "embedded").path
    html = tmp_path / "resnet18.html"
    report = ow.inspect(path)
    report.to_html(html)
    dom = _assert_rendered(html, tmp_path, blocks=5)
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        assert f'<span class="name">{stage}</span>' in dom
    # The charts by op type carry the analysis' own figures.
    assert "Conv" in dom and "1.81B" in dom


def test_a_report_says_what_it_could_not_cost(tmp_path):
    report = ow.inspect(REPO / "tests" / "wild" / "tf2onnx" / "tensor_ops.onnx")
    assert not report.analysis.complete
    html = report.to_html()
    assert "Incomplete:" in html and 'id="uncosted"' in html
    assert all(node.reason.replace("'", "&#39;") in html for node in report.analysis.uncosted)


def test_the_diff_report_shows_both_models_and_the_changes(cli, tmp_path):
    wild = REPO / "tests" / "wild" / "genai"
    fp32, int4 = wild / "llama-fp32" / "model.onnx", wild / "llama-int4" / "model.onnx"
    html = tmp_path / "diff.html"
    done = subprocess.run([cli, "diff", "--html", str(html), str(fp32), str(int4)], capture_output=True)
    assert done.returncode == 1, done.stderr
    text = html.read_text(encoding="utf-8")
    assert not re.search(r"<(link|img|iframe)\b|<script[^>]*\bsrc=", text)
    dom = _open(html, tmp_path / "diff.png")
    body = _body(dom)
    assert body.get("rendered") == "ok" and "errors" not in body, body
    assert int(body["charts"]) == 2  # MACs by block, one per side
    assert 'id="before-totals"' in dom and 'id="after-totals"' in dom
    assert "com.microsoft::MatMulNBits" in dom and "nodes changed (13)" in dom
    ow.diff(fp32, int4, html=tmp_path / "python.html")
    assert (tmp_path / "python.html").read_text(encoding="utf-8") == text  # Python's is the CLI's
