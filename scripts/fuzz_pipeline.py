"""Fuzzes the whole pipeline: mutations of real ONNX files through scan, load, inspect, convert,
meta_forward, export and materialize(init="zeros"), each case in a forked child under an
address-space cap and a time limit, as many at once as there are cores.

    python scripts/fuzz_pipeline.py [--seconds 60] [--cases N] [--seed 0] [--jobs N] [--out .cache/fuzz-pipeline]

The parent imports the package, torch and torch.export once and runs the pipeline on a few seeds
before it forks, so that a child starts with every import and lazy initialisation done: a case then
costs tens of milliseconds rather than the two seconds of importing onnx2torch and torch._dynamo.

A case fails when a step raises an exception outside the WeightlessError hierarchy, the child dies
of a signal (a crash), runs past the time limit (a hang) or past the cap (MemoryError). Each
distinct failure (step, exception type, the message's first line without numbers) is saved as
``<out>/findings/<signature hash>.onnx`` with a ``.txt`` telling what it raised; a run first
replays the findings saved before, so a fixed one stays a check until it becomes a unit test.
The exit status is 1 when any case failed. docs/fuzzing.md gives the runs.

Seeds: the wild corpus (tests/wild, files made by other exporters), the architecture fixtures
already built in .cache/fixtures, and the bundled 8B model; each as its skeleton, so that a
mutated file stays small and a case stays quick. Mutations, one per case: half change one protobuf field
(FieldMutator: a number, a name swapped for another, a repeated element dropped, doubled or swapped,
a message cleared), so that the file stays well-framed and the case reaches the converters; the
others are byte-level: bit flips, a truncation, a range spliced in from another seed, an over-long
varint, a run of zeroes.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import logging
import os
import random
import re
import resource
import signal
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
ADDRESS_SPACE_CAP = 8 << 30
CASE_SECONDS = 60
#: A child still running this long after its own alarm is stuck outside Python: killed, a hang.
KILL_AFTER_SECONDS = CASE_SECONDS + 10
#: materialize(init="zeros") allocates the weights: models holding more than this skip it.
MATERIALIZE_UP_TO = 256 << 20
#: torch.export traces every node under fake tensors, about 1 s for a 100-node graph where the
#: other steps together take 50 ms: it runs on one case in EXPORT_EVERY that reach it (chosen by
#: the random seed), and only on models of at most EXPORT_UP_TO_NODES nodes in their main graph
#: (a 1,000-node decoder takes 6 s), so that the cases stay many and each within CASE_SECONDS.
EXPORT_EVERY = 8
EXPORT_UP_TO_NODES = 400
#: The steps in order; a case ends after the last, or at the first to raise.
STEPS = ("scan", "load", "inspect", "convert", "meta_forward", "export", "materialize")


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


BYTE_KINDS = ("flip", "truncate", "splice", "varint", "zeroes")


def mutate_bytes(data: bytes, seeds: list[bytes], rng: random.Random) -> tuple[bytes, str]:
    """One byte-level mutation: most break the protobuf framing, which the scan must refuse."""
    if not data:
        return data, "empty"
    kind = rng.choice(BYTE_KINDS)
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


class FieldMutator:
    """Mutations of one protobuf field of a seed, whose file stays well-framed: a number set to 0,
    -1, a neighbour or a huge value; a name swapped for another of the model's names (an input
    read from the wrong value, a node writing another's output); an element of a repeated field
    dropped, doubled or swapped; a message cleared. These pass the scan and reach the converters,
    the meta run and torch.export, where the byte-level mutations rarely go."""

    KINDS = ("number", "name", "drop", "double", "swap", "clear")

    def __init__(self) -> None:
        self._fields: dict[int, tuple[list, list[str]]] = {}

    def _walk(self, message, path: tuple, fields: list, names: list[str]) -> None:
        for field, value in message.ListFields():
            if field.is_repeated:
                fields.append(path + ((field.name, None),))
                for i, item in enumerate(value):
                    fields.append(path + ((field.name, i),))
                    if field.type == field.TYPE_MESSAGE:
                        self._walk(item, path + ((field.name, i),), fields, names)
                    elif field.type == field.TYPE_STRING:
                        names.append(item)
            else:
                fields.append(path + ((field.name, None),))
                if field.type == field.TYPE_MESSAGE:
                    self._walk(value, path + ((field.name, None),), fields, names)
                elif field.type == field.TYPE_STRING:
                    names.append(value)

    def mutate(self, seed: int, data: bytes, rng: random.Random) -> tuple[bytes, str] | None:
        """``data`` (seed number ``seed``) with one field changed; None when the change picked
        does not apply to that field (the caller mutates otherwise)."""
        import onnx

        model = onnx.ModelProto.FromString(data)
        if seed not in self._fields:
            fields: list = []
            names: list[str] = []
            self._walk(model, (), fields, names)
            self._fields[seed] = fields, sorted(set(names))
        fields, names = self._fields[seed]
        if not fields:
            return None
        *parents, (name, index) = rng.choice(fields)
        holder = model
        for step, at in parents:
            holder = getattr(holder, step) if at is None else getattr(holder, step)[at]
        field = holder.DESCRIPTOR.fields_by_name[name]
        kind = rng.choice(self.KINDS)
        try:
            if field.is_repeated and index is None:
                items = getattr(holder, name)
                if kind == "clear" or not items:
                    holder.ClearField(name)
                elif kind in ("drop", "number", "name"):
                    del items[rng.randrange(len(items))]
                elif kind == "double":
                    items.append(items[rng.randrange(len(items))])
                elif len(items) > 1:  # swap
                    i, j = rng.sample(range(len(items)), 2)
                    if field.type == field.TYPE_MESSAGE:
                        first, second = type(items[i])(), type(items[j])()
                        first.CopyFrom(items[j]), second.CopyFrom(items[i])
                        items[i].CopyFrom(first), items[j].CopyFrom(second)
                    else:
                        items[i], items[j] = items[j], items[i]
            elif field.type == field.TYPE_MESSAGE:
                target = getattr(holder, name)[index] if index is not None else getattr(holder, name)
                if kind == "clear":
                    target.Clear()
                elif index is not None and kind in ("drop", "double"):
                    items = getattr(holder, name)
                    if kind == "drop":
                        del items[index]
                    else:
                        items.add().CopyFrom(target)
                else:
                    return None
            else:
                current = getattr(holder, name)[index] if index is not None else getattr(holder, name)
                value = self._value(field, current, names, rng)
                if index is not None:
                    getattr(holder, name)[index] = value
                else:
                    setattr(holder, name, value)
                kind = "name" if field.type == field.TYPE_STRING else "number"
            return model.SerializeToString(), f"field-{kind}"
        except (ValueError, TypeError, IndexError):  # a value the field's type does not take
            return None

    @staticmethod
    def _value(field, current, names: list[str], rng: random.Random):
        if field.type == field.TYPE_STRING:
            return rng.choice([*(names[rng.randrange(len(names))] for _ in range(3) if names), "", current + "_"])
        if field.type == field.TYPE_BYTES:
            return current[: rng.randrange(len(current) + 1)] if current else b"\x00" * rng.randint(1, 16)
        if field.type == field.TYPE_BOOL:
            return not current
        if field.type in (field.TYPE_FLOAT, field.TYPE_DOUBLE):
            return rng.choice([0.0, -current, float("nan"), float("inf"), current * 1e30])
        bits = 32 if field.type in (field.TYPE_INT32, field.TYPE_SINT32, field.TYPE_ENUM, field.TYPE_SFIXED32) else 64
        value = rng.choice([0, 1, -1, current + 1, current - 1, current * 2, rng.randrange(-1000, 1000),
                            (1 << (bits - 1)) - 1, -(1 << (bits - 1)), 1 << (bits - 2)])
        if field.type in (field.TYPE_UINT32, field.TYPE_UINT64, field.TYPE_FIXED32, field.TYPE_FIXED64):
            value = abs(value)
        return value


def mutate(seeds: list[bytes], fields: FieldMutator, rng: random.Random) -> tuple[bytes, str]:
    """One case: a seed with a field changed (half the cases) or a byte-level mutation."""
    seed = rng.randrange(len(seeds))
    if rng.random() < 0.5:
        changed = fields.mutate(seed, seeds[seed], rng)
        if changed is not None:
            return changed
    return mutate_bytes(seeds[seed], seeds, rng)


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


class Failure(NamedTuple):
    """A case the fuzzer fails on: the step (or "crash", "hang", "harness") and what happened."""

    step: str
    description: str


def run_case(path: Path, export: bool) -> tuple[str, Failure | None]:
    """Runs every step on the model at ``path``: how it ended ("passed", "passed with export", or the
    step that raised a WeightlessError or failed) and the failure, None when each step gave a
    result or a typed error."""
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
        proto = onnx.load(str(path), load_external_data=False)
        try:
            inputs = _inputs(gm, proto)
        except Exception:  # noqa: BLE001 - an input this harness cannot build: the step is not run
            inputs = None
        if inputs is not None:
            ow.meta_forward(gm, *inputs)
        step = "export"
        exported = export and len(proto.graph.node) <= EXPORT_UP_TO_NODES
        if exported:
            ow.export(path, strict=False)
        step = "materialize"
        if index.totals.all.bytes <= MATERIALIZE_UP_TO:
            ow.materialize(gm, init="zeros")
        del model
    except ow.WeightlessError:
        return step, None
    except MemoryError:
        return step, Failure(step, "MemoryError: over the address-space cap")
    except Exception as error:  # noqa: BLE001 - what the fuzzer looks for
        where = traceback.extract_tb(error.__traceback__)[-1]
        return step, Failure(step, f"{type(error).__name__}: {error} [{Path(where.filename).name}:{where.lineno}]")
    return "passed with export" if exported else "passed", None


def _hang(signum, frame):
    raise TimeoutError(f"the case ran past {CASE_SECONDS} s")


def start_case(path: Path, report: Path, export: bool) -> int:
    """Forks a child that runs run_case on ``path``, capped, and writes how it ended to ``report``
    (the end, then the failure's step and description); returns its pid."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            # A model's own warnings, and what torch prints and logs of a failed trace, are no finding.
            warnings.simplefilter("ignore")
            logging.disable(logging.CRITICAL)
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))
            signal.signal(signal.SIGALRM, _hang)
            signal.alarm(CASE_SECONDS)
            end, failure = run_case(path, export)
            signal.alarm(0)
            report.write_text(f"{end}\n" + (f"{failure.step}\n{failure.description}\n" if failure else ""))
        except TimeoutError as error:
            report.write_text(f"hang\nhang\n{error}\n")
        except BaseException as error:  # noqa: BLE001 - anything else the child meets is a finding
            report.write_text(f"harness\nharness\n{type(error).__name__}: {error}\n")
        finally:
            os._exit(code)
    return pid


def outcome(status: int, report: Path) -> tuple[str, Failure | None]:
    """A finished child's end and failure, from its wait status and report."""
    if os.WIFSIGNALED(status):
        if os.WTERMSIG(status) == signal.SIGKILL and report.exists() and report.read_text() == "killed\n":
            return "hang", Failure("hang", f"still running {KILL_AFTER_SECONDS} s after it started, outside Python")
        return "crash", Failure("crash", f"killed by signal {os.WTERMSIG(status)}")
    if not report.exists():
        return "crash", Failure("crash", f"exited with status {os.WEXITSTATUS(status)} and no report")
    end, _, rest = report.read_text().partition("\n")
    step, _, description = rest.partition("\n")
    return end, Failure(step, description.strip()) if step else None


class Pool:
    """Up to ``jobs`` cases running at once, each in its own forked child and files."""

    def __init__(self, jobs: int, work: Path) -> None:
        self.free = [work / f"slot-{i}" for i in range(jobs)]
        for slot in self.free:
            slot.mkdir()
        self.running: dict[int, tuple[Path, float, object]] = {}

    def start(self, data: bytes, tag: object, export: bool = True) -> None:
        slot = self.free.pop()
        (slot / "model.onnx").write_bytes(data)
        (slot / "report.txt").unlink(missing_ok=True)
        self.running[start_case(slot / "model.onnx", slot / "report.txt", export)] = (slot, time.monotonic(), tag)

    def has_room(self) -> bool:
        return bool(self.free)

    def wait(self) -> tuple[object, str, Failure | None]:
        """The next case to finish: its tag, end and failure. A child past KILL_AFTER_SECONDS is killed."""
        while True:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid:
                slot, _, tag = self.running.pop(pid)
                self.free.append(slot)
                return (tag, *outcome(status, slot / "report.txt"))
            now = time.monotonic()
            for pid, (slot, started, _) in self.running.items():
                if now - started > KILL_AFTER_SECONDS:
                    (slot / "report.txt").write_text("killed\n")
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.002)

    def drain(self):
        while self.running:
            yield self.wait()


def warm_up(seeds: list[bytes], work: Path) -> None:
    """Runs the pipeline on the smallest seeds in this process, before any fork: the imports and
    first-use initialisation (onnx2torch's converters, torch._dynamo) are then done once."""
    path = work / "warm-up.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for data in sorted(seeds, key=len)[:3]:
            path.write_bytes(data)
            run_case(path, export=True)


def signature(failure: Failure) -> str:
    """What makes two failures one: the step, the exception type and its message without numbers
    or quoted names."""
    first = failure.description.splitlines()[0] if failure.description else ""
    first = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", first)
    return f"{failure.step}: {re.sub(r'[0-9]+', 'N', first)}"


# -------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="fuzz for this long (default 60)")
    parser.add_argument("--cases", type=int, default=0, help="or stop after this many cases")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed (default: the time)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="cases at once (default: the cores)")
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
    seeds = skeletons(seed_files(not args.committed_seeds_only), work)
    warm_up(seeds, work)
    jobs = max(1, args.jobs)
    pool = Pool(jobs, work)

    failed: dict[str, Failure] = {}

    def replayed(name: str, end: str, failure: Failure | None) -> None:
        if failure:
            failed[signature(failure)] = failure
            print(f"still fails: {name}: {failure.step}: {failure.description[:200]}")

    for old in sorted(findings.glob("*.onnx")):  # earlier findings first: one still failing fails the run
        if not pool.has_room():
            replayed(*pool.wait())
        pool.start(old.read_bytes(), old.name)
    for finished in pool.drain():
        replayed(*finished)

    print(f"{len(seeds)} seeds; random seed {args.seed}; {jobs} at once", flush=True)
    rng = random.Random(args.seed)
    fields = FieldMutator()
    kinds, ends = collections.Counter(), collections.Counter()
    cases = new = 0

    def record(tag: tuple[bytes, str], end: str, failure: Failure | None) -> None:
        nonlocal new
        ends[end] += 1
        data, kind = tag
        if failure is None:
            return
        key = signature(failure)
        if key in failed:
            return
        failed[key] = failure
        new += 1
        name = hashlib.sha256(key.encode()).hexdigest()[:16]
        (findings / f"{name}.onnx").write_bytes(data)
        (findings / f"{name}.txt").write_text(f"{key}\n{failure.step}: {failure.description}\nmutation: {kind}\n")
        print(f"finding {name}: {failure.step}: {failure.description[:300]}", flush=True)

    start = time.monotonic()
    while time.monotonic() - start < args.seconds and (args.cases == 0 or cases < args.cases):
        if not pool.has_room():
            record(*pool.wait())
        data, kind = mutate(seeds, fields, rng)
        pool.start(data, (data, kind), export=rng.randrange(EXPORT_EVERY) == 0)
        cases += 1
        kinds[kind] += 1
    for finished in pool.drain():
        record(*finished)
    seconds = time.monotonic() - start
    print(f"{cases} cases in {seconds:.0f} s ({cases / max(seconds, 1e-9):.1f}/s): "
          + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print("ended: " + ", ".join(f"{end} {ends[end]}" for end in ("passed", "passed with export", *STEPS, "crash", "hang", "harness")
                                if ends[end]) + " (a step: the typed error it raised, or the failure)")
    print(f"{len(failed)} distinct failures, {new} new; findings in {findings}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
