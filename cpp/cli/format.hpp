// Human-readable numbers and shapes for the CLI's tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace onnx_weightless::cli {

std::string human_bytes(double bytes);   ///< "1.50 GiB"
std::string human_count(double count);   ///< "8.03B"
std::string dims_text(const std::vector<int64_t>& dims);  ///< "[2, 3]"

}  // namespace onnx_weightless::cli
