// Checking a model's external data without reading it: which files the tensors reference, whether
// each is present, safe to open (the rules of weights.hpp) and large enough for every tensor's
// offset + length, and whether each declared length matches the tensor's dims x dtype.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx_weightless/tensor_index.hpp"
#include "onnx_weightless/weights.hpp"

namespace onnx_weightless {

/// A tensor whose external-data reference cannot be satisfied.
struct ExternalTensorProblem {
    std::string tensor;
    std::string problem;  ///< e.g. "ends at byte 4096, beyond the file's 1024 bytes"
};

struct ExternalFileCheck {
    std::string location;
    ExternalFileStatus status;      ///< present / missing / refused, size, reason
    uint64_t tensors = 0;           ///< tensors stored in the file
    uint64_t bytes = 0;             ///< bytes they reference
    uint64_t required_size = 0;     ///< the largest offset + length among them
    std::vector<ExternalTensorProblem> problems;  ///< bounds and length mismatches (present files)

    bool ok() const { return status.state == ExternalFileState::present && problems.empty(); }
};

struct ExternalDataCheck {
    std::vector<ExternalFileCheck> files;  ///< by location
    /// Tensors whose reference is malformed whatever the file (no location, bad offset/length).
    std::vector<ExternalTensorProblem> malformed;

    bool ok() const;
};

/// Checks every external reference of `index`, resolving locations in `folder` (the
/// model's absolute folder). Opens each file only to learn its size; reads no data.
ExternalDataCheck check_external_data(const TensorIndex& index, const DataFolder& folder);

}  // namespace onnx_weightless
