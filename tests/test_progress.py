"""Progress lines: shown on a terminal (or when asked) for long work, never otherwise."""

from __future__ import annotations

import io

import onnx_weightless as ow
from onnx_weightless import _progress
from conftest import linear_reshape_model, save


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_shown_on_a_terminal_after_the_delay(monkeypatch):
    monkeypatch.setattr(_progress, "_DELAY", 0.0)
    monkeypatch.setattr(_progress, "_INTERVAL", 0.0)
    terminal = _Terminal()
    progress = _progress.Progress("converting", 4, "nodes", stream=terminal)
    for done in range(4):
        progress.update(done)
    progress.close()
    lines = terminal.getvalue().split("\r")
    assert "converting: 3/4 nodes (75%)" in lines
    assert lines[-1].startswith("converting: 4/4 nodes in ") and lines[-1].endswith(" s\n")


def test_silent_off_a_terminal_or_when_quick():
    pipe = io.StringIO()
    progress = _progress.Progress("converting", 4, "nodes", stream=pipe)
    progress.update(2)
    progress.close()
    assert pipe.getvalue() == ""
    terminal = _Terminal()
    quick = _progress.Progress("converting", 4, "nodes", stream=terminal)  # within the half-second delay
    quick.update(2)
    quick.close()
    assert terminal.getvalue() == ""


def test_convert_and_materialize_report_when_asked(tmp_path, rng, monkeypatch, capsys):
    monkeypatch.setattr(_progress, "_DELAY", 0.0)
    monkeypatch.setattr(_progress, "_INTERVAL", 0.0)
    path = save(linear_reshape_model(rng), tmp_path)
    gm = ow.convert(path, progress=True)
    ow.materialize(gm, path, progress=True)
    err = capsys.readouterr().err
    assert "converting: " in err and "materializing: " in err
    ow.convert(path)  # stderr is not a terminal under pytest: silent
    assert capsys.readouterr().err == ""
