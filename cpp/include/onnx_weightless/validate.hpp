// The structure a conversion relies on, checked before it starts, in one pass over the graph view
// (no weights): every node input is produced by a graph input, an initializer, an earlier node or
// an enclosing graph; every graph output by one of those; names, op types, domains and string
// attributes are valid UTF-8; each attribute's declared type agrees with the field that holds its
// value; no dimension is negative; each opset version is one onnx can look schemas up by (an
// int). A failure is a FormatError naming the node (index, name, operator), the value or the
// opset import, and the field.
//
// What this adds over onnx.checker: it runs on the skeleton in milliseconds (the checker needs
// the model in memory, and with_weights its 2 GB protobuf limit), never loads external data, and
// reports through this library's typed errors. What it leaves to the checker: operator schemas
// (input counts, types, attribute requirements per op and opset), which a converter or
// onnx.checker reports, and type consistency between producers and consumers.
#pragma once

#include "onnx_weightless/graph.hpp"

namespace onnx_weightless {

/// Throws FormatError at the first structural fault of `graph` and its subgraphs.
void validate_graph(const GraphView& graph);

/// Whether `text` is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(const std::string& text);

}  // namespace onnx_weightless
