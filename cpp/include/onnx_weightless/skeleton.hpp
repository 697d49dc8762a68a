// bytes + policy -> skeleton bytes: the same ModelProto with every inline payload above a
// threshold removed. A stripped tensor keeps name, dims, dtype and every other field, and is
// marked EXTERNAL with where its bytes really are (the model file itself, at the payload's offset).
// All other bytes, unknown fields included, are copied through unchanged; only the length
// prefixes of messages enclosing a stripped tensor are re-encoded.
#pragma once

#include <cstdint>
#include <string>

#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/tensor_index.hpp"

namespace onnx_weightless {

struct SkeletonPolicy {
    /// Inline payloads of more than this many bytes are stripped; ONNX's own default threshold for
    /// moving tensors to external data is 1024.
    uint64_t threshold_bytes = 1024;
    /// external_data "location" written for stripped inline tensors: the model file's name,
    /// relative to the model's folder, so the reference resolves where the model lives.
    std::string model_location;
};

struct SkeletonResult {
    std::string bytes;
    uint64_t stripped_tensors = 0;
    uint64_t stripped_bytes = 0;  ///< payload bytes left out
};

/// True when the policy strips this tensor.
bool strips(const TensorInfo& tensor, const SkeletonPolicy& policy);

/// Writes the skeleton of the model in `source`, described by `index` (from scan of the same source).
SkeletonResult write_skeleton(ByteSource& source, const TensorIndex& index, const SkeletonPolicy& policy);

}  // namespace onnx_weightless
