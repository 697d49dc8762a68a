"""onnx's backend node test cases as a yardstick for conversion coverage and fidelity.

For each case (a small model plus inputs and expected outputs, built in memory by onnx):

- plain: does ``onnx2torch.convert`` convert it;
- ours: does ``convert(with_weights=True, strict=True)`` convert it (onnx2torch's converters plus
  this package's), and do its outputs equal the expected ones;
- weightless: does ``convert(strict=True, size_threshold=0)`` (every tensor meta except those read as
  values) convert exactly when ``ours`` does, with the same state names, shapes and dtypes;
- meta: does ``meta_forward`` of the weightless module give the expected outputs' shapes and dtypes
  (graph inputs read as values are given real, all others as meta tensors);
- opaque: for a case ``ours`` cannot convert, does the default (non-strict) conversion load it with
  opaque modules whose meta forward gives the expected shapes and dtypes;
- onnx2fx: does ``onnx2fx.convert`` (another ONNX -> torch.fx converter) convert it, and do its
  outputs equal the expected ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnx2fx
import onnx2torch
import torch
from onnx import numpy_helper

import onnx_weightless as ow
from onnx_weightless._converters.registry import opsets_of
from onnx_weightless._value_inputs import value_uses
from conftest import state_signature

__all__ = ["OLDER_OPSETS", "CaseResult", "DownConverted", "collect", "down_converted", "run_case", "sweep"]


@dataclass
class CaseResult:
    name: str
    op: str
    opset: int
    # What the case is made of, to tell a change of this package from a change in how onnx (or a
    # package it uses, such as ml_dtypes) generates the case: the model, and its first data set.
    model_digest: str
    data_digest: str
    plain: bool = False
    ours: bool = False
    ours_error: str = ""
    values: bool | None = None  # None: not comparable (see values_note)
    values_note: str = ""
    weightless: bool = False
    parity: bool = False
    meta: bool | None = None
    meta_note: str = ""
    opaque: bool | None = None  # only for cases `ours` does not convert
    onnx2fx: bool = False
    onnx2fx_values: bool | None = None  # None: not converted, or not comparable
    notes: list[str] = field(default_factory=list)


def collect() -> list:
    import inspect

    from onnx.backend.test.case.node import collect_testcases

    # onnx < 1.17 takes an op type to filter on, where an empty one means every operator.
    arguments = ("",) if inspect.signature(collect_testcases).parameters else ()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return collect_testcases(*arguments)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    return f"{type(error).__name__}: {message}"[:160]


def _operator(case, siblings: dict[str, str]) -> str:
    if "_expanded" in case.name:
        base = re.sub(r"_expanded.*$", "", case.name)
        return f"{siblings.get(base, base.removeprefix('test_'))} (expanded)"
    nodes = case.model.graph.node
    return nodes[0].op_type if len(nodes) == 1 else siblings.get(case.name, case.name.removeprefix("test_"))


class _Unheld:
    """A value torch cannot hold (strings, maps, float8 and other exotic element types)."""


UNHELD = _Unheld()


def _to_torch(value):
    """A tensor; a sequence as a list of them; an empty optional as None; else UNHELD."""
    if value is None:
        return None
    if isinstance(value, list):
        items = [_to_torch(item) for item in value]
        return UNHELD if any(item is UNHELD or item is None for item in items) else items
    if isinstance(value, onnx.TensorProto):
        value = numpy_helper.to_array(value)
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf" or value.dtype.name not in _NUMPY_DTYPES:
        return UNHELD
    return torch.from_numpy(np.array(value, copy=True, order="C"))  # ascontiguousarray would make 0-d 1-d


def _held(values: list) -> bool:
    return all(value is not UNHELD for value in values)


def _outputs(result, count: int) -> list:
    """A module's outputs as a list: it returns one value (a tensor, a list for a sequence, None
    for an empty optional) when the graph has one output, else a tuple."""
    return [result] if count == 1 else list(result)


def _clone(value):
    return [_clone(item) for item in value] if isinstance(value, list) else value.clone() if value is not None else None


#: Operators drawing random numbers: their values are never compared (ONNX leaves them to the runtime).
RANDOM_OPS = frozenset({"Bernoulli", "Multinomial", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike"})

_NUMPY_DTYPES = {"bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float16", "float32", "float64"}


def _compare_values(got: list, expected: list, rtol: float, atol: float) -> str:
    """An empty string when equal, else what differs."""
    if len(got) != len(expected):
        return f"{len(got)} outputs, expected {len(expected)}"
    for index, (ours, theirs) in enumerate(zip(got, expected)):
        difference = _compare_value(ours, _to_torch(theirs), rtol, atol)
        if difference:
            return f"output {index}: {difference}"
    return ""


def _compare_value(ours, reference, rtol: float, atol: float) -> str:
    if reference is UNHELD:
        return "expected value of a type torch cannot hold"
    if reference is None or isinstance(reference, list):
        if reference is None:
            return "" if ours is None else f"got {type(ours).__name__}, expected an empty optional"
        if not isinstance(ours, list) or len(ours) != len(reference):
            return f"got {type(ours).__name__}{f' of {len(ours)}' if isinstance(ours, list) else ''}, expected a sequence of {len(reference)}"
        return next((f"[{i}] {d}" for i, d in ((i, _compare_value(o, r, rtol, atol)) for i, (o, r) in enumerate(zip(ours, reference))) if d), "")
    if not isinstance(ours, torch.Tensor):
        return f"got {type(ours).__name__}"
    if tuple(ours.shape) != tuple(reference.shape) or ours.dtype != reference.dtype:
        return f"got {ours.dtype}{list(ours.shape)}, expected {reference.dtype}{list(reference.shape)}"
    a, b = ours.numpy().astype(np.float64), reference.numpy().astype(np.float64)
    if not np.allclose(a, b, rtol=max(rtol, 1e-5), atol=max(atol, 1e-6), equal_nan=True):
        worst = float(np.nanmax(np.abs(a - b))) if a.size else 0.0
        return f"values differ (max abs diff {worst:.3g})"
    return ""


def _meta(value):
    if isinstance(value, list):
        return [_meta(item) for item in value]
    return value if value is None else torch.empty(value.shape, dtype=value.dtype, device="meta")


def _meta_inputs(model: onnx.ModelProto, inputs: list) -> list:
    read_as_values = value_uses(model.graph, opsets_of(model))
    initializers = {i.name for i in model.graph.initializer}
    names = [v.name for v in model.graph.input if v.name not in initializers]
    return [t if name in read_as_values else _meta(t) for name, t in zip(names, inputs)]


def _shapes(values: Iterable) -> list:
    return [(tuple(v.shape), v.dtype) if isinstance(v, torch.Tensor) else _shapes(v) if isinstance(v, list) else type(v).__name__
            for v in values]


def _model_digest(model: onnx.ModelProto) -> str:
    return hashlib.sha256(model.SerializeToString(deterministic=True)).hexdigest()[:16]


def _data_digest(data_set) -> str:
    """Of the inputs and expected outputs, their element types and shapes included."""
    hasher = hashlib.sha256()
    for value in [*data_set[0], *data_set[1]]:
        if isinstance(value, np.ndarray) and value.dtype != object:
            hasher.update(f"{value.dtype}{value.shape}".encode() + value.tobytes())
        elif isinstance(value, np.ndarray):  # strings: the bytes of an object array are pointers
            hasher.update(f"{value.shape}{value.tolist()!r}".encode())
        elif isinstance(value, onnx.TensorProto):
            hasher.update(value.SerializeToString(deterministic=True))
        else:
            hasher.update(repr(value).encode())
    return hasher.hexdigest()[:16]


def run_case(case, siblings: dict[str, str]) -> CaseResult:
    model = case.model
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    result = CaseResult(case.name, _operator(case, siblings), opset, _model_digest(model), _data_digest(case.data_sets[0]))
    inputs_raw, expected = case.data_sets[0]
    inputs = [_to_torch(v) for v in inputs_raw]
    runnable = _held(inputs)
    count = len(expected)
    comparable = runnable and not any(node.op_type in RANDOM_OPS for node in model.graph.node)

    try:
        onnx2torch.convert(_copy(model))
        result.plain = True
    except Exception:  # noqa: BLE001 - recording what plain onnx2torch does, whatever it raises
        pass

    try:
        other = onnx2fx.convert(_copy(model))
        result.onnx2fx = True
        if comparable:
            torch.manual_seed(0)
            with torch.no_grad():
                result.onnx2fx_values = not _compare_values(
                    _outputs(other(*[_clone(t) for t in inputs]), count), list(expected), case.rtol, case.atol)
    except Exception:  # noqa: BLE001 - recording what onnx2fx does, whatever it raises
        pass

    try:
        real = ow.convert(_copy(model), with_weights=True, strict=True)
        result.ours = True
    except ow.UnsupportedOperatorError as error:
        result.ours_error = "no converter: " + ", ".join(error.operators)
        real = None
    except Exception as error:  # noqa: BLE001
        result.ours_error = _first_line(error)
        real = None

    try:
        weightless = ow.convert(_copy(model), strict=True, size_threshold=0)
        result.weightless = True
    except Exception as error:  # noqa: BLE001
        weightless = None
        if result.ours:
            result.notes.append(f"weightless failed: {_first_line(error)}")
    result.parity = result.weightless == result.ours and (real is None or state_signature(real) == state_signature(weightless))

    reference = [_to_torch(v) for v in expected]
    if real is not None:
        if not runnable:
            result.values_note = "inputs of a type torch cannot hold"
        elif not comparable:
            result.values_note = "random: values not compared"
        else:
            try:
                torch.manual_seed(0)  # random ops (training-mode Dropout) give the same values every sweep
                with torch.no_grad():
                    got = _outputs(real(*[_clone(t) for t in inputs]), count)
                difference = _compare_values(got, list(expected), case.rtol, case.atol)
                result.values = not difference
                result.values_note = difference
            except Exception as error:  # noqa: BLE001
                result.values = False
                result.values_note = f"forward failed: {_first_line(error)}"

    module = weightless
    if module is None and not result.ours:
        try:
            module = ow.convert(_copy(model), size_threshold=0)
        except Exception as error:  # noqa: BLE001
            result.notes.append(f"opaque load failed: {_first_line(error)}")
    if module is not None and runnable and _held(reference):
        try:
            meta = _outputs(ow.meta_forward(module, *_meta_inputs(model, inputs)), count)
            ok = _shapes(meta) == _shapes(reference)
            note = "" if ok else f"got {_shapes(meta)}, expected {_shapes(reference)}"
        except Exception as error:  # noqa: BLE001
            ok, note = False, f"meta forward failed: {_first_line(error)}"
        if weightless is not None:
            result.meta, result.meta_note = ok, note
        else:
            result.opaque = ok
            if not ok:
                result.notes.append(note)
    elif module is not None:
        result.meta_note = "inputs or outputs of a type torch cannot hold"
    return result


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    duplicate = onnx.ModelProto()
    duplicate.CopyFrom(model)
    return duplicate


def sweep(cases: list, select=None) -> list[CaseResult]:
    siblings = {c.name: c.model.graph.node[0].op_type for c in cases if len(c.model.graph.node) == 1}
    results = []
    # torch.fx prints the generated code of a module whose forward raises: the results say enough.
    with warnings.catch_warnings(), np.errstate(all="ignore"), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        for case in cases:
            if select is None or select(case):
                results.append(run_case(case, siblings))
    return results


#: Opsets the node tests are converted down to (onnx.version_converter) for the per-opset sweep.
OLDER_OPSETS = (7, 9, 11, 13, 15, 17)


@dataclass(frozen=True)
class DownConverted:
    """A node test case with its model converted down to ``opset``; runs like the case itself."""

    name: str
    model: onnx.ModelProto
    data_sets: list
    rtol: float
    atol: float
    opset: int


def down_converted(
    cases: list, opsets: Iterable[int] = OLDER_OPSETS, only: set[str] | None = None
) -> tuple[list[DownConverted], dict[int, int]]:
    """Every case onnx.version_converter converts down to each of ``opsets`` below the case's own
    (with ``only``, just those named ``<case>@opset<N>`` there); and per opset, how many it was
    tried on."""
    from onnx import version_converter

    converted, tried = [], {opset: 0 for opset in opsets}
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        for case in cases:
            own = next((o.version for o in case.model.opset_import if o.domain in ("", "ai.onnx")), 0)
            for opset in opsets:
                if opset >= own or (only is not None and f"{case.name}@opset{opset}" not in only):
                    continue
                tried[opset] += 1
                try:
                    model = version_converter.convert_version(case.model, opset)
                    onnx.checker.check_model(model)
                except Exception:  # noqa: BLE001 - the converter has no adapter: nothing to sweep
                    continue
                converted.append(DownConverted(f"{case.name}@opset{opset}", model, case.data_sets, case.rtol,
                                               case.atol, opset))
    return converted, tried
