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
//
// A symbol of the graph's inputs that the options do not size stays a symbol: figures are then
// exact polynomials in the symbols (polynomial.hpp), never 0 for want of a size. A node is left
// uncosted (known = false, with the reason) only when a shape it needs is unknown: rank missing,
// or a dimension that is neither a number nor a polynomial in the inputs' symbols.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "onnx_weightless/graph.hpp"
#include "onnx_weightless/polynomial.hpp"

namespace onnx_weightless {

struct AnalysisOptions {
    /// Sizes for symbolic dimensions (dim_param), e.g. {"batch", 1}, {"sequence", 128}. Symbols
    /// not given stay symbols: the figures are polynomials in them.
    std::map<std::string, int64_t> dims;
    /// How many of the largest activations to list.
    size_t largest = 10;
};

struct NodeCost {
    std::string name;
    std::string op_type;
    std::string domain;
    Polynomial macs;
    Polynomial flops;
    /// False when a shape the node's cost depends on is unknown (its cost then counts as 0).
    bool known = true;
    /// Why the cost is not known: the value whose shape is missing, and what it lacks.
    std::string reason;
};

struct OpCost {
    uint64_t nodes = 0;
    Polynomial macs;
    Polynomial flops;
    uint64_t unknown = 0;  ///< nodes whose cost could not be computed
};

/// A value with a known shape (its dims constants, or symbols left unbound).
struct SizedValue {
    std::string name;
    int32_t elem_type = 0;
    std::vector<Polynomial> dims;
    Polynomial bytes;
};

struct Analysis {
    std::vector<NodeCost> nodes;      ///< in graph order
    std::map<std::string, OpCost> by_op;  ///< key: op_type, or "domain::op_type" outside ai.onnx
    Polynomial macs;
    Polynomial flops;
    uint64_t unknown_nodes = 0;
    /// Node outputs: how many have a known size, and how many not. Outputs computed from
    /// initializers alone (a weight an exporter transposes or casts at run time) are not
    /// activations: they are counted apart, as weight-derived.
    uint64_t activations_known = 0;
    uint64_t activations_unknown = 0;
    /// The node outputs whose size is unknown (activations_unknown of them), in graph order.
    /// Values declared as sequences, maps or optionals are neither: they have no dense size.
    std::vector<std::string> unsized_activations;
    uint64_t weight_derived = 0;
    Polynomial weight_derived_bytes;
    /// Sum of every node output's bytes (no buffer reuse), and the most bytes alive at once when
    /// nodes run in graph order and a value is freed after its last reader (graph inputs included).
    Polynomial activation_bytes;
    PolynomialMax peak_activation_bytes;
    /// By bytes, largest first (symbolic sizes ordered as if every unbound symbol were 1024).
    std::vector<SizedValue> largest_activations;
    /// Symbols the figures are polynomials in (those `dims` did not bind).
    std::set<std::string> symbols;

    /// Every node costed and every activation sized: no figure leaves anything out.
    bool complete() const { return unknown_nodes == 0 && activations_unknown == 0; }
};

/// The symbols of a graph's inputs: the sizes a user gives, which figures may be polynomials in.
std::set<std::string> input_symbols(const GraphView& graph);

/// The value's dims as polynomials: numbers, symbols `dims` sizes replaced by their sizes, the
/// other `symbols` kept, and expressions of them (`past + sequence`). Nullopt when its rank or a
/// dimension is unknown: neither a number nor such a symbol or expression (a symbol shape
/// inference made up for a size it could not compute, `unk__12`, is unknown).
std::optional<std::vector<Polynomial>> resolved_shape(const GraphView& graph, const std::string& value,
                                                      const std::map<std::string, int64_t>& dims,
                                                      const std::set<std::string>& symbols);

Analysis analyze(const GraphView& graph, const AnalysisOptions& options = {});

}  // namespace onnx_weightless
