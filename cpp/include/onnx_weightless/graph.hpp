// The operator graph of a model held in memory (a skeleton): nodes with their inputs, outputs,
// scalar/list attributes and subgraphs (If's branches, Loop's and Scan's bodies, at any depth up to
// limits::kMaxGraphDepth), and every value type each graph declares (inputs and outputs,
// value_info, initializers). What the analysis walks; payloads play no part in it, but for the
// integer scalars a Loop's trip count may be.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "onnx_weightless/tensor_index.hpp"

namespace onnx_weightless {

/// One dimension: a number, a symbol (dim_param), or unknown (neither).
struct Dim {
    int64_t value = -1;  ///< >= 0 when fixed
    std::string symbol;  ///< non-empty when symbolic
    bool negative = false;  ///< the file gave a negative dim_value (value is then -1)
};

/// A tensor value's declared element type and shape (`has_shape` false: rank unknown).
struct ValueType {
    int32_t elem_type = 0;
    bool has_shape = false;
    std::vector<Dim> dims;
    /// False for a value declared as a sequence, map, optional or sparse tensor.
    bool tensor = true;
};

struct GraphView;

/// The attribute kinds cost formulas read: int, float, string, int list, and the graphs it holds
/// (one for `g`, such as If's then_branch or Loop's body; any number for `graphs`).
struct AttributeValue {
    int64_t i = 0;
    float f = 0;
    std::string s;
    std::vector<std::string> strings;
    std::vector<int64_t> ints;
    std::vector<GraphView> graphs;
    int32_t type = 0;  ///< AttributeProto.type as written (0: not written)
    /// Bit n set when field n of AttributeProto holds a value (f = 2 ... sparse_tensors = 23).
    uint32_t fields = 0;
    bool reference = false;  ///< ref_attr_name: a function's attribute refers to its caller's
};

struct GraphNode {
    std::string name;
    std::string op_type;
    std::string domain;  ///< "" for the default ai.onnx domain
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
    std::map<std::string, AttributeValue> attributes;
};

/// A graph: the model's main graph, or a subgraph held by a node's attribute. A subgraph's nodes
/// may read the values of the graphs enclosing it.
struct GraphView {
    std::vector<GraphNode> nodes;
    std::vector<std::string> inputs;   ///< graph inputs, initializers excluded
    std::vector<std::string> outputs;  ///< graph outputs
    std::map<std::string, ValueType> values;
    std::set<std::string> initializers;
    /// Integer scalars the graph holds as initializers or Constant nodes (one int32/int64 element):
    /// what a Loop's trip count is when it is a constant.
    std::map<std::string, int64_t> scalars;
    /// The main graph only: the model's opsets, and its local functions as (domain, name) (a node
    /// of that op type calls one).
    std::vector<OpsetImport> opsets;
    std::set<std::pair<std::string, std::string>> functions;
};

/// The value names a graph's nodes may read: the graph's own so far, then those of the graphs
/// enclosing it (as they were when the node holding it came).
struct NameScope {
    std::set<std::string> names;
    const NameScope* outer = nullptr;

    bool has(const std::string& name) const {
        for (const NameScope* s = this; s; s = s->outer) {
            if (s->names.count(name)) return true;
        }
        return false;
    }
};

/// Reads the main graph of the serialized ModelProto `model`, and its subgraphs. Throws FormatError
/// when the bytes are not a well-formed ModelProto and LimitError beyond the limits the scan
/// applies (limits.hpp).
GraphView read_graph(std::string_view model);

}  // namespace onnx_weightless
