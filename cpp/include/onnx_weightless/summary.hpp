// Totals over a TensorIndex: what `inspect` reports about a model's weights.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "onnx_weightless/tensor_index.hpp"

namespace onnx_weightless {

struct Totals {
    uint64_t tensors = 0;
    uint64_t elements = 0;
    uint64_t bytes = 0;  ///< raw size (dims x dtype); STRING tensors count their encoded payload
};

struct IndexTotals {
    Totals all;
    std::map<std::string, Totals> by_dtype;          ///< "FLOAT", "BFLOAT16", ...
    std::map<std::string, Totals> by_storage;        ///< "inline", "external", "none"
    std::map<std::string, Totals> by_external_file;  ///< external_data location
};

IndexTotals totals(const TensorIndex& index);

}  // namespace onnx_weightless
