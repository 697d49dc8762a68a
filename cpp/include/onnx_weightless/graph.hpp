// The operator graph of a model held in memory (a skeleton): nodes with their inputs, outputs and
// scalar/list attributes, and every value type the model declares (graph inputs and outputs,
// value_info, initializers). What the analysis walks; payloads play no part in it.
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
};

/// A tensor value's declared element type and shape (`has_shape` false: rank unknown).
struct ValueType {
    int32_t elem_type = 0;
    bool has_shape = false;
    std::vector<Dim> dims;
    /// False for a value declared as a sequence, map, optional or sparse tensor.
    bool tensor = true;
};

/// The attribute kinds cost formulas read: int, float, string and int list; and whether it holds
/// a graph (If's branches, a Loop's body), which is not read.
struct AttributeValue {
    int64_t i = 0;
    float f = 0;
    std::string s;
    std::vector<int64_t> ints;
    bool graph = false;
};

struct GraphNode {
    std::string name;
    std::string op_type;
    std::string domain;  ///< "" for the default ai.onnx domain
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
    std::map<std::string, AttributeValue> attributes;
};

/// The main graph of a model; subgraphs are not descended into.
struct GraphView {
    std::vector<OpsetImport> opsets;
    std::vector<GraphNode> nodes;
    std::vector<std::string> inputs;   ///< graph inputs, initializers excluded
    std::vector<std::string> outputs;  ///< graph outputs
    std::map<std::string, ValueType> values;
    std::set<std::string> initializers;
    /// The model-local functions, as (domain, name): a node of that op type calls one.
    std::set<std::pair<std::string, std::string>> functions;
};

/// Reads the main graph of the serialized ModelProto `model`. Throws FormatError when the bytes
/// are not a well-formed ModelProto and LimitError beyond the limits the scan applies.
GraphView read_graph(std::string_view model);

}  // namespace onnx_weightless
