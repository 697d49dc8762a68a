#include "onnx_weightless/diff.hpp"

#include <map>
#include <set>

#include "onnx_weightless/dtype.hpp"

namespace onnx_weightless {
namespace {

std::string op_key(const GraphNode& node) {
    return node.domain.empty() ? node.op_type : node.domain + "::" + node.op_type;
}

std::string node_label(const GraphNode& node, size_t index) {
    return node.name.empty() ? op_key(node) + "#" + std::to_string(index) : node.name;
}

std::string ints_text(const std::vector<int64_t>& values) {
    std::string text = "[";
    for (size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + std::to_string(values[i]);
    return text + "]";
}

size_t node_count(const GraphView& graph) {
    size_t n = graph.nodes.size();
    for (const auto& node : graph.nodes) {
        for (const auto& [name, attribute] : node.attributes) {
            for (const auto& subgraph : attribute.graphs) n += node_count(subgraph);
        }
    }
    return n;
}

/// An attribute's value as text; what the graph view reads of it (a subgraph: its node count).
std::string attribute_text(const AttributeValue& value) {
    if (!value.graphs.empty()) {
        std::string text;
        for (const auto& graph : value.graphs) text += (text.empty() ? "" : ", ") + ("graph of " + std::to_string(node_count(graph)) + " nodes");
        return text;
    }
    if (!value.ints.empty()) return ints_text(value.ints);
    if (!value.s.empty()) return "\"" + value.s + "\"";
    if (value.f != 0) return std::to_string(value.f);
    return std::to_string(value.i);
}

std::vector<TextChange> attribute_changes(const GraphNode& a, const GraphNode& b) {
    std::vector<TextChange> changes;
    std::set<std::string> names;
    for (const auto& [name, value] : a.attributes) names.insert(name);
    for (const auto& [name, value] : b.attributes) names.insert(name);
    for (const auto& name : names) {
        auto x = a.attributes.find(name);
        auto y = b.attributes.find(name);
        std::string before = x == a.attributes.end() ? "" : attribute_text(x->second);
        std::string after = y == b.attributes.end() ? "" : attribute_text(y->second);
        if (before != after) changes.push_back({name, std::move(before), std::move(after)});
    }
    return changes;
}

/// The graph's inputs (or outputs) by name, as type text.
std::map<std::string, std::string> value_types(const GraphView& graph, const std::vector<std::string>& names) {
    std::map<std::string, std::string> types;
    for (const auto& name : names) {
        auto it = graph.values.find(name);
        types[name] = it == graph.values.end() ? "(no type)" : type_text(it->second);
    }
    return types;
}

std::vector<TextChange> value_changes(const std::map<std::string, std::string>& before,
                                      const std::map<std::string, std::string>& after) {
    std::vector<TextChange> changes;
    for (const auto& [name, type] : before) {
        auto it = after.find(name);
        if (it == after.end()) changes.push_back({name, type, ""});
        else if (it->second != type) changes.push_back({name, type, it->second});
    }
    for (const auto& [name, type] : after) {
        if (!before.count(name)) changes.push_back({name, "", type});
    }
    return changes;
}

/// Each tensor by a key unique within its model: its name, or NODE.ATTRIBUTE when unnamed; a key
/// that comes again gets `#k`.
std::map<std::string, const TensorInfo*> tensors_by_key(const TensorIndex& index) {
    std::map<std::string, const TensorInfo*> keyed;
    for (const auto& tensor : index.tensors) {
        if (tensor.sparse_indices) continue;
        std::string key = tensor.name.empty() ? tensor.node_name + "." + tensor.attribute_name : tensor.name;
        if (keyed.count(key)) {
            size_t k = 2;
            while (keyed.count(key + "#" + std::to_string(k))) ++k;
            key += "#" + std::to_string(k);
        }
        keyed.emplace(std::move(key), &tensor);
    }
    return keyed;
}

std::vector<TensorChange> tensor_changes(const TensorIndex& before, const TensorIndex& after) {
    const auto a = tensors_by_key(before);
    const auto b = tensors_by_key(after);
    std::vector<TensorChange> changes;
    auto change = [](const std::string& key, TensorChange::Kind kind, const TensorInfo* x, const TensorInfo* y) {
        TensorChange c;
        c.name = key;
        c.kind = kind;
        if (x) c.dtype_before = x->data_type, c.dims_before = x->dims, c.bytes_before = x->byte_size.value_or(0);
        if (y) c.dtype_after = y->data_type, c.dims_after = y->dims, c.bytes_after = y->byte_size.value_or(0);
        return c;
    };
    for (const auto& [key, x] : a) {
        auto it = b.find(key);
        if (it == b.end()) {
            changes.push_back(change(key, TensorChange::Kind::removed, x, nullptr));
            continue;
        }
        const TensorInfo* y = it->second;
        const bool reshaped = x->dims != y->dims;
        const bool retyped = x->data_type != y->data_type;
        if (reshaped || retyped) {
            const auto kind = reshaped && retyped ? TensorChange::Kind::reshaped_and_retyped
                              : reshaped          ? TensorChange::Kind::reshaped
                                                  : TensorChange::Kind::retyped;
            changes.push_back(change(key, kind, x, y));
        }
    }
    for (const auto& [key, y] : b) {
        if (!a.count(key)) changes.push_back(change(key, TensorChange::Kind::added, nullptr, y));
    }
    return changes;
}

std::vector<CountChange> count_changes(const std::map<std::string, int64_t>& before, const std::map<std::string, int64_t>& after) {
    std::set<std::string> keys;
    for (const auto& [key, n] : before) keys.insert(key);
    for (const auto& [key, n] : after) keys.insert(key);
    std::vector<CountChange> changes;
    for (const auto& key : keys) {
        auto x = before.find(key);
        auto y = after.find(key);
        const int64_t a = x == before.end() ? 0 : x->second;
        const int64_t b = y == after.end() ? 0 : y->second;
        if (a != b) changes.push_back({key, a, b});
    }
    return changes;
}

/// Nodes per op type in every graph and function, as inspect's op table counts them.
std::map<std::string, int64_t> op_counts(const TensorIndex& index) {
    std::map<std::string, int64_t> counts;
    for (const auto& [op, n] : index.summary.op_histogram) counts[op] = static_cast<int64_t>(n);
    return counts;
}

std::map<std::string, int64_t> opset_versions(const TensorIndex& index) {
    std::map<std::string, int64_t> versions;
    for (const auto& opset : index.summary.opsets) versions[opset.domain == "ai.onnx" ? "" : opset.domain] = opset.version;
    return versions;
}

/// A node name's scope: what comes before its last '/', with it; empty for a name without one.
std::string scope_of(const std::string& name) {
    const size_t slash = name.rfind('/');
    return slash == std::string::npos || slash == 0 ? std::string() : name.substr(0, slash + 1);
}

/// Names given to exactly one node of the graph.
std::map<std::string, size_t> unique_names(const GraphView& graph) {
    std::map<std::string, size_t> first;
    std::set<std::string> repeated;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const auto& name = graph.nodes[i].name;
        if (name.empty()) continue;
        if (!first.emplace(name, i).second) repeated.insert(name);
    }
    for (const auto& name : repeated) first.erase(name);
    return first;
}

void compare_nodes(const GraphView& a, const GraphView& b, StructureDiff& out) {
    out.nodes_before = a.nodes.size();
    out.nodes_after = b.nodes.size();
    std::vector<size_t> partner(a.nodes.size(), SIZE_MAX);  // a's node index -> b's
    std::vector<bool> taken(b.nodes.size(), false);
    const auto names_b = unique_names(b);
    for (const auto& [name, i] : unique_names(a)) {
        auto it = names_b.find(name);
        if (it == names_b.end()) continue;
        partner[i] = it->second;
        taken[it->second] = true;
        out.matched_by_name += 1;
    }
    // Then by the name scope exporters write (`/model/layers.0/attn/qkv_proj/` of `.../MatMul`):
    // a scope left with as many nodes on each side pairs them in graph order, so a MatMul that
    // quantization replaced by `.../MatMul_Q4` is a changed node.
    std::map<std::string, std::pair<std::vector<size_t>, std::vector<size_t>>> scopes;
    for (size_t i = 0; i < a.nodes.size(); ++i) {
        if (partner[i] == SIZE_MAX && !scope_of(a.nodes[i].name).empty()) scopes[scope_of(a.nodes[i].name)].first.push_back(i);
    }
    for (size_t j = 0; j < b.nodes.size(); ++j) {
        if (!taken[j] && !scope_of(b.nodes[j].name).empty()) scopes[scope_of(b.nodes[j].name)].second.push_back(j);
    }
    for (const auto& [scope, sides] : scopes) {
        if (sides.first.size() != sides.second.size()) continue;
        for (size_t k = 0; k < sides.first.size(); ++k) {
            partner[sides.first[k]] = sides.second[k];
            taken[sides.second[k]] = true;
            out.matched_by_scope += 1;
        }
    }
    // The nodes left of each op type, paired in graph order.
    std::map<std::string, std::vector<size_t>> left_b;
    for (size_t j = 0; j < b.nodes.size(); ++j) {
        if (!taken[j]) left_b[op_key(b.nodes[j])].push_back(j);
    }
    std::map<std::string, size_t> next;
    for (size_t i = 0; i < a.nodes.size(); ++i) {
        if (partner[i] != SIZE_MAX) continue;
        const std::string key = op_key(a.nodes[i]);
        auto it = left_b.find(key);
        size_t& k = next[key];
        if (it == left_b.end() || k >= it->second.size()) continue;
        partner[i] = it->second[k++];
        taken[partner[i]] = true;
        out.matched_by_structure += 1;
    }
    for (size_t i = 0; i < a.nodes.size(); ++i) {
        const GraphNode& x = a.nodes[i];
        if (partner[i] == SIZE_MAX) {
            out.nodes_removed.push_back(node_label(x, i));
            continue;
        }
        const GraphNode& y = b.nodes[partner[i]];
        NodeChange change{node_label(x, i), node_label(y, partner[i]), op_key(x), op_key(y),
                          x.inputs.size(), y.inputs.size(), attribute_changes(x, y)};
        if (change.op_before != change.op_after || change.inputs_before != change.inputs_after || !change.attributes.empty()) {
            out.nodes_changed.push_back(std::move(change));
        }
    }
    for (size_t j = 0; j < b.nodes.size(); ++j) {
        if (!taken[j]) out.nodes_added.push_back(node_label(b.nodes[j], j));
    }
}

}  // namespace

const char* tensor_change_name(TensorChange::Kind kind) {
    switch (kind) {
        case TensorChange::Kind::added: return "added";
        case TensorChange::Kind::removed: return "removed";
        case TensorChange::Kind::reshaped: return "reshaped";
        case TensorChange::Kind::retyped: return "retyped";
        case TensorChange::Kind::reshaped_and_retyped: return "reshaped and retyped";
    }
    return "?";
}

std::string type_text(const ValueType& type) {
    if (!type.tensor) return "(not a tensor)";
    std::string text = type.elem_type ? dtype_name(type.elem_type) : "?";
    if (!type.has_shape) return text + "[...]";
    text += "[";
    for (size_t i = 0; i < type.dims.size(); ++i) {
        const Dim& dim = type.dims[i];
        text += (i ? ", " : "") + (dim.value >= 0 ? std::to_string(dim.value) : dim.symbol.empty() ? "?" : dim.symbol);
    }
    return text + "]";
}

bool StructureDiff::identical() const {
    return ir_before == ir_after && opsets.empty() && inputs.empty() && outputs.empty() && ops.empty() &&
           tensors.empty() && nodes_added.empty() && nodes_removed.empty() && nodes_changed.empty();
}

StructureDiff diff(const ModelView& before, const ModelView& after) {
    StructureDiff out;
    out.ir_before = before.index.summary.ir_version;
    out.ir_after = after.index.summary.ir_version;
    out.opsets = count_changes(opset_versions(before.index), opset_versions(after.index));
    out.inputs = value_changes(value_types(before.graph, before.graph.inputs), value_types(after.graph, after.graph.inputs));
    out.outputs = value_changes(value_types(before.graph, before.graph.outputs), value_types(after.graph, after.graph.outputs));
    out.ops = count_changes(op_counts(before.index), op_counts(after.index));
    out.tensors = tensor_changes(before.index, after.index);
    compare_nodes(before.graph, after.graph, out);
    out.weights_before = totals(before.index).all;
    out.weights_after = totals(after.index).all;
    out.macs_before = before.analysis.macs;
    out.macs_after = after.analysis.macs;
    out.uncosted_before = before.analysis.unknown_nodes;
    out.uncosted_after = after.analysis.unknown_nodes;
    return out;
}

}  // namespace onnx_weightless
