// Writing a model's skeleton (and its manifest) as new files: complete or not at all.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace onnx_weightless {

/// An output file exists and replacing it was not asked for.
class OutputExistsError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct StripOptions {
    uint64_t threshold_bytes = 1024;  ///< payloads of more bytes are stripped
    bool overwrite = false;           ///< replace existing output files (never the model itself)
    std::string manifest;             ///< manifest file to write as well; empty: none
    /// Called after each tensor the manifest hashes, with how many of how many are done.
    std::function<void(uint64_t done, uint64_t total)> on_tensor_hashed;
};

struct StripResult {
    uint64_t model_size = 0;
    uint64_t skeleton_size = 0;
    uint64_t stripped_tensors = 0;
    uint64_t stripped_bytes = 0;
};

/// Writes the skeleton of the model at `model` to `skeleton`: every payload over the threshold is
/// left in the model file and referenced from there by name. With `options.manifest`, also writes
/// every tensor's name, dtype, dims, storage, location and the SHA-256 of its bytes where they are
/// present (docs/schemas/manifest.schema.json). Each file is written under a temporary name in its
/// folder and renamed into place once complete. Before writing anything, throws
/// std::invalid_argument if an output is the model itself, OutputExistsError if one exists and
/// `overwrite` is false; Error for a malformed model.
StripResult strip_model(const std::string& model, const std::string& skeleton, const StripOptions& options);

}  // namespace onnx_weightless
