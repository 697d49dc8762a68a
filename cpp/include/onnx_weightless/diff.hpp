// What differs between the structures of two models, weights unread: the questions asked when
// comparing two exports, two opsets or two quantizations of one model. Inputs and outputs whose
// type changed, opset and IR versions, the op histogram, tensors added, removed, reshaped or
// retyped, nodes added, removed or changed, and the parameter and MAC totals.
//
// Nodes are aligned first by name (names both models give once), then by the name scope exporters
// write (a scope left with as many nodes on each side pairs them in order), then by structure: the
// nodes left of each op type are paired in graph order. A node aligned whose op type changed (a
// MatMul become MatMulNBits) is a changed node, not one removed and one added.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx_weightless/analysis.hpp"
#include "onnx_weightless/graph.hpp"
#include "onnx_weightless/summary.hpp"
#include "onnx_weightless/tensor_index.hpp"

namespace onnx_weightless {

/// One side of a comparison: a model's tensor index, its graph (shapes inferred or declared) and
/// the analysis of that graph.
struct ModelView {
    const TensorIndex& index;
    const GraphView& graph;
    const Analysis& analysis;
};

/// A named thing present on one side or both, as text: `before` empty when it was added, `after`
/// empty when it was removed.
struct TextChange {
    std::string name;
    std::string before;
    std::string after;
};

/// A count on each side (an op type's nodes; an opset's version, 0 where it is not imported).
struct CountChange {
    std::string name;
    int64_t before = 0;
    int64_t after = 0;
};

struct TensorChange {
    std::string name;  ///< the tensor's name, or `NODE.ATTRIBUTE` for an unnamed node attribute (a Constant's value)
    enum class Kind : uint8_t { added, removed, reshaped, retyped, reshaped_and_retyped } kind = Kind::added;
    int32_t dtype_before = 0;
    int32_t dtype_after = 0;
    std::vector<int64_t> dims_before;
    std::vector<int64_t> dims_after;
    uint64_t bytes_before = 0;
    uint64_t bytes_after = 0;
};
const char* tensor_change_name(TensorChange::Kind kind);

struct NodeChange {
    std::string name_before;
    std::string name_after;
    std::string op_before;  ///< "op_type", or "domain::op_type" outside ai.onnx
    std::string op_after;
    size_t inputs_before = 0;
    size_t inputs_after = 0;
    std::vector<TextChange> attributes;  ///< attributes added, removed or of another value
};

struct StructureDiff {
    int64_t ir_before = 0;
    int64_t ir_after = 0;
    std::vector<CountChange> opsets;  ///< domain ("" for ai.onnx) whose imported version differs
    std::vector<TextChange> inputs;   ///< graph inputs added, removed or of another type (`FLOAT[batch, 8]`)
    std::vector<TextChange> outputs;
    std::vector<CountChange> ops;     ///< op types whose node count (in every graph) differs
    std::vector<TensorChange> tensors;
    uint64_t nodes_before = 0;  ///< the main graph's: nodes are aligned there (a subgraph is its node's attribute)
    uint64_t nodes_after = 0;
    uint64_t matched_by_name = 0;
    uint64_t matched_by_scope = 0;
    uint64_t matched_by_structure = 0;
    std::vector<std::string> nodes_added;    ///< names (`op_type#index` for an unnamed node)
    std::vector<std::string> nodes_removed;
    std::vector<NodeChange> nodes_changed;
    Totals weights_before;
    Totals weights_after;
    PolynomialMax macs_before;
    PolynomialMax macs_after;
    /// Nodes whose cost each side's analysis could not compute: its MACs are then a lower bound.
    uint64_t uncosted_before = 0;
    uint64_t uncosted_after = 0;

    /// No difference of structure: the same graph, types and tensor shapes (values unread).
    bool identical() const;
};

StructureDiff diff(const ModelView& before, const ModelView& after);

/// `FLOAT[batch, 8]`: a value's element type and dims, as the diff writes them.
std::string type_text(const ValueType& type);

}  // namespace onnx_weightless
