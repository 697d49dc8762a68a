#include "onnx_weightless/blocks.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace onnx_weightless {
namespace {

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    for (char c : text) {
        if (c == separator) {
            if (!part.empty()) parts.push_back(std::move(part));
            part.clear();
        } else {
            part += c;
        }
    }
    if (!part.empty()) parts.push_back(std::move(part));
    return parts;
}

/// The block path of every node of the main graph (module docstring). A node named without a
/// hierarchy takes, in this order: that of the weight it reads, that of a node computing from
/// weights alone whose output it reads (an exporter's Transpose of the weight), or that of the
/// node producing its first input.
std::vector<std::vector<std::string>> node_paths(const GraphView& graph) {
    std::map<std::string, size_t> producer;
    std::vector<std::vector<std::string>> paths(graph.nodes.size());
    std::vector<bool> weight_only(graph.nodes.size(), false);  // computes from weights alone
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const GraphNode& node = graph.nodes[i];
        weight_only[i] = !node.inputs.empty() && std::all_of(node.inputs.begin(), node.inputs.end(), [&](const std::string& input) {
            auto it = producer.find(input);
            return input.empty() || graph.initializers.count(input) || (it != producer.end() && weight_only[it->second]);
        });
        std::vector<std::string>& path = paths[i];
        if (node.name.find('/') != std::string::npos) {
            path = split(node.name, '/');
            if (!path.empty()) path.pop_back();  // the node's own name
        }
        if (path.empty()) {
            for (const auto& input : node.inputs) {
                if (!graph.initializers.count(input) || input.find('.') == std::string::npos) continue;
                path = split(input, '.');
                path.pop_back();  // `weight`, `bias`
                break;
            }
        }
        if (path.empty()) {
            for (const auto& input : node.inputs) {
                auto it = producer.find(input);
                if (it == producer.end() || !weight_only[it->second] || paths[it->second].empty()) continue;
                path = paths[it->second];
                break;
            }
        }
        if (path.empty() && !node.inputs.empty()) {
            auto it = producer.find(node.inputs[0]);
            if (it != producer.end()) path = paths[it->second];
        }
        for (const auto& output : node.outputs) producer.emplace(output, i);
    }
    return paths;
}

std::string op_key(const GraphNode& node) {
    return node.domain.empty() ? node.op_type : node.domain + "::" + node.op_type;
}

/// Adds `other`'s figures to `total`.
void add(Block& total, const Block& other) {
    total.nodes += other.nodes;
    for (const auto& [op, n] : other.ops) total.ops[op] += n;
    total.weight_elements += other.weight_elements;
    total.weight_bytes += other.weight_bytes;
    total.macs += other.macs;
    total.activation_bytes += other.activation_bytes;
    total.uncosted += other.uncosted;
}

/// The children holding weights or MACs.
std::vector<const Block*> weighty_children(const Block& block) {
    std::vector<const Block*> kept;
    for (const auto& c : block.children) {
        if (c.weight_elements != 0 || !c.macs.is_zero()) kept.push_back(&c);
    }
    return kept;
}

/// Whether siblings fold: the same MACs, the same weights within 0.1% (the first reader of a
/// shared scalar constant holds it), and alike children of the same names among those
/// holding weights or MACs. Node counts and weightless children may differ: an exporter puts what
/// all layers share, the rotary tables or the mask, in the first.
bool alike(const Block& a, const Block& b) {
    const uint64_t most = std::max(a.weight_elements, b.weight_elements);
    const uint64_t least = std::min(a.weight_elements, b.weight_elements);
    if (!(a.macs == b.macs) || most - least > most / 1000) return false;
    const auto x = weighty_children(a);
    const auto y = weighty_children(b);
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
        if (x[i]->name != y[i]->name || !alike(*x[i], *y[i])) return false;
    }
    return true;
}

/// `layers.12` -> (`layers.`, true); a name not ending in digits -> ("", false).
std::pair<std::string, bool> stem(const std::string& name) {
    size_t end = name.size();
    while (end > 0 && std::isdigit(static_cast<unsigned char>(name[end - 1]))) --end;
    if (end == name.size()) return {"", false};
    return {name.substr(0, end), true};
}

/// Folds runs of consecutive siblings with one stem and one signature, at every level.
void fold(Block& block) {
    for (auto& c : block.children) fold(c);
    std::vector<Block> folded;
    for (size_t i = 0; i < block.children.size();) {
        Block& first = block.children[i];
        const auto [prefix, numbered] = stem(first.name);
        size_t j = i + 1;
        if (numbered) {
            while (j < block.children.size() && stem(block.children[j].name) == std::make_pair(prefix, true) &&
                   alike(first, block.children[j])) {
                ++j;
            }
        }
        if (j - i >= 2) {
            Block group = first;
            group.name = first.name + " … " + block.children[j - 1].name;
            group.repeat = j - i;
            for (size_t k = i + 1; k < j; ++k) add(group, block.children[k]);
            folded.push_back(std::move(group));
        } else {
            folded.push_back(std::move(first));
        }
        i = j;
    }
    block.children = std::move(folded);
}

}  // namespace

Block build_blocks(const GraphView& graph, const Analysis& analysis, const TensorIndex& index,
                   const std::string& model_name) {
    const auto paths = node_paths(graph);
    // Figures per node, then added to every block on its path.
    std::vector<Block> own(graph.nodes.size());
    std::map<std::string, size_t> first_reader;
    std::map<std::string, size_t> by_name;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const GraphNode& node = graph.nodes[i];
        for (const auto& input : node.inputs) first_reader.emplace(input, i);
        if (!node.name.empty()) by_name.emplace(node.name, i);
        own[i].nodes = 1;
        own[i].ops[op_key(node)] = 1;
        if (i < analysis.nodes.size()) {
            const NodeCost& cost = analysis.nodes[i];
            own[i].macs = cost.macs;
            own[i].activation_bytes = cost.output_bytes;
            own[i].uncosted = cost.known ? 0 : 1;
        }
    }
    Block root{model_name, 1, 0, {}, 0, 0, {}, {}, 0, {}};
    for (const auto& tensor : index.tensors) {
        if (tensor.sparse_indices) continue;
        size_t reader = SIZE_MAX;
        if (tensor.depth == 0 && tensor.role == TensorRole::initializer) {
            auto it = first_reader.find(tensor.name);
            if (it != first_reader.end()) reader = it->second;
        } else if (tensor.depth == 0 && tensor.role == TensorRole::node_attribute) {
            auto it = by_name.find(tensor.node_name);
            if (it != by_name.end()) reader = it->second;
        }
        Block& into = reader == SIZE_MAX ? root : own[reader];
        into.weight_elements += tensor.element_count;
        into.weight_bytes += tensor.byte_size.value_or(0);
    }
    // A block's place among its parent's children, by its path ("\x1f"-joined): indices, as the
    // blocks themselves move when a vector of children grows.
    std::map<std::string, size_t> positions;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        add(root, own[i]);
        Block* at = &root;
        std::string key;
        for (const auto& part : paths[i]) {
            key += '\x1f' + part;
            auto [it, fresh] = positions.emplace(key, at->children.size());
            if (fresh) at->children.push_back(Block{part, 1, 0, {}, 0, 0, {}, {}, 0, {}});
            at = &at->children[it->second];
            add(*at, own[i]);
        }
    }
    fold(root);
    return root;
}

}  // namespace onnx_weightless
