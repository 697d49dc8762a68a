"""docs/security.md's cases run as written: each in a fresh folder after the doc's setup block,
printing exactly the output the doc shows after it. ONNX_WEIGHTLESS_UPDATE_GOLDEN=1 rewrites the
shown outputs from a run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "security.md"
_BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.S)
_CASE = re.compile(r"^### (.+)$", re.M)

# Runs every case in its own folder under argv[1], in one process (torch is imported once); prints
# a JSON list of the outputs.
_RUNNER = """
import contextlib, io, json, os, sys
setup, cases = json.load(sys.stdin)
outputs = []
for position, case in enumerate(cases):
    folder = os.path.join(sys.argv[1], f"case-{position}", "work")
    os.makedirs(folder)
    os.chdir(folder)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        scope = {"__name__": "__doc_case__"}
        exec(setup, scope)
        exec(case, scope)
    outputs.append(printed.getvalue())
print(json.dumps(outputs))
"""


def _parse(text: str):
    """(setup code, [(title, code, shown output, span of the output block's body)])."""
    blocks = list(_BLOCK.finditer(text))
    setup = blocks[0]
    assert setup.group(1) == "python", "the first code block is the setup"
    cases = []
    for heading in _CASE.finditer(text):
        code, shown = [b for b in blocks if b.start() > heading.start()][:2]
        assert (code.group(1), shown.group(1)) == ("python", "text"), heading.group(1)
        cases.append((heading.group(1), code.group(2), shown.group(2), shown.span(2)))
    return setup.group(2), cases


def _run(tmp_path: Path, setup: str, codes: list[str]) -> list[str]:
    # The child imports exactly what this test process imports (the installed package, or the work tree's).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(tmp_path)],
        input=json.dumps([setup, codes]), capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_case_prints_what_the_doc_shows(tmp_path):
    text = DOC.read_text()
    setup, cases = _parse(text)
    assert len(cases) >= 10
    outputs = _run(tmp_path, setup, [code for _, code, _, _ in cases])
    if os.environ.get("ONNX_WEIGHTLESS_UPDATE_GOLDEN"):
        for (_, _, _, (start, end)), output in sorted(zip(cases, outputs), key=lambda pair: -pair[0][3][0]):
            text = text[:start] + output + text[end:]
        DOC.write_text(text)
        pytest.skip("docs/security.md outputs rewritten")
    for (title, _, shown, _), output in zip(cases, outputs):
        assert output == shown, f"case {title!r}"


def test_every_refusal_names_its_rule():
    """The cases meant to be refused show an error, and the ones meant to load show the values."""
    _, cases = _parse(DOC.read_text())
    for title, _, shown, _ in cases:
        if "refused" in title:
            assert shown.startswith("ExternalDataError: ") and ("refused" in shown or "beyond" in shown), title
        elif "loads" in title:
            assert shown == "read: [0.0, 1.0, 2.0, 3.0]\n", title
