// A model as the CLI's analysing commands read it: scanned, its skeleton written in memory, shapes
// inferred on the skeleton, and its graph analysed, weights never read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "onnx_weightless/analysis.hpp"
#include "onnx_weightless/graph.hpp"
#include "onnx_weightless/tensor_index.hpp"
#include "shape_inference.hpp"

namespace onnx_weightless::cli {

struct LoadedModel {
    TensorIndex index;
    double scan_seconds = 0;
    uint64_t scan_bytes_read = 0;
    uint64_t scan_reads = 0;
    InferredModel inferred;  ///< the skeleton, with the shapes inference gave
    double inference_seconds = 0;
    GraphView graph;
    Analysis analysis;

    /// "onnx" when inference ran, "declared" otherwise (Python's ModelReport.shapes_from).
    const char* shapes_from() const { return inferred.inferred ? "onnx" : "declared"; }
};

/// Reads the model at `path`; symbols sized by `dims`, the `largest` activations listed.
LoadedModel load_model(const std::string& path, const std::map<std::string, int64_t>& dims, size_t largest);

}  // namespace onnx_weightless::cli
