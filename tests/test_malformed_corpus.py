"""The malformed-input corpus (tests/malformed): each file gives the typed error expected.json
names, with the words it lists, from ow.scan, ow.load and ow.convert (with and without weights),
and never a crash, a hang or a huge allocation.

The cases run in a child process (torch is imported once), under an address-space limit of what
the child holds once warmed up plus HEADROOM, and a time limit per case; the child reports each
case's results as a JSON line. If it dies or stalls, the case it was on fails saying so, and a new
child goes on with the cases after it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import onnx
import pytest

import onnx_weightless as ow

MALFORMED = Path(__file__).resolve().parent / "malformed"
EXPECTED = json.loads((MALFORMED / "expected.json").read_text())
CASES = EXPECTED["cases"]
CALLS = EXPECTED["python_calls"]["order"]

#: Address space the child may take beyond what it holds after its imports and a first conversion:
#: an allocation of this size (a declared length or dims believed) fails with MemoryError.
HEADROOM = 1 << 30
#: Seconds a case may take before it counts as a hang (the first conversion pays for warm-ups).
CASE_TIMEOUT = 60
#: Seconds the child may take to import torch, onnx2torch and this package and convert once.
STARTUP_TIMEOUT = 120

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses RLIMIT_AS and /proc/self/status")


# ---- the child --------------------------------------------------------------------------------


def _calls(path: str) -> dict:
    return {
        "scan": lambda: ow.scan(path),
        "load": lambda: ow.load(path),
        "convert": lambda: ow.convert(path),
        "convert_with_weights": lambda: ow.convert(path, with_weights=True),
    }


def _outcome(call) -> dict:
    try:
        call()
    except BaseException as error:  # noqa: BLE001 - every outcome is reported, MemoryError included
        kind = type(error)
        return {
            "error": kind.__name__,
            # Exactly the class onnx_weightless exports under that name (not a builtin namesake).
            "public": getattr(ow, kind.__name__, None) is kind,
            "message": str(error),
            "traceback": "".join(traceback.format_exception(error))[-3000:],
        }
    return {"error": None}


def _warm_up() -> None:
    """A first conversion, so that what torch and onnx2torch set up lazily is there before the limit."""
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "warm_up",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "warm_up.onnx")
        onnx.save(model, path)
        ow.convert(path)
        ow.convert(path, with_weights=True)


def _limit_address_space() -> dict:
    """Caps the address space at the current size plus HEADROOM; checks that the cap bites."""
    import resource

    with open("/proc/self/status") as status:
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    limit = size + HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        bytearray(2 * HEADROOM)
        bites = False
    except MemoryError:
        bites = True
    return {"vm_size": size, "limit": limit, "limit_bites": bites}


def _child(names: list[str]) -> None:
    import faulthandler

    faulthandler.enable()  # a crash prints every thread's Python stack on stderr
    _warm_up()
    info = _limit_address_space()
    info.update(package=ow.__file__, onnx=onnx.__version__)
    print(json.dumps({"ready": info}), flush=True)
    by_name = {case["name"]: case for case in CASES}
    for name in names:
        print(json.dumps({"start": name}), flush=True)
        path = str(MALFORMED / by_name[name]["file"])
        results = {call: _outcome(run) for call, run in _calls(path).items()}
        print(json.dumps({"case": name, "results": results}), flush=True)


# ---- the parent -------------------------------------------------------------------------------


class _Stalled(Exception):
    pass


def _messages(child: subprocess.Popen, timeout) -> Iterator[dict]:
    """The child's JSON lines, until its output ends; _Stalled when none comes within timeout()
    seconds. Reads the pipe itself: a buffered readline could hold a line select() no longer sees."""
    selector = selectors.DefaultSelector()
    selector.register(child.stdout, selectors.EVENT_READ)
    pending = b""
    while True:
        while b"\n" not in pending:
            if not selector.select(timeout()):
                raise _Stalled
            chunk = os.read(child.stdout.fileno(), 1 << 16)
            if not chunk:
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        yield json.loads(line)


def _run_children(names: list[str]) -> tuple[dict, dict, list]:
    """Runs the cases in children: ({case: results}, the first child's ready info, problems)."""
    results: dict[str, dict] = {}
    ready: dict = {}
    failures: list[str] = []
    pending = list(names)
    while pending:
        with tempfile.TemporaryFile(mode="w+") as stderr:
            child = subprocess.Popen([sys.executable, __file__, "--child", *pending], stdout=subprocess.PIPE,
                                     stderr=stderr)
            started = False
            current = None
            problem = None
            try:
                for message in _messages(child, lambda: CASE_TIMEOUT if started else STARTUP_TIMEOUT):
                    if "ready" in message:
                        started = True
                        ready = ready or message["ready"]
                    elif "start" in message:
                        current = message["start"]
                    else:
                        results[message["case"]] = message["results"]
                        pending.remove(message["case"])
                        current = None
                if pending:
                    problem = f"the child process ended (exit status {child.wait()})"
            except _Stalled:
                problem = f"no answer within {CASE_TIMEOUT if started else STARTUP_TIMEOUT} s (a hang?)"
            finally:
                if child.poll() is None:
                    child.kill()
                child.wait()
                child.stdout.close()
            if problem is None:
                continue
            stderr.seek(0)
            tail = stderr.read()[-4000:]
            if current is None:  # not inside a case: a new child would fare no better
                failures.append(f"the child process failed outside any case: {problem}\n{tail}")
                break
            results[current] = {"crash": f"{problem} while on this case; its stderr ends with:\n{tail}"}
            pending.remove(current)
    return results, ready, failures


@pytest.fixture(scope="module")
def corpus_run():
    started = time.monotonic()
    results, ready, failures = _run_children([case["name"] for case in CASES])
    return {"results": results, "ready": ready, "failures": failures, "seconds": time.monotonic() - started}


def test_the_child_ran_the_same_package_under_an_address_space_limit(corpus_run):
    assert not corpus_run["failures"], "\n".join(corpus_run["failures"])
    assert list(_calls("")) == CALLS
    ready = corpus_run["ready"]
    assert ready["package"] == ow.__file__ and ready["onnx"] == onnx.__version__
    assert ready["limit_bites"], f"an allocation of {2 * HEADROOM} bytes succeeded under the limit: {ready}"


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case, corpus_run):
    assert not corpus_run["failures"], "\n".join(corpus_run["failures"])
    results = corpus_run["results"][case["name"]]
    assert "crash" not in results, f"{case['file']}: {results['crash']}"
    expected = case["python"]
    raises_at = expected["raises_at"]
    failing = CALLS[CALLS.index(raises_at):] if raises_at else []
    for call in CALLS:
        got = results[call]
        where = f"{case['file']} ({case['exercises']}): {call}"
        if call not in failing:
            assert got["error"] is None, f"{where} raised {got['error']}: {got['message']}\n{got['traceback']}"
            continue
        assert got["error"] is not None, f"{where} succeeded; expected {expected['error']}"
        assert got["error"] == expected["error"] and got["public"], (
            f"{where} raised {got['error']}, expected onnx_weightless.{expected['error']}: {got['message']}\n"
            f"{got['traceback']}"
        )
        for words in expected["message"]:
            assert words in got["message"], f"{where}: {words!r} is not in the message {got['message']!r}"


def test_corpus_is_small_and_every_file_belongs_to_a_case():
    corpus = MALFORMED / "corpus"
    files = [path for path in corpus.rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) < 200 * 1024
    assert len(CASES) >= 50
    models = {MALFORMED / case["file"] for case in CASES}
    for path in files:
        top = corpus / path.relative_to(corpus).parts[0]
        assert top in models or top.suffix == ".data" or top.is_dir(), f"{path} belongs to no case"


def test_corpus_is_what_make_corpus_writes():
    """The committed files are the generator's output (regenerate with make_corpus.py after a change)."""
    spec = importlib.util.spec_from_file_location("make_corpus", MALFORMED / "make_corpus.py")
    make_corpus = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = make_corpus  # its dataclasses look their module up
    try:
        spec.loader.exec_module(make_corpus)
    finally:
        del sys.modules[spec.name]
    make_corpus.build_cases()
    for case in make_corpus.CASES:
        for relative, content in case.files.items():
            path = MALFORMED / "corpus" / relative
            assert path.read_bytes() == content, f"{path} differs from what make_corpus.py writes"
    assert [case.name for case in make_corpus.CASES] == [case["name"] for case in CASES]


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    _child(sys.argv[2:])
