// SHA-256 of tensor data as it is stored, for skeleton manifests: a skeleton's recipient can check
// that the weights they later pour back in are the ones the skeleton was made from.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/data_folder.hpp"
#include "onnx_weightless/tensor_index.hpp"

namespace onnx_weightless {

/// Incremental SHA-256 (OpenSSL's implementation).
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(std::string_view bytes);
    /// The digest as 64 lowercase hex digits; the object is spent afterwards.
    std::string hex_digest();

private:
    void* context_;
};

/// SHA-256 of the tensor's payload bytes as stored: the inline payload field's bytes in `model`
/// (raw_data as is; typed fields in their wire encoding), or the external slice its reference
/// names, read in bounded pieces under the rules of weights.hpp. nullopt when there is no payload,
/// or the external file is missing, refused or too short.
std::optional<std::string> tensor_sha256(ByteSource& model, const TensorInfo& tensor, const DataFolder& folder);

}  // namespace onnx_weightless
