"""Fuzzes the whole pipeline: mutations of real ONNX files through scan, load, inspect, convert,
meta_forward and materialize(init="zeros"), each case in a forked child (the package and torch are
imported once) under an address-space cap and a time limit.

    python scripts/fuzz_pipeline.py [--seconds 60] [--cases N] [--seed 0] [--out .cache/fuzz-pipeline]

A case fails when a step raises an exception outside the WeightlessError hierarchy, the child dies
of a signal (a crash), runs past the time limit (a hang) or past the cap (MemoryError). Each
distinct failure (step, exception type, the message's first line without numbers) is saved as
``<out>/findings/<signature hash>.onnx`` with a ``.txt`` telling what it raised; a run first
replays the findings saved before, so a fixed one stays a check until it becomes a unit test.
The exit status is 1 when any case failed. docs/fuzzing.md gives the runs.

Seeds: the wild corpus (tests/wild, files made by other exporters), the architecture fixtures
already built in .cache/fixtures, and the bundled 8B model; each as its skeleton, so that a
mutated file stays small and a case stays quick. Mutations, one per case: bit flips, a truncation,
a range spliced in from another seed, an over-long varint, a run of zeroes.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import random
import re
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEPS = ("scan", "load", "inspect", "convert", "meta_forward", "materialize")
ADDRESS_SPACE_CAP = 8 << 30
CASE_SECONDS = 30
#: materialize(init="zeros") allocates the weights: models holding more than this skip it.
MATERIALIZE_UP_TO = 256 << 20


# ------------------------------------------------------------------------------------------- seeds


def seed_files(with_fixtures: bool) -> list[Path]:
    found = sorted((REPO / "tests" / "wild").rglob("*.onnx"))
    if with_fixtures:
        found += sorted((REPO / ".cache" / "fixtures").glob("arch-*-embedded/model.onnx"))
    found.append(REPO / "models" / "llama3-8b.onnx")
    return [p for p in found if p.is_file()]


def skeletons(paths: list[Path], folder: Path) -> list[bytes]:
    """Each seed's skeleton bytes (payloads over 1 KiB left out), read once."""
    import onnx_weightless as ow

    seeds = []
    for i, path in enumerate(paths):
        target = folder / f"seed-{i}.onnx"
        try:
            ow.strip(path, target, size_threshold=1024)
        except ow.WeightlessError:
            continue
        seeds.append(target.read_bytes())
    return seeds


# ---------------------------------------------------------------------------------------- mutations


def mutate(data: bytes, seeds: list[bytes], rng: random.Random) -> tuple[bytes, str]:
    if not data:
        return data, "empty"
    kind = rng.choice(("flip", "truncate", "splice", "varint", "zeroes"))
    at = rng.randrange(len(data))
    if kind == "flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        return bytes(out), kind
    if kind == "truncate":
        return data[:at], kind
    if kind == "splice":
        other = rng.choice(seeds)
        start = rng.randrange(len(other))
        piece = other[start:start + rng.randint(1, 256)]
        return data[:at] + piece + data[at + rng.randint(0, 256):], kind
    if kind == "varint":
        return data[:at] + b"\xff" * 11 + b"\x01" + data[at + 1:], kind
    return data[:at] + b"\x00" * rng.randint(1, 64) + data[at + 64:], kind


# -------------------------------------------------------------------------------------------- a case


def _inputs(gm, onnx_model):
    """Inputs for meta_forward: meta tensors of the declared shapes (symbols 2), integers as real
    zeros where small (token ids feeding a Gather)."""
    import numpy as np
    import torch
    from onnx import helper

    initializers = {t.name for t in onnx_model.graph.initializer}
    inputs = []
    for value in onnx_model.graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else 2 for d in tensor.shape.dim]
        dtype = torch.from_numpy(np.zeros(0, helper.tensor_dtype_to_np_dtype(tensor.elem_type))).dtype
        count = 1
        for d in dims:
            count *= d
        device = "cpu" if not dtype.is_floating_point and count <= 1 << 16 else "meta"
        inputs.append(torch.zeros(dims, dtype=dtype, device=device))
    return inputs


def run_case(path: Path) -> tuple[str, str] | None:
    """Runs every step on the model at ``path``; the first failure as (step, description), or
    None when each step gave a result or a WeightlessError."""
    import onnx
    import onnx_weightless as ow

    step = "scan"
    try:
        index = ow.scan(path)
        step = "load"
        model = ow.load(path)
        step = "inspect"
        ow.inspect(path)
        step = "convert"
        gm = ow.convert(path)
        step = "meta_forward"
        try:
            inputs = _inputs(gm, onnx.load(str(path), load_external_data=False))
        except Exception:  # noqa: BLE001 - an input this harness cannot build: the step is not run
            inputs = None
        if inputs is not None:
            ow.meta_forward(gm, *inputs)
        step = "materialize"
        if index.totals.all.bytes <= MATERIALIZE_UP_TO:
            ow.materialize(gm, init="zeros")
        del model
    except ow.WeightlessError:
        return None
    except MemoryError:
        return step, "MemoryError: over the address-space cap"
    except Exception as error:  # noqa: BLE001 - what the fuzzer looks for
        where = traceback.extract_tb(error.__traceback__)[-1]
        return step, f"{type(error).__name__}: {error} [{Path(where.filename).name}:{where.lineno}]"
    return None


def _hang(signum, frame):
    raise TimeoutError(f"the case ran past {CASE_SECONDS} s")


def fork_case(path: Path, report: Path) -> tuple[str, str] | None:
    """run_case in a child process, capped; a crash or a hang is a failure too."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))
            signal.signal(signal.SIGALRM, _hang)
            signal.alarm(CASE_SECONDS)
            failure = run_case(path)
            signal.alarm(0)
            if failure:
                report.write_text(f"{failure[0]}\n{failure[1]}\n")
                code = 1
        except TimeoutError as error:
            report.write_text(f"hang\n{error}\n")
            code = 1
        except BaseException as error:  # noqa: BLE001 - anything else the child meets is a finding
            report.write_text(f"harness\n{type(error).__name__}: {error}\n")
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "crash", f"killed by signal {os.WTERMSIG(status)}"
    if os.WEXITSTATUS(status) == 0:
        return None
    step, _, description = report.read_text().partition("\n")
    return step, description.strip()


def signature(step: str, description: str) -> str:
    """What makes two failures one: the step, the exception type and its message without numbers
    or quoted names."""
    first = description.splitlines()[0] if description else ""
    first = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", first)
    return f"{step}: {re.sub(r'[0-9]+', 'N', first)}"


# -------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="fuzz for this long (default 60)")
    parser.add_argument("--cases", type=int, default=0, help="or stop after this many cases")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed (default: the time)")
    parser.add_argument("--out", type=Path, default=REPO / ".cache" / "fuzz-pipeline")
    parser.add_argument("--committed-seeds-only", action="store_true",
                        help="seed with the committed files only (not the fixtures built in .cache): with --seed and "
                             "--cases, the same cases on every machine")
    args = parser.parse_args()

    import onnx  # noqa: F401 - imported once, before the children fork
    import torch

    import onnx_weightless  # noqa: F401

    torch.set_num_threads(1)
    findings = args.out / "findings"
    findings.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="fuzz-pipeline-"))
    case_file, report = work / "model.onnx", work / "report.txt"

    failed: dict[str, tuple[str, str]] = {}
    for old in sorted(findings.glob("*.onnx")):  # earlier findings first: one still failing fails the run
        failure = fork_case(old, report)
        if failure:
            failed[signature(*failure)] = failure
            print(f"still fails: {old.name}: {failure[0]}: {failure[1][:200]}")

    seeds = skeletons(seed_files(not args.committed_seeds_only), work)
    print(f"{len(seeds)} seeds; random seed {args.seed}", flush=True)
    rng = random.Random(args.seed)
    kinds = collections.Counter()
    cases = new = 0
    start = time.monotonic()
    while time.monotonic() - start < args.seconds and (args.cases == 0 or cases < args.cases):
        data, kind = mutate(rng.choice(seeds), seeds, rng)
        case_file.write_bytes(data)
        failure = fork_case(case_file, report)
        cases += 1
        kinds[kind] += 1
        if failure is None:
            continue
        key = signature(*failure)
        if key in failed:
            continue
        failed[key] = failure
        new += 1
        name = hashlib.sha256(key.encode()).hexdigest()[:16]
        (findings / f"{name}.onnx").write_bytes(data)
        (findings / f"{name}.txt").write_text(f"{key}\n{failure[0]}: {failure[1]}\nmutation: {kind}\n")
        print(f"finding {name}: {failure[0]}: {failure[1][:300]}", flush=True)
    seconds = time.monotonic() - start
    print(f"{cases} cases in {seconds:.0f} s ({cases / max(seconds, 1e-9):.1f}/s): "
          + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print(f"{len(failed)} distinct failures, {new} new; findings in {findings}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
