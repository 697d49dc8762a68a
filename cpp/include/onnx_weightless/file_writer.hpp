// Writing a file so that it is complete or absent: the skeleton, its manifest, an HTML report.
#pragma once

#include <string>

namespace onnx_weightless {

/// Writes `bytes` to `target` through a partial file in the same folder, renamed into place; an
/// existing `target` is replaced. Throws IoError (and leaves no partial file) when that fails.
void write_file_atomically(const std::string& target, const std::string& bytes);

}  // namespace onnx_weightless
