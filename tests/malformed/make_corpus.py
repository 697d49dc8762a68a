#!/usr/bin/env python3
"""Writes the malformed-input corpus: tests/malformed/corpus/<case>.onnx (plus the small data files
and folders the external-data cases reference) and tests/malformed/expected.json, which says for
each case what it breaks and which typed error, with which words in its message, the C++ core and
the Python package must raise.

Each case starts from one small valid model made with onnx.helper, decoded here at the protobuf
wire level into fields, changed in one place and encoded again (enclosing lengths follow, unless the
case is about a wrong length). The encoder is this file's own, so that it can write what no
protobuf library would: truncated fields, wrong wire types, over-long varints, lengths past the end.

Deterministic: running it twice writes the same bytes.

    .venv/bin/python tests/malformed/make_corpus.py
"""

from __future__ import annotations

import io
import json
import random
import shutil
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
EXPECTED = HERE / "expected.json"

# ---- protobuf wire format ------------------------------------------------------------------------

VARINT, FIXED64, LEN, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
U64 = (1 << 64) - 1


def varint(value: int) -> bytes:
    """Base-128 varint; negative values as protobuf writes int64: two's complement, 10 bytes."""
    value &= U64
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


@dataclass
class Field:
    """One field: an int (varint, fixed32, fixed64), bytes or a Message (length-delimited)."""

    number: int
    wire_type: int
    value: Union[int, bytes, "Message"]

    def encode(self) -> bytes:
        head = tag(self.number, self.wire_type)
        if self.wire_type == VARINT:
            return head + varint(self.value)
        if self.wire_type == FIXED64:
            return head + (self.value & U64).to_bytes(8, "little")
        if self.wire_type == FIXED32:
            return head + (self.value & 0xFFFFFFFF).to_bytes(4, "little")
        body = self.value.encode() if isinstance(self.value, Message) else self.value
        return head + varint(len(body)) + body


@dataclass
class Verbatim:
    """Bytes written as they are: a field no encoder would produce."""

    data: bytes

    def encode(self) -> bytes:
        return self.data


@dataclass
class Message:
    kind: str
    fields: list = field(default_factory=list)

    def encode(self) -> bytes:
        return b"".join(f.encode() for f in self.fields)

    def all(self, number: int) -> list[Field]:
        return [f for f in self.fields if isinstance(f, Field) and f.number == number]

    def one(self, number: int, index: int = 0) -> Field:
        return self.all(number)[index]

    def sub(self, number: int, index: int = 0) -> "Message":
        value = self.one(number, index).value
        assert isinstance(value, Message), (self.kind, number)
        return value

    def position(self, number: int, index: int = 0) -> int:
        """Index in self.fields of the index-th field `number`."""
        return self.fields.index(self.one(number, index))

    def named(self, number: int, name: str, name_field: int) -> "Message":
        """The sub-message in field `number` whose string field `name_field` is `name`."""
        for f in self.all(number):
            if any(n.value == name.encode() for n in f.value.all(name_field)):
                return f.value
        raise KeyError(name)


# Length-delimited fields that hold messages, by message kind (onnx.proto field numbers). Everything
# else stays bytes (strings, packed numbers, raw_data).
SCHEMA = {
    "ModelProto": {7: "GraphProto", 8: "OperatorSetIdProto", 14: "StringStringEntryProto",
                   20: "TrainingInfoProto", 25: "FunctionProto"},
    "GraphProto": {1: "NodeProto", 5: "TensorProto", 11: "ValueInfoProto", 12: "ValueInfoProto",
                   13: "ValueInfoProto", 15: "SparseTensorProto"},
    "NodeProto": {5: "AttributeProto"},
    "AttributeProto": {5: "TensorProto", 6: "GraphProto", 10: "TensorProto", 11: "GraphProto",
                       22: "SparseTensorProto", 23: "SparseTensorProto"},
    "TensorProto": {13: "StringStringEntryProto"},
    "SparseTensorProto": {1: "TensorProto", 2: "TensorProto"},
    "ValueInfoProto": {2: "TypeProto"},
    "TypeProto": {1: "TypeProto.Tensor"},
    "TypeProto.Tensor": {2: "TensorShapeProto"},
    "TensorShapeProto": {1: "TensorShapeProto.Dimension"},
    "FunctionProto": {7: "NodeProto", 11: "AttributeProto"},
    "TrainingInfoProto": {1: "GraphProto", 2: "GraphProto"},
}


def decode(data: bytes, kind: str) -> Message:
    """Splits a well-formed message into fields (the inverse of Message.encode)."""
    message = Message(kind)
    pos = 0

    def read_varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while pos < len(data):
        key = read_varint()
        number, wire_type = key >> 3, key & 7
        if wire_type == VARINT:
            value = read_varint()
        elif wire_type in (FIXED64, FIXED32):
            width = 8 if wire_type == FIXED64 else 4
            value = int.from_bytes(data[pos:pos + width], "little")
            pos += width
        elif wire_type == LEN:
            length = read_varint()
            value = data[pos:pos + length]
            pos += length
            child = SCHEMA.get(kind, {}).get(number)
            if child is not None:
                value = decode(value, child)
        else:
            raise ValueError(f"wire type {wire_type} in a well-formed {kind}")
        message.fields.append(Field(number, wire_type, value))
    assert message.encode() == data, f"{kind} does not re-encode to the same bytes"
    return message


def from_proto(proto) -> Message:
    return decode(proto.SerializeToString(), proto.DESCRIPTOR.name)


# onnx.proto field numbers used below.
class M:  # ModelProto
    ir_version, producer_name, model_version, graph, opset_import, metadata_props, functions = 1, 2, 5, 7, 8, 14, 25


class G:  # GraphProto
    node, name, initializer, input, output, sparse_initializer = 1, 2, 5, 11, 12, 15


class N:  # NodeProto
    input, output, name, op_type, attribute = 1, 2, 3, 4, 5


class A:  # AttributeProto
    name, i, t, g, type = 1, 3, 5, 6, 20


class T:  # TensorProto
    dims, data_type, float_data, int64_data, name, raw_data, external_data, data_location = 1, 2, 4, 7, 8, 9, 13, 14


class E:  # StringStringEntryProto
    key, value = 1, 2


# ---- the valid models the cases start from ---------------------------------------------------------

OPSET = 17


def base_model() -> onnx.ModelProto:
    """y = Softmax(Reshape((x @ W + B) * c, shape)): a raw_data weight W (128 bytes, a two-byte
    length prefix), a packed float_data bias B, an int64_data shape read as values, a Constant's
    tensor attribute, and Softmax's axis = -1 (a ten-byte varint)."""
    w = numpy_helper.from_array(np.arange(32, dtype=np.float32).reshape(4, 8) / 32, "W")
    b = helper.make_tensor("B", TensorProto.FLOAT, [8], [0.5] * 8)
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [2, 4])
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["h"], name="matmul"),
        helper.make_node("Add", ["h", "B"], ["a"], name="add"),
        helper.make_node("Constant", [], ["c"], name="const",
                         value=helper.make_tensor("c_value", TensorProto.FLOAT, [1], [2.0])),
        helper.make_node("Mul", ["a", "c"], ["m"], name="mul"),
        helper.make_node("Reshape", ["m", "shape"], ["r"], name="reshape"),
        helper.make_node("Softmax", ["r"], ["y"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(nodes, "main", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
                              initializer=[w, b, shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="make_corpus")
    model.ir_version = 8
    model.model_version = 300  # a two-byte varint at the top level
    onnx.checker.check_model(model, full_check=True)
    return model


def base() -> Message:
    return from_proto(base_model())


def external_model(location: str, *, shape_location: str | None = None) -> Message:
    """The base model with W (128 bytes at offset 0) in `location`; with `shape_location`, the
    Reshape shape (16 bytes, read as values) is external too, at offset 128."""
    model = base_model()
    for tensor in model.graph.initializer:
        if tensor.name == "W" or (tensor.name == "shape" and shape_location is not None):
            array = numpy_helper.to_array(tensor)
            tensor.ClearField("float_data")
            tensor.ClearField("int64_data")
            tensor.ClearField("raw_data")
            tensor.data_location = TensorProto.EXTERNAL
            offset = 0 if tensor.name == "W" else 128
            for key, value in (("location", location if tensor.name == "W" else shape_location),
                               ("offset", str(offset)), ("length", str(array.nbytes))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
    return from_proto(model)


def external_bytes() -> bytes:
    """The contents of a complete data file for external_model: W then shape."""
    model = base_model()
    by_name = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return by_name["W"].tobytes() + by_name["shape"].tobytes()


def graph_of(model: Message) -> Message:
    return model.sub(M.graph)


def initializer(model: Message, name: str) -> Message:
    return graph_of(model).named(G.initializer, name, T.name)


def node(model: Message, name: str) -> Message:
    return graph_of(model).named(G.node, name, N.name)


def set_external(tensor: Message, key: str, value: str | None) -> None:
    """Sets (or with None removes) one external_data entry of `tensor`."""
    for f in tensor.all(T.external_data):
        if f.value.one(E.key).value == key.encode():
            if value is None:
                tensor.fields.remove(f)
            else:
                f.value.one(E.value).value = value.encode()
            return
    assert value is not None
    tensor.fields.insert(tensor.position(T.data_location),
                         Field(T.external_data, LEN, Message("StringStringEntryProto", [
                             Field(E.key, LEN, key.encode()), Field(E.value, LEN, value.encode())])))


def nested_ifs(depth: int, leaf_raw: bytes | None = None) -> Message:
    """`depth` If nodes, each holding the next level's graph as then_branch; the innermost graph
    has one initializer (with `leaf_raw` as its raw_data if given)."""
    leaf = from_proto(numpy_helper.from_array(np.ones(1, dtype=np.float32), "leaf_w"))
    if leaf_raw is not None:
        leaf.one(T.raw_data).value = leaf_raw
    graph = Message("GraphProto", [Field(G.initializer, LEN, leaf), Field(G.name, LEN, b"leaf")])
    for level in range(depth):
        attribute = Message("AttributeProto", [Field(A.name, LEN, b"then_branch"), Field(A.g, LEN, graph),
                                               Field(A.type, VARINT, 5)])
        if_node = Message("NodeProto", [Field(N.input, LEN, b"cond"), Field(N.output, LEN, b"out"),
                                        Field(N.op_type, LEN, b"If"), Field(N.attribute, LEN, attribute)])
        graph = Message("GraphProto", [Field(G.node, LEN, if_node), Field(G.name, LEN, f"g{level}".encode())])
    model = base()
    model.one(M.graph).value = graph
    return model


# ---- cases --------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    category: str
    exercises: str
    #: Python: the first call (of PY_CALLS, in order) that raises; every later call raises the same.
    #: None: every call succeeds.
    py_raises_at: str | None
    py_error: str | None
    #: Words the message must contain.
    py_message: list[str] | None
    #: C++: the first step (of CPP_STEPS) that throws; None: the C++ core accepts the file.
    cpp_raises_at: str | None
    cpp_error: str | None
    cpp_message: list[str] | None
    cpp_note: str = ""
    #: Files written into the corpus, by path relative to it (a folder comes with a file inside).
    files: dict = field(default_factory=dict)
    #: The model path, relative to the corpus folder.
    model: str = ""


PY_CALLS = ("scan", "load", "convert", "convert_with_weights")
CPP_STEPS = ("scan", "skeleton", "read")
# Python's exception names for the C++ classes.
CPP_CLASS = {"FormatError": "FormatError", "LimitError": "LimitError", "ModelReadError": "IoError",
             "ExternalDataError": "ExternalDataError"}

CASES: list[Case] = []


def case(name: str, category: str, exercises: str, data: bytes | Message | None, *,
         raises_at: str | None = "scan", error: str | None = "FormatError", message: str | tuple | None = None,
         cpp: tuple | None = None, cpp_note: str = "", files: dict | None = None) -> None:
    """Registers a case. `message`: the words (one string, or several) the error's message must
    contain. By default the C++ core raises the same error, with the same message, at the same step
    as Python's scan. `cpp` = (step, error, message) says otherwise, or ("none",) when the C++ core
    accepts the file."""
    files = dict(files or {})
    message = [message] if isinstance(message, str) else list(message) if message else None
    if cpp is not None and len(cpp) == 3:
        cpp = (*cpp[:2], [cpp[2]] if isinstance(cpp[2], str) else list(cpp[2]))
    model = f"{name}.onnx"
    if data is not None:
        files[model] = data.encode() if isinstance(data, Message) else data
    if cpp is None:
        assert raises_at == "scan" and error in CPP_CLASS, f"{name}: give the C++ expectation"
        cpp = ("scan", CPP_CLASS[error], message)
    if cpp == ("none",):
        cpp = (None, None, None)
    assert (raises_at is None) == (message is None), name
    CASES.append(Case(name, category, exercises, raises_at, error, message, *cpp, cpp_note=cpp_note, files=files,
                      model=model))


def cut(data: bytes, length: int) -> bytes:
    assert 0 < length < len(data)
    return data[:length]


def field_offsets(outer: Message, path: list[tuple[int, int]]) -> tuple[int, int, int]:
    """Absolute (tag offset, value offset, end) in outer.encode() of the field reached by `path`,
    a list of (field number, occurrence) from `outer` down."""
    assert path
    base_offset = 0
    message = outer
    for number, index in path:
        tag_offset, value_offset = within(message, number, index)
        tag_offset, value_offset = base_offset + tag_offset, base_offset + value_offset
        target = message.one(number, index)
        base_offset, message = value_offset, target.value
    return tag_offset, value_offset, tag_offset + len(target.encode())


def truncate_inside(model: Message, path: list[tuple[int, int]], keep: int) -> Message:
    """The model with the message at `path` cut to its first `keep` bytes; every enclosing length
    is encoded for the cut message, so the cut shows only inside it."""
    model = copy_of(model)
    target = at(model, path[:-1]).one(*path[-1])
    body = target.value.encode()
    assert 0 < keep < len(body), (keep, len(body))
    target.value = body[:keep]
    return model


def within(message: Message, number: int, index: int = 0) -> tuple[int, int]:
    """(tag offset, value offset) of a field inside the encoding of `message`."""
    offset = 0
    target = message.one(number, index)
    for f in message.fields:
        if f is target:
            break
        offset += len(f.encode())
    return offset, offset + value_start(target)


def value_start(f: Field) -> int:
    """Bytes from a field's tag to its value: the tag, and for length-delimited fields the length."""
    head = len(tag(f.number, f.wire_type))
    if f.wire_type != LEN:
        return head
    body = f.value.encode() if isinstance(f.value, Message) else f.value
    return head + len(varint(len(body)))


def graph_path(model: Message, kind_number: int, name: str, name_field: int) -> list[tuple[int, int]]:
    graph = graph_of(model)
    for index, f in enumerate(graph.all(kind_number)):
        if any(n.value == name.encode() for n in f.value.all(name_field)):
            return [(M.graph, 0), (kind_number, index)]
    raise KeyError(name)


SHORT_KIND = {"ModelProto": "model", "GraphProto": "graph", "NodeProto": "node", "AttributeProto": "attribute",
              "TensorProto": "tensor"}
PROTO_OF = {"ModelProto": onnx.ModelProto, "GraphProto": onnx.GraphProto, "NodeProto": onnx.NodeProto,
            "AttributeProto": onnx.AttributeProto, "TensorProto": onnx.TensorProto}


def cut_points(f: Field) -> dict[str, int]:
    """Boundary kind -> bytes of the field kept, for the boundaries this field has."""
    head = len(tag(f.number, f.wire_type))
    points = {"after_tag": head}
    if head > 1:
        points["in_tag"] = 1
    if f.wire_type == VARINT and len(varint(f.value)) > 1:
        points["in_varint"] = head + 1
    if f.wire_type in (FIXED32, FIXED64):
        points["in_value"] = head + 1
    if f.wire_type == LEN:
        body = f.value.encode() if isinstance(f.value, Message) else f.value
        prefix = len(varint(len(body)))
        if prefix > 1:
            points["in_length"] = head + 1
        if len(body) > 1:
            points["in_value"] = head + prefix + len(body) // 2
    return points


def scan_words(kind: str, f: Field, boundary: str, kept: int, at: int) -> str:
    """What the scan says about `kind` cut `kept` bytes into field `f`, whose tag is at file offset `at`."""
    head = len(tag(f.number, f.wire_type))
    if boundary == "in_tag":
        return f"truncated field tag in {kind} (at byte offset {at})"
    if f.wire_type == VARINT:
        return f"truncated varint value in {kind} (at byte offset {at + head})"
    if f.wire_type in (FIXED32, FIXED64):
        return f"truncated fixed-width value of field {f.number} in {kind} (at byte offset {at + head})"
    if boundary in ("after_tag", "in_length"):
        return f"truncated length in {kind} (at byte offset {at + head})"
    body = f.value.encode() if isinstance(f.value, Message) else f.value
    prefix = len(varint(len(body)))
    return (f"length {len(body)} of field {f.number} in {kind} runs past its end ({kept - head - prefix} bytes left) "
            f"(at byte offset {at + head})")


def truncation_sweep(model: Message) -> None:
    """One case per (message kind, field, boundary) found in the base model: the message is cut at
    that boundary and every enclosing length re-encoded, so the scan meets the cut inside it."""
    targets = [("ModelProto", [])]
    graph_path_ = [(M.graph, 0)]
    targets.append(("GraphProto", graph_path_))
    for name in ("softmax", "const"):
        path = graph_path(model, G.node, name, N.name)
        targets.append(("NodeProto", path))
        targets.append(("AttributeProto", path + [(N.attribute, 0)]))
    for name in ("W", "B", "shape"):
        targets.append(("TensorProto", graph_path(model, G.initializer, name, T.name)))
    done = set()
    for kind, path in targets:
        message = at(model, path)
        for index, f in enumerate(message.fields):
            field_name = PROTO_OF[kind].DESCRIPTOR.fields_by_number[f.number].name
            for boundary, kept_in_field in cut_points(f).items():
                if (kind, f.number, boundary) in done:
                    continue
                done.add((kind, f.number, boundary))
                before = len(b"".join(g.encode() for g in message.fields[:index]))
                kept = before + kept_in_field
                if path:
                    cut_model = truncate_inside(model, path, kept)
                    start = field_offsets(cut_model, path)[1]
                    data = cut_model.encode()
                else:
                    start, data = 0, model.encode()[:kept]
                where = {"in_tag": "inside the tag of", "after_tag": "right after the tag of",
                         "in_varint": "inside the varint of", "in_length": "inside the length prefix of",
                         "in_value": "inside the value of"}[boundary]
                case(f"cut_{SHORT_KIND[kind]}_{field_name}_{boundary}", "truncation",
                     f"{kind} {'(the file) ' if not path else ''}ends {where} its field {field_name} ({f.number})"
                     + ("" if not path else "; enclosing lengths match the cut"),
                     data, message=scan_words(kind, f, boundary, kept_in_field, start + before))


def build_cases() -> None:
    model = base()
    data = model.encode()
    graph_tag, graph_value, graph_end = field_offsets(model, [(M.graph, 0)])
    w_path = graph_path(model, G.initializer, "W", T.name)
    b_path = graph_path(model, G.initializer, "B", T.name)
    _, w_raw_value, _ = field_offsets(model, w_path + [(T.raw_data, 0)])
    const_path = graph_path(model, G.node, "const", N.name)
    softmax_path = graph_path(model, G.node, "softmax", N.name)
    runs_past_graph = f"length {graph_end - graph_value} of field 7 in ModelProto runs past its end"

    # -- what the file is ------------------------------------------------------------------------
    case("empty_file", "file", "a zero-byte file: a valid empty ModelProto to the scan, but no model", b"",
         raises_at="load", message="empty_file.onnx' has no graph (ModelProto.graph): it is empty (0 bytes)",
         cpp=("none",), cpp_note="zero bytes are a well-formed, empty ModelProto: the C++ index is empty")
    rng = random.Random(20240611)
    case("random_bytes", "file", "1 KiB of seeded random bytes", bytes(rng.randrange(256) for _ in range(1024)),
         message="unsupported wire type 4 of field 155717 in ModelProto (at byte offset 0)")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("model.onnx", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(info, data)
    case("zip_archive", "file", "the base model inside a zip archive (PK header)", zipped.getvalue(),
         message="invalid field number 0 in ModelProto (at byte offset 2)")
    case("text_format", "file", "the model in protobuf text format, as onnx.printer / text_format write it",
         str(base_model()).encode(), message="unsupported wire type 6 of field 13 in ModelProto (at byte offset 9)")
    case("folder_not_file", "file", "the model path is a folder", None, raises_at="scan", error="ModelReadError",
         message="folder_not_file.onnx' is not a regular file",
         files={"folder_not_file.onnx/README": b"a folder named like a model\n"})
    case("missing_file", "file", "the model path does not exist", None, raises_at="scan", error="ModelReadError",
         message=("cannot open '", "missing_file.onnx': No such file or directory"))
    case("no_graph", "file", "ir_version and opset_import but no ModelProto.graph",
         Message("ModelProto", [model.one(M.ir_version), model.one(M.opset_import)]),
         raises_at="load", message="no_graph.onnx' has no graph (ModelProto.graph)", cpp=("none",),
         cpp_note="protobuf-wise a ModelProto without graph is well formed; the C++ index is empty")

    # -- truncation: the file cut short --------------------------------------------------------------
    first_node_tag, _, _ = field_offsets(model, [(M.graph, 0), (G.node, 0)])
    case("cut_in_node", "truncation", "file ends inside the graph's first NodeProto",
         cut(data, first_node_tag + 5), message=runs_past_graph)
    const_attr_tag, _, _ = field_offsets(model, const_path + [(N.attribute, 0)])
    case("cut_in_attribute", "truncation", "file ends inside the Constant node's tensor attribute",
         cut(data, const_attr_tag + 9), message=runs_past_graph)
    case("cut_in_raw_data", "truncation", "file ends inside W's raw_data payload",
         cut(data, w_raw_value + 50), message=runs_past_graph)
    case("cut_graph_last_byte", "truncation", "file ends one byte before the end of the graph",
         cut(data, graph_end - 1), message=runs_past_graph)
    unknown = data + tag(1000, VARINT) + varint(70000)
    case("cut_in_top_level_tag", "truncation", "file ends inside the two-byte tag of a trailing (unknown) field 1000",
         cut(unknown, len(data) + 1), message=f"truncated field tag in ModelProto (at byte offset {len(data)})")
    case("cut_after_graph", "truncation", "file ends right after the graph: opset_import is lost",
         cut(data, graph_end), raises_at="convert",
         message="node 'matmul' (MatMul) is in domain 'ai.onnx', which the model's opset_import does not list",
         cpp=("none",),
         cpp_note="a ModelProto without opset_import is well formed protobuf; the C++ core reads no opsets")

    # -- truncation inside one message, at each kind of boundary of each of its fields ---------------
    truncation_sweep(model)
    const_tensor = node(model, "const").sub(N.attribute).sub(A.t)
    _, fd_value = within(const_tensor, T.float_data)
    case("attribute_tensor_ends_in_float_data", "truncation",
         "the Constant's tensor attribute ends inside its packed float_data",
         truncate_inside(model, const_path + [(N.attribute, 0), (A.t, 0)], fd_value + 2),
         message="of field 4 in TensorProto runs past its end")
    opset = model.sub(M.opset_import)
    version_tag, _ = within(opset, 2)
    case("opset_import_ends_after_tag", "truncation", "OperatorSetIdProto ends right after the version tag",
         truncate_inside(model, [(M.opset_import, 0)], version_tag + 1), message="malformed OperatorSetIdProto")
    case("value_info_type_cut", "truncation",
         "graph input x's TypeProto is cut inside its shape (a message the scan does not walk)",
         truncate_inside(model, [(M.graph, 0), (G.input, 0), (2, 0)], 6), raises_at="load",
         message="onnx's protobuf parser refuses ModelProto.graph.input[0].type", cpp=("none",),
         cpp_note="the C++ scan does not walk ValueInfoProto (no tensors in it); the skeleton copies it as is")

    # -- wire types --------------------------------------------------------------------------------
    case("graph_as_varint", "wire_type", "ModelProto.graph (7) written as a varint",
         replace_field(model, [], M.graph, Field(M.graph, VARINT, 5)),
         message=f"ModelProto.graph (field 7) has wire type varint, expected length-delimited "
                 f"(at byte offset {graph_tag})")
    case("dims_as_fixed64", "wire_type", "TensorProto.dims written as fixed64",
         replace_field(model, w_path, T.dims, Field(T.dims, FIXED64, 4)),
         message="TensorProto.dims has wire type fixed64, expected varint or packed")
    case("data_type_as_bytes", "wire_type", "TensorProto.data_type written length-delimited",
         replace_field(model, w_path, T.data_type, Field(T.data_type, LEN, b"\x01")),
         message="TensorProto.data_type (field 2) has wire type length-delimited, expected varint")
    case("raw_data_as_fixed32", "wire_type", "TensorProto.raw_data written as fixed32",
         replace_field(model, w_path, T.raw_data, Field(T.raw_data, FIXED32, 7)),
         message="TensorProto.raw_data (field 9) has wire type fixed32, expected length-delimited")
    case("float_data_as_varint", "wire_type", "TensorProto.float_data written as a varint",
         replace_field(model, b_path, T.float_data, Field(T.float_data, VARINT, 1)),
         message="TensorProto.float_data (field 4) has wire type varint, expected fixed32")
    case("initializer_as_fixed32", "wire_type", "GraphProto.initializer written as fixed32",
         replace_field(model, [(M.graph, 0)], G.initializer, Field(G.initializer, FIXED32, 0)),
         message="GraphProto.initializer (field 5) has wire type fixed32")
    case("attribute_as_varint", "wire_type", "NodeProto.attribute written as a varint",
         replace_field(model, softmax_path, N.attribute, Field(N.attribute, VARINT, 1)),
         message="NodeProto.attribute (field 5) has wire type varint")
    case("tensor_attribute_as_fixed64", "wire_type", "AttributeProto.t written as fixed64",
         replace_field(model, const_path + [(N.attribute, 0)], A.t, Field(A.t, FIXED64, 0)),
         message="AttributeProto.t/tensors (field 5) has wire type fixed64")
    case("opset_import_as_fixed32", "wire_type", "ModelProto.opset_import written as fixed32",
         replace_field(model, [], M.opset_import, Field(M.opset_import, FIXED32, 17)),
         message="ModelProto.opset_import (field 8) has wire type fixed32")
    case("start_group_in_tensor", "wire_type", "a deprecated group (wire type 3) inside TensorProto W",
         append_field(model, w_path, Verbatim(tag(1000, START_GROUP) + tag(1000, END_GROUP))),
         message="unsupported wire type 3 of field 1000 in TensorProto")
    case("wire_type_7_in_graph", "wire_type", "wire type 7 (undefined) inside the GraphProto",
         append_field(model, [(M.graph, 0)], Verbatim(tag(3, 7) + b"\x00")),
         message="unsupported wire type 7 of field 3 in GraphProto")
    case("value_info_type_as_varint", "wire_type",
         "ValueInfoProto.type (a message) written as a varint in graph input x: protobuf keeps it as an unknown field",
         replace_field(model, [(M.graph, 0), (G.input, 0)], 2, Field(2, VARINT, 1)),
         raises_at=None, error=None, cpp=("none",),
         cpp_note="protobuf parsers keep a known field with another wire type as an unknown field; the input "
                  "then has no type, which converting accepts (its shape comes from the graph)")

    # -- lengths ---------------------------------------------------------------------------------------
    case("graph_length_past_eof", "length", "the graph's length prefix says 1000 bytes more than the file holds",
         data[:graph_tag + 1] + varint(graph_end - graph_value + 1000) + data[graph_value:],
         message=(f"length {graph_end - graph_value + 1000} of field 7 in ModelProto runs past its end",
                  f"(at byte offset {graph_tag + 1})"))
    case("initializer_length_past_graph", "length",
         "initializer B's length runs past the end of the GraphProto (the file goes on after it)",
         set_length(model, b_path, 10_000), message="of field 5 in GraphProto runs past its end")
    case("attribute_length_past_node", "length", "Softmax's attribute length runs past the end of its NodeProto",
         set_length(model, softmax_path + [(N.attribute, 0)], 200), message="of field 5 in NodeProto runs past its end")
    case("raw_data_length_past_tensor", "length", "W's raw_data length runs past the end of its TensorProto",
         set_length(model, w_path + [(T.raw_data, 0)], 129), message="length 129 of field 9 in TensorProto runs past")
    case("huge_length_top_level", "length", "the graph's length prefix is 2^62: nothing that size may be allocated",
         data[:graph_tag + 1] + varint(1 << 62) + data[graph_value:],
         message="length 4611686018427387904 of field 7 in ModelProto runs past its end")
    case("huge_length_name", "length", "W's name has length 2^62 (inside a consistent TensorProto)",
         set_length(model, w_path + [(T.name, 0)], 1 << 62),
         message="length 4611686018427387904 of field 8 in TensorProto runs past its end")
    case("external_entry_length_past_end", "length",
         "an external_data entry whose key length runs past the entry's end",
         external_entry_broken(), message="malformed external_data entry")

    # -- varints -------------------------------------------------------------------------------------
    eleven = b"\xff" * 10 + b"\x01"
    case("overlong_varint_value", "varint", "ModelProto.ir_version as an 11-byte varint",
         tag(M.ir_version, VARINT) + eleven + data[2:],
         message="over-long varint (varint value) in ModelProto (at byte offset 1)")
    case("overlong_varint_tag", "varint", "an 11-byte field tag at the start of the file", eleven + data,
         message="over-long varint (field tag) in ModelProto (at byte offset 0)")
    case("overlong_varint_length", "varint", "the graph's length prefix as an 11-byte varint",
         data[:graph_tag + 1] + eleven + data[graph_value:],
         message=f"over-long varint (length) in ModelProto (at byte offset {graph_tag + 1})")
    case("overlong_varint_packed_dims", "varint", "W's dims packed, with an 11-byte varint in them",
         replace_dims(model, w_path, [Field(T.dims, LEN, varint(4) + eleven)]),
         message="malformed varint in packed TensorProto.dims")
    overflow = b"\xff" * 9 + b"\x7f"  # ten bytes, 70 bits of value: beyond uint64
    case("varint_overflow_dim", "varint",
         "a dim as a ten-byte varint whose value needs 70 bits (it would wrap to a small number)",
         replace_dims(model, w_path, [Verbatim(tag(T.dims, VARINT) + b"\x84" + b"\x80" * 8 + b"\x02"),
                                      Field(T.dims, VARINT, 8)]),
         message="varint overflows 64 bits (varint value) in TensorProto")
    case("varint_overflow_length", "varint", "the graph's length as a ten-byte varint needing 70 bits",
         data[:graph_tag + 1] + overflow + data[graph_value:],
         message=f"varint overflows 64 bits (length) in ModelProto (at byte offset {graph_tag + 1})")
    case("field_number_zero", "varint", "a field tag with field number 0 inside the graph",
         append_field(model, [(M.graph, 0)], Verbatim(b"\x00\x00")), message="invalid field number 0 in GraphProto")

    # -- dims and sizes ---------------------------------------------------------------------------------
    case("negative_dim", "dims", "W's dims are [4, -8]", set_dims(model, w_path, [4, -8]),
         message="tensor 'W' has negative dim -8")
    case("element_count_overflow", "dims", "dims [2^32, 2^32]: the element count overflows int64",
         set_dims(model, w_path, [1 << 32, 1 << 32]), error="LimitError",
         message="tensor 'W': element count of dims overflows int64")
    case("byte_size_overflow", "dims", "FLOAT dims [2^62]: the element count fits, x 4 bytes does not",
         set_dims(model, w_path, [1 << 62]), error="LimitError",
         message="tensor 'W': byte size of dims overflows int64")
    case("rank_over_limit", "dims", "a tensor with 4097 dims (the scan's rank limit is 4096)",
         set_dims(model, w_path, [1] * 4097), error="LimitError", message="tensor has more than 4096 dims")

    # -- payload sizes ---------------------------------------------------------------------------------
    case("raw_data_size_mismatch", "payload", "W's raw_data holds 124 bytes, dims x FLOAT need 128",
         replace_field(model, w_path, T.raw_data, Field(T.raw_data, LEN, bytes(124))),
         message="tensor 'W': raw_data holds 124 bytes but dims x FLOAT need 128")
    case("packed_float_data_count_mismatch", "payload", "B's packed float_data holds 7 floats, dims [8] need 8",
         replace_field(model, b_path, T.float_data, Field(T.float_data, LEN, np.full(7, 0.5, np.float32).tobytes())),
         message="tensor 'B': float_data holds 28 bytes but dims x FLOAT need 32")
    case("unpacked_float_data_count_mismatch", "payload",
         "B's float_data written unpacked (one fixed32 field per value), 9 of them for dims [8]",
         unpacked_floats(model, b_path, 9), message="tensor 'B': float_data holds 9 values but dims x FLOAT need 8")
    case("int64_data_count_mismatch", "payload",
         "the Reshape shape's int64_data holds 3 values for dims [2] (varints: only a reader can count them)",
         replace_field(model, graph_path(model, G.initializer, "shape", T.name), T.int64_data,
                       Field(T.int64_data, LEN, varint(2) + varint(2) + varint(2))),
         raises_at="convert", message="tensor 'shape' (INT64[2]): int64_data holds 3 values, which do not fit dims [2]",
         cpp=("read", "FormatError", "int64_data holds 3 values, dims x INT64 need 2"))
    case("int64_data_count_mismatch_stripped", "payload",
         "an INT64 initializer of dims [200] (1600 bytes raw, so the skeleton strips it) whose int64_data holds 201 "
         "values: found when the weights are read",
         big_int64_initializer(model, 200, 201), raises_at="convert_with_weights",
         message=("tensor 'big' (INT64[200]), stored in 'int64_data_count_mismatch_stripped.onnx' at offset",
                  "int64_data holds 201 values, dims x INT64 need 200"),
         cpp=("read", "FormatError", "int64_data holds 201 values, dims x INT64 need 200"))
    case("no_data_at_all", "payload", "initializer B has dims [8] but no data field", remove_payload(model, b_path),
         raises_at="convert", message="tensor 'B' (FLOAT[8]): holds no data", cpp=("none",),
         cpp_note="a TensorProto without data is indexed with storage 'none': the C++ core has nothing to read")
    case("raw_data_twice", "payload", "W holds raw_data twice", duplicate_field(model, w_path, T.raw_data),
         message="tensor 'W' has raw_data more than once")
    case("raw_and_float_data", "payload", "B holds float_data and raw_data",
         append_field(model, b_path, Field(T.raw_data, LEN, bytes(32))),
         message="tensor 'B' has float_data and raw_data")

    # -- element types -------------------------------------------------------------------------------
    case("data_type_99", "dtype", "W's data_type is 99 (not in onnx.proto)", set_data_type(model, w_path, 99),
         message="tensor 'W' has unknown data_type <dtype 99>")
    case("data_type_0", "dtype", "W's data_type is 0 (UNDEFINED)", set_data_type(model, w_path, 0),
         message="tensor 'W' has unknown data_type UNDEFINED")
    case("data_type_missing", "dtype", "W has no data_type field", remove_field(model, w_path, T.data_type),
         message="tensor 'W' has no data_type")
    case("data_type_negative", "dtype", "W's data_type is -1 (a ten-byte varint)", set_data_type(model, w_path, -1),
         message="tensor 'W' has unknown data_type <dtype -1>")
    case("string_initializer", "dtype", "B is a STRING tensor added to a float (torch has no strings)",
         string_initializer(model, b_path), raises_at="convert", error="UnsupportedDtypeError",
         message="ONNX element type STRING (tensor 'B') cannot be represented in torch", cpp=("none",),
         cpp_note="STRING is a valid ONNX element type; only torch cannot hold it")
    case("float4_initializer", "dtype", "W is FLOAT4E2M1 (no element-wise torch dtype)",
         float4_initializer(model, w_path), raises_at="convert", error="UnsupportedDtypeError",
         message="ONNX element type FLOAT4E2M1 (tensor 'W') cannot be represented in torch", cpp=("none",),
         cpp_note="FLOAT4E2M1 is a valid ONNX element type; only torch cannot hold it")

    # -- nesting -----------------------------------------------------------------------------------
    case("nested_ifs_65", "nesting",
         "65 If nodes nested through then_branch: one level beyond ScanOptions.max_depth (64)",
         nested_ifs(65), error="LimitError", message="subgraphs nested deeper than 64 levels")
    case("nested_ifs_40", "nesting",
         "40 nested If subgraphs: within the scan's limit, beyond what onnx's protobuf parser accepts "
         "(100 message levels)",
         nested_ifs(40), raises_at="load", error="LimitError", message="subgraphs nested 40 levels deep", cpp=("none",),
         cpp_note="40 levels are within ScanOptions.max_depth; the C++ core needs no protobuf parser")

    # -- duplicates ------------------------------------------------------------------------------------
    case("duplicate_initializer", "duplicates",
         "two initializers named W with different dims ([4, 8] and [8, 4]): ONNX requires unique names",
         duplicate_initializer(model, w_path), message="initializer name 'W' is not unique in graph 'main'")

    # -- elsewhere in the model -------------------------------------------------------------------------
    case("sparse_values_size_mismatch", "payload", "a sparse_initializer whose values' raw_data does not match dims",
         sparse_initializer(model), message="tensor 'sp_values': raw_data holds 12 bytes but dims x FLOAT need 8")
    case("function_attribute_negative_dim", "dims", "a model-local function's default tensor attribute has dims [-1]",
         function_with_bad_attribute(model), message="tensor 'fn_alpha' has negative dim -1")
    case("data_location_unknown", "external", "W's data_location is 2 (only DEFAULT 0 and EXTERNAL 1 exist)",
         append_field(model, w_path, Field(T.data_location, VARINT, 2)),
         message="tensor 'W' has unknown data_location 2")

    # -- external data ---------------------------------------------------------------------------------
    data_file = external_bytes()

    def ext(name: str, location: str, change: Callable[[Message], None] | None = None, *,
            shape_location: str | None = None, files: dict | None = None, **kwargs) -> None:
        m = external_model(location, shape_location=shape_location)
        if change is not None:
            change(m)
        case(name, "external", kwargs.pop("exercises"), m, files=files, **kwargs)

    ext("external_no_location", "unused.data", lambda m: set_external(initializer(m, "W"), "location", None),
        exercises="W is EXTERNAL but has no location entry",
        message="tensor 'W' is EXTERNAL but external_data has no location")
    ext("external_empty_location", "", exercises="W's location entry is the empty string",
        message="tensor 'W' is EXTERNAL but external_data has no location")
    ext("external_offset_not_a_number", "external_offset_not_a_number.data",
        lambda m: set_external(initializer(m, "W"), "offset", "12abc"), exercises="W's offset is '12abc'",
        message="tensor 'W': external_data offset '12abc' is not a non-negative integer")
    ext("external_offset_negative", "external_offset_negative.data",
        lambda m: set_external(initializer(m, "W"), "offset", "-128"), exercises="W's offset is '-128'",
        message="tensor 'W': external_data offset '-128' is not a non-negative integer")
    ext("external_length_not_a_number", "external_length_not_a_number.data",
        lambda m: set_external(initializer(m, "W"), "length", "0x80"), exercises="W's length is '0x80'",
        message="tensor 'W': external_data length '0x80' is not a non-negative integer")
    ext("external_length_negative", "external_length_negative.data",
        lambda m: set_external(initializer(m, "W"), "length", "-128"), exercises="W's length is '-128'",
        message="tensor 'W': external_data length '-128' is not a non-negative integer")
    ext("external_length_not_dims", "external_length_not_dims.data",
        lambda m: set_external(initializer(m, "W"), "length", "100"), exercises="W's length 100 != dims x FLOAT (128)",
        message="tensor 'W': external_data length 100 but dims x FLOAT need 128 bytes")
    ext("external_with_raw_data", "external_with_raw_data.data",
        lambda m: initializer(m, "W").fields.insert(0, Field(T.raw_data, LEN, bytes(128))),
        exercises="W is EXTERNAL and also holds raw_data",
        message="tensor 'W' is EXTERNAL but also holds inline raw_data")
    # Python: a tensor whose bytes are needed but cannot be had names the tensor, the file and the
    # reason: MissingWeightsError if the file is missing, ExternalDataError if it is refused or too
    # short (docs/security.md). C++: read_external throws ExternalDataError for all three.
    read_error = "ExternalDataError"
    unreadable = "MissingWeightsError"
    refused_error = "ExternalDataError"
    w_desc = "tensor 'W' (FLOAT[4, 8]) is stored in"

    def past_eof(name: str, offset: int, length: int = 128, **kwargs) -> None:
        beyond = f"offset {offset} + length {length} is beyond the file's 144 bytes"
        tensor = kwargs.pop("tensor", "W")
        described = w_desc if tensor == "W" else "tensor 'shape' (INT64[2]) is stored in"
        ext(name, f"{name}.data", lambda m: set_external(initializer(m, tensor), "offset", str(offset)),
            files={f"{name}.data": data_file}, error=refused_error,
            message=(f"{described} '{name}.data', which cannot be read", beyond),
            cpp=("read", read_error, (f"'{name}.data'", beyond)), **kwargs)

    past_eof("external_offset_past_eof", 4096, raises_at="convert_with_weights",
             exercises="W's offset 4096 is past the end of its 144-byte data file (only reading the weights fails)")
    past_eof("external_length_past_eof", 64, raises_at="convert_with_weights",
             exercises="W's offset 64 + length 128 runs past the end of its 144-byte data file")
    past_eof("external_offset_max_uint64", (1 << 64) - 1, raises_at="convert_with_weights",
             exercises="W's offset is 2^64 - 1: offset + length overflows uint64 and must still be refused")
    past_eof("external_values_past_eof", 1000, length=16, tensor="shape",
             shape_location="external_values_past_eof.data",
             raises_at="convert", exercises="the Reshape shape (read as values) lies past the end of its data file")
    ext("external_offset_over_uint64", "external_offset_over_uint64.data",
        lambda m: set_external(initializer(m, "W"), "offset", str(1 << 64)), exercises="W's offset is 2^64",
        message="tensor 'W': external_data offset '18446744073709551616' is not a non-negative integer")
    ext("external_huge_declared_length", "external_huge_declared_length.data",
        lambda m: (set_dims_in(initializer(m, "W"), [1 << 40]),
                   set_external(initializer(m, "W"), "length", str(4 << 40))),
        exercises="W declares dims [2^40] FLOAT (4 TiB) in a 144-byte file: reading must fail, not allocate",
        files={"external_huge_declared_length.data": data_file}, raises_at="convert_with_weights", error=refused_error,
        message=("tensor 'W' (FLOAT[1099511627776])", "offset 0 + length 4398046511104 is beyond the file's 144 bytes"),
        cpp=("read", read_error, "offset 0 + length 4398046511104 is beyond the file's 144 bytes"))
    ext("external_weight_file_missing", "absent.data",
        exercises="W's data file does not exist (converting without weights is the point; reading them is not)",
        raises_at="convert_with_weights", error=unreadable,
        message=(f"{w_desc} 'absent.data', which cannot be read", "'absent.data' is missing"),
        cpp=("read", read_error, "'absent.data' is missing"))
    ext("external_values_file_missing", "absent.data", shape_location="absent.data",
        exercises="the Reshape shape, read as values, is in a data file that does not exist",
        raises_at="convert", error=unreadable,
        message="tensor 'shape' is read as values by Reshape node 'reshape' (input 1), but its data is in "
                "'absent.data'",
        cpp=("read", read_error, "'absent.data' is missing"))

    def refused(name: str, location: str, why: str, **kwargs) -> None:
        ext(name, location, raises_at="convert_with_weights", error=refused_error,
            message=(f"{w_desc} '{location}', which cannot be read", f"'{location}' is refused: {why}"),
            cpp=("read", read_error, f"'{location}' is refused: {why}"), **kwargs)

    refused("external_location_parent", "../escape.data", "the location contains '..'",
            exercises="W's location '../escape.data' leaves the model's folder")
    refused("external_location_absolute", "/etc/hostname", "the location is an absolute path",
            exercises="W's location is an absolute path")
    refused("external_location_folder", "external_location_folder.data", "it is not a regular file",
            exercises="W's location names a folder, not a file",
            files={"external_location_folder.data/README": b"a folder where a data file should be\n"})
    ext("external_values_refused", "../escape.data", shape_location="../escape.data",
        exercises="the Reshape shape, read as values, has a location leaving the model's folder",
        raises_at="convert", error=refused_error,
        message="tensor 'shape' is read as values by Reshape node 'reshape' (input 1), but its data is in "
                "'../escape.data', which is refused: the location contains '..'",
        cpp=("read", read_error, "'../escape.data' is refused: the location contains '..'"))

    # -- the graph's order and names --------------------------------------------------------------
    case("nodes_not_sorted", "graph", "the graph's nodes in reverse order (ONNX requires topological order)",
         reverse_nodes(model), raises_at="convert",
         message="value 'r' is read before node 'reshape' (Reshape) produces it: an ONNX graph lists its nodes in "
                 "topological order", cpp=("none",), cpp_note="the scan does not follow values from node to node; validate_graph, before conversion, does")
    case("input_never_produced", "graph", "Reshape reads a value named 'nowhere' that nothing produces",
         rename_input(model, "reshape", 1, "nowhere"), raises_at="convert",
         message="'nowhere' is produced by no graph input, initializer, earlier node or enclosing graph", cpp=("none",),
         cpp_note="the scan does not follow values from node to node; validate_graph, before conversion, does")
    case("subgraph_initializer_size_mismatch", "payload",
         "an initializer three If levels down whose raw_data is 2 bytes for dims [1] FLOAT",
         nested_ifs(3, leaf_raw=b"\x00\x00"), message="tensor 'leaf_w': raw_data holds 2 bytes but dims x FLOAT need 4")


# ---- edits (each returns a changed copy of the model) ---------------------------------------------


def copy_of(model: Message) -> Message:
    return decode(model.encode(), "ModelProto")


def at(model: Message, path: list[tuple[int, int]]) -> Message:
    message = model
    for number, index in path:
        message = message.sub(number, index)
    return message


def replace_field(model: Message, path, number: int, new) -> Message:
    model = copy_of(model)
    message = at(model, path)
    message.fields[message.position(number)] = new
    return model


def append_field(model: Message, path, new) -> Message:
    model = copy_of(model)
    at(model, path).fields.append(new)
    return model


def remove_field(model: Message, path, number: int) -> Message:
    model = copy_of(model)
    message = at(model, path)
    message.fields = [f for f in message.fields if not (isinstance(f, Field) and f.number == number)]
    return model


def duplicate_field(model: Message, path, number: int) -> Message:
    model = copy_of(model)
    message = at(model, path)
    position = message.position(number)
    message.fields.insert(position + 1, message.fields[position])
    return model


def set_length(model: Message, path, length: int) -> Message:
    """The field at `path` keeps its bytes but declares `length`; enclosing lengths stay consistent."""
    model = copy_of(model)
    parent = at(model, path[:-1])
    number, index = path[-1]
    target = parent.one(number, index)
    body = target.value.encode() if isinstance(target.value, Message) else target.value
    parent.fields[parent.fields.index(target)] = Verbatim(tag(number, LEN) + varint(length) + body)
    return model


def set_dims_in(tensor: Message, dims: list[int]) -> None:
    first = tensor.position(T.dims)
    rest = [f for f in tensor.fields if not (isinstance(f, Field) and f.number == T.dims)]
    tensor.fields = rest[:first] + [Field(T.dims, VARINT, d) for d in dims] + rest[first:]


def replace_dims(model: Message, path, fields: list) -> Message:
    model = copy_of(model)
    tensor = at(model, path)
    first = tensor.position(T.dims)
    rest = [f for f in tensor.fields if not (isinstance(f, Field) and f.number == T.dims)]
    tensor.fields = rest[:first] + fields + rest[first:]
    return model


def set_dims(model: Message, path, dims: list[int]) -> Message:
    model = copy_of(model)
    set_dims_in(at(model, path), dims)
    return model


def set_data_type(model: Message, path, value: int) -> Message:
    model = copy_of(model)
    at(model, path).one(T.data_type).value = value
    return model


def unpacked_floats(model: Message, path, count: int) -> Message:
    model = copy_of(model)
    tensor = at(model, path)
    position = tensor.position(T.float_data)
    half = int.from_bytes(np.float32(0.5).tobytes(), "little")
    tensor.fields[position:position + 1] = [Field(T.float_data, FIXED32, half) for _ in range(count)]
    return model


def remove_payload(model: Message, path) -> Message:
    return remove_field(model, path, T.float_data)


def string_initializer(model: Message, path) -> Message:
    model = copy_of(model)
    tensor = at(model, path)
    position = tensor.position(T.float_data)
    tensor.one(T.data_type).value = TensorProto.STRING
    tensor.fields[position:position + 1] = [Field(6, LEN, b"s%d" % i) for i in range(8)]  # string_data
    return model


def float4_initializer(model: Message, path) -> Message:
    model = copy_of(model)
    tensor = at(model, path)
    tensor.one(T.data_type).value = 23  # FLOAT4E2M1: 32 elements in 16 bytes
    tensor.one(T.raw_data).value = bytes(range(16))
    return model


def duplicate_initializer(model: Message, path) -> Message:
    model = copy_of(model)
    graph = at(model, path[:-1])
    position = graph.fields.index(graph.one(*path[-1]))
    twin = decode(graph.fields[position].value.encode(), "TensorProto")
    set_dims_in(twin, [8, 4])
    graph.fields.insert(position + 1, Field(G.initializer, LEN, twin))
    return model


def sparse_initializer(model: Message) -> Message:
    model = copy_of(model)
    values = helper.make_tensor("sp_values", TensorProto.FLOAT, [2], vals=bytes(8), raw=True)
    indices = helper.make_tensor("sp_indices", TensorProto.INT64, [2], [0, 3])
    sparse = from_proto(onnx.SparseTensorProto(values=values, indices=indices, dims=[4]))
    sparse.sub(1).one(T.raw_data).value = bytes(12)
    graph_of(model).fields.append(Field(G.sparse_initializer, LEN, sparse))
    return model


def function_with_bad_attribute(model: Message) -> Message:
    model = copy_of(model)
    alpha = helper.make_tensor("fn_alpha", TensorProto.FLOAT, [1], [1.0])
    function = helper.make_function("local", "F", ["a"], ["b"], [helper.make_node("Identity", ["a"], ["b"])],
                                    [helper.make_opsetid("", OPSET)])
    function.attribute_proto.append(helper.make_attribute("alpha", alpha))
    message = from_proto(function)
    set_dims_in(message.sub(11).sub(A.t), [-1])
    model.fields.append(Field(M.functions, LEN, message))
    return model


def big_int64_initializer(model: Message, dims: int, count: int) -> Message:
    """The model with an INT64 initializer 'big' of dims [dims] holding `count` int64_data values,
    copied to a graph output by an Identity node."""
    model = copy_of(model)
    graph = graph_of(model)
    big = helper.make_tensor("big", TensorProto.INT64, [dims], list(range(dims)))
    message = from_proto(big)
    message.one(T.int64_data).value = b"".join(varint(v) for v in range(count))
    copy = helper.make_node("Identity", ["big"], ["big_copy"], name="copy_big")
    output = helper.make_tensor_value_info("big_copy", TensorProto.INT64, [dims])
    graph.fields.insert(graph.position(G.name), Field(G.node, LEN, from_proto(copy)))
    graph.fields.insert(graph.position(G.input), Field(G.initializer, LEN, message))
    graph.fields.append(Field(G.output, LEN, from_proto(output)))
    return model


def reverse_nodes(model: Message) -> Message:
    model = copy_of(model)
    graph = graph_of(model)
    nodes = graph.all(G.node)
    graph.fields = nodes[::-1] + [f for f in graph.fields if f not in nodes]
    return model


def rename_input(model: Message, node_name: str, index: int, value: str) -> Message:
    model = copy_of(model)
    node(model, node_name).one(N.input, index).value = value.encode()
    return model


def external_entry_broken() -> Message:
    model = external_model("external_entry_length_past_end.data")
    tensor = initializer(model, "W")
    entry = tensor.one(T.external_data)
    entry.value = tag(E.key, LEN) + varint(50) + b"location"
    return model


# ---- writing ----------------------------------------------------------------------------------------


def write() -> None:
    build_cases()
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    CORPUS.mkdir(parents=True)
    entries = []
    for c in CASES:
        for relative, content in sorted(c.files.items()):
            path = CORPUS / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        python = {"raises_at": c.py_raises_at}
        if c.py_raises_at is not None:
            python.update(error=c.py_error, message=c.py_message)
        cpp = {"raises_at": c.cpp_raises_at}
        if c.cpp_raises_at is not None:
            cpp.update(error=c.cpp_error, message=c.cpp_message)
        if c.cpp_note:
            cpp["note"] = c.cpp_note
        entries.append({"name": c.name, "category": c.category, "exercises": c.exercises,
                        "file": f"corpus/{c.model}", "python": python, "cpp": cpp})
    document = {
        "about": "Malformed ONNX files and the typed error each must raise; written by make_corpus.py.",
        "python_calls": {"order": list(PY_CALLS),
                         "meaning": "calls before raises_at succeed; raises_at and every later call raise "
                                    "error (exactly that onnx_weightless class), every string of message in "
                                    "str(error); raises_at null: every call succeeds"},
        "cpp_steps": {"order": list(CPP_STEPS),
                      "meaning": "scan: scan_file; skeleton: write_skeleton (thresholds 1024 and 0) and a scan of "
                                 "each skeleton; read: every tensor's bytes (payload_to_raw of inline typed "
                                 "payloads, read_external of external ones). Steps before raises_at succeed; "
                                 "raises_at throws error (exactly that class), every string of message in what(); "
                                 "raises_at null: every step succeeds"},
        "cases": entries,
    }
    EXPECTED.write_text(json.dumps(document, indent=1) + "\n")
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    by_category = Counter(c.category for c in CASES)
    print(f"{len(CASES)} cases, {total} bytes in {CORPUS.relative_to(HERE.parents[1])}: "
          + ", ".join(f"{k} {v}" for k, v in sorted(by_category.items())))


if __name__ == "__main__":
    sys.exit(write())
