"""The virtual environment the suite runs in is the lock (requirements/lock-<machine>.txt): every
package at its locked version and nothing else, so that no result depends on a package nobody pinned."""

from __future__ import annotations

import platform
import re
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements" / f"lock-{platform.machine()}.txt"
PROJECT = "onnx-weightless"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, str]:
    """Package -> version, from a lock as `make lock` writes it (``name==version [; marker] \\``)."""
    pins = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if match:
            pins[_canonical(match[1])] = match[2]
    return pins


def test_the_lock_pins_every_package_once_with_hashes():
    text = LOCK.read_text()
    pins = locked(LOCK)
    requirement_lines = [line for line in text.splitlines() if re.match(r"[A-Za-z0-9]", line)]
    assert len(requirement_lines) == len(pins), "a package is pinned twice"
    # Each pin continues onto hash lines: pip's --require-hashes refuses anything else.
    assert text.count("==") == len(pins) and len(re.findall(r"--hash=sha256:[0-9a-f]{64}", text)) >= len(pins)
    for name in ("torch", "torchvision", "onnx", "onnx2torch", "numpy", "protobuf", "ml-dtypes", "pip"):
        assert name in pins, name


@pytest.mark.skipif(Path(sys.prefix).resolve() != (REPO / ".venv").resolve(),
                    reason="runs in the project's virtual environment (make test), which the lock describes")
def test_the_virtual_environment_is_exactly_the_lock():
    site_packages = sysconfig.get_paths()["purelib"]  # not PYTHONPATH's extra onnx (test-python-oldest-onnx)
    installed = {_canonical(d.metadata["Name"]): d.version for d in metadata.distributions(path=[site_packages])}
    installed.pop(PROJECT, None)
    expected = locked(LOCK)
    assert {n: v for n, v in installed.items() if expected.get(n) != v} == {}, "installed but not as locked"
    assert sorted(set(expected) - set(installed)) == [], "locked but not installed"
