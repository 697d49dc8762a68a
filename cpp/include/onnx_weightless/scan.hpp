// bytes -> TensorIndex. Walks ModelProto, graphs (subgraphs at any depth), nodes, attributes,
// functions and training graphs, locating every tensor. Payload bytes are never read: only
// field headers, names, dims, dtypes and external_data entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/limits.hpp"
#include "onnx_weightless/tensor_index.hpp"

namespace onnx_weightless {

struct ScanOptions {
    /// Subgraph nesting beyond this is refused (LimitError): keeps recursion bounded on hostile input.
    uint32_t max_depth = limits::kMaxGraphDepth;
    size_t window_size = ByteWindow::default_window_size;
};

/// Scans a model held by `source`. Throws FormatError / LimitError on malformed input.
TensorIndex scan(ByteSource& source, const ScanOptions& options = {});

/// Opens `path` and scans it. Throws IoError if it cannot be read.
TensorIndex scan_file(const std::string& path, const ScanOptions& options = {});

}  // namespace onnx_weightless
