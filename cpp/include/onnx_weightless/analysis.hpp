// Cost and memory of a model's graph, from the shapes its values are declared or inferred with:
// multiply-accumulates and floating-point operations per node and in total, the activations'
// memory, and the largest activations. Weights are counted by summary.hpp from the TensorIndex.
//
// Counting conventions (those of the usual MAC counters, so figures compare with published ones):
//   MatMul, Gemm, Conv, ConvTranspose and their quantized and com.microsoft forms count their
//   multiply-accumulates (MACs); attention ops count Q·Kᵀ and the weighting of V (and the input
//   projections of com.microsoft Attention). FLOPs are 2 per MAC, plus per output element:
//   1 for element-wise arithmetic and activations, the kernel size for pooling, and a fixed count
//   per element for softmax and the normalisations (kElementFlops in analysis.cpp). Data movement
//   (Reshape, Transpose, Gather, Concat...) costs nothing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "onnx_weightless/graph.hpp"

namespace onnx_weightless {

struct AnalysisOptions {
    /// Sizes for symbolic dimensions (dim_param), e.g. {"batch", 1}, {"sequence", 128}.
    std::map<std::string, int64_t> dims;
    /// How many of the largest activations to list.
    size_t largest = 10;
};

struct NodeCost {
    std::string name;
    std::string op_type;
    std::string domain;
    uint64_t macs = 0;
    uint64_t flops = 0;
    /// False when a shape the node's cost depends on is unknown (its cost then counts as 0).
    bool known = true;
};

struct OpCost {
    uint64_t nodes = 0;
    uint64_t macs = 0;
    uint64_t flops = 0;
    uint64_t unknown = 0;  ///< nodes whose cost could not be computed
};

/// A value with a fully known shape.
struct SizedValue {
    std::string name;
    int32_t elem_type = 0;
    std::vector<int64_t> dims;
    uint64_t bytes = 0;
};

struct Analysis {
    std::vector<NodeCost> nodes;      ///< in graph order
    std::map<std::string, OpCost> by_op;  ///< key: op_type, or "domain::op_type" outside ai.onnx
    uint64_t macs = 0;
    uint64_t flops = 0;
    uint64_t unknown_nodes = 0;
    /// Node outputs: how many have a known size, and how many not. Outputs computed from
    /// initializers alone (a weight an exporter transposes or casts at run time) are not
    /// activations: they are counted apart, as weight-derived.
    uint64_t activations_known = 0;
    uint64_t activations_unknown = 0;
    uint64_t weight_derived = 0;
    uint64_t weight_derived_bytes = 0;
    /// Sum of every node output's bytes (no buffer reuse), and the most bytes alive at once when
    /// nodes run in graph order and a value is freed after its last reader (graph inputs included).
    uint64_t activation_bytes = 0;
    uint64_t peak_activation_bytes = 0;
    std::vector<SizedValue> largest_activations;  ///< by bytes, largest first
};

/// The value's dims with symbols replaced by `dims`; nullopt unless every dim is then known.
std::optional<std::vector<int64_t>> resolved_shape(const GraphView& graph, const std::string& value,
                                                   const std::map<std::string, int64_t>& dims);

Analysis analyze(const GraphView& graph, const AnalysisOptions& options = {});

}  // namespace onnx_weightless
