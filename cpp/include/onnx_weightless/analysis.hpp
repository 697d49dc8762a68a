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
//
// Subgraphs count, for one run of the model: an If costs its costliest branch (the maximum of the
// branches, `max(a, b)` when which one depends on the sizes); a Loop, Scan or SequenceMap costs its
// body times its trip count: a Loop's constant count, a Scan's scanned length, or else the symbol
// `trips(NODE)`, which `dims` may size like any other. A Loop whose condition can end it early is
// counted at its full count (an upper bound). Model-local functions are costed once inlined
// (inspect, in Python and the CLI, inlines them); a call left in the graph is uncosted.
// Activation memory is that of the main graph's values (a subgraph node's outputs included, the
// values inside it not).
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

/// The cost of one subgraph of a node, per run of the node.
struct SubgraphCost {
    std::string attribute;  ///< then_branch, else_branch, body; `name[i]` for an attribute holding several
    /// Per run of the node: for a body, per iteration times `iterations`.
    PolynomialMax macs;
    PolynomialMax flops;
    /// A body's trip count (a constant, a size, or the symbol `trips(NODE)`); 1 for a branch.
    Polynomial iterations = Polynomial::constant(1);
    uint64_t nodes = 0;    ///< its nodes, those of its own subgraphs included
    uint64_t unknown = 0;  ///< of those, how many are not costed
};

struct NodeCost {
    std::string name;
    std::string op_type;
    std::string domain;
    PolynomialMax macs;
    PolynomialMax flops;
    /// False when a shape the node's cost depends on is unknown: its figures leave that out (0 for
    /// a node without subgraphs; for one with subgraphs, the nodes of them not costed).
    bool known = true;
    /// Why the cost is not known: the value whose shape is missing, and what it lacks (for a
    /// subgraph node, the first node inside it not costed).
    std::string reason;
    /// If's branches, a Loop's or Scan's body: each one's cost (the node's is their maximum for an If).
    std::vector<SubgraphCost> subgraphs;
    /// Bytes of its outputs that are activations and sized (weight-derived values excluded).
    Polynomial output_bytes;
};

/// Nodes and cost of one operator type, over every graph: a node inside a body counts once per
/// iteration in the figures, and an If's branches add, for each op type, the branch where it
/// costs most (so the op types of a model with Ifs may add up to more than its total).
struct OpCost {
    uint64_t nodes = 0;
    PolynomialMax macs;
    PolynomialMax flops;
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
    std::vector<NodeCost> nodes;      ///< the main graph's, in graph order
    std::map<std::string, OpCost> by_op;  ///< key: op_type, or "domain::op_type" outside ai.onnx
    PolynomialMax macs;
    PolynomialMax flops;
    uint64_t unknown_nodes = 0;  ///< nodes of the main graph not costed (in part, for a subgraph node)
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
