#include "onnx_weightless/analysis.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "onnx_weightless/dtype.hpp"

namespace onnx_weightless {
namespace {

using Shape = std::vector<int64_t>;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

/// Saturating product: a hostile shape must not wrap around into a small cost.
uint64_t mul(uint64_t a, uint64_t b) {
    if (a != 0 && b > kMax / a) return kMax;
    return a * b;
}

uint64_t add(uint64_t a, uint64_t b) { return a > kMax - b ? kMax : a + b; }

uint64_t product(Shape::const_iterator begin, Shape::const_iterator end) {
    uint64_t n = 1;
    for (auto it = begin; it != end; ++it) n = mul(n, static_cast<uint64_t>(*it));
    return n;
}

uint64_t numel(const Shape& shape) { return product(shape.begin(), shape.end()); }

/// A value's shape with its symbols bound, and the products the cost formulas take of it.
struct Resolved : Shape {
    uint64_t elements = 0;  ///< product of every dim
    uint64_t trailing = 0;  ///< product of every dim but the first (a weight's elements per output channel)
};

// FLOPs per output element for ops that are not multiply-accumulates.
const std::map<std::string, uint64_t>& element_flops() {
    static const std::map<std::string, uint64_t> table = {
        // Element-wise arithmetic and activations.
        {"Add", 1}, {"Sub", 1}, {"Mul", 1}, {"Div", 1}, {"Pow", 1}, {"Sqrt", 1}, {"Reciprocal", 1},
        {"Neg", 1}, {"Abs", 1}, {"Exp", 1}, {"Log", 1}, {"Relu", 1}, {"LeakyRelu", 1}, {"PRelu", 1},
        {"Sigmoid", 1}, {"HardSigmoid", 1}, {"HardSwish", 1}, {"Tanh", 1}, {"Erf", 1}, {"Gelu", 1},
        {"Elu", 1}, {"Selu", 1}, {"Celu", 1}, {"Mish", 1}, {"Softplus", 1}, {"Softsign", 1}, {"Clip", 1},
        {"Min", 1}, {"Max", 1}, {"Sum", 1}, {"Mean", 1}, {"Sin", 1}, {"Cos", 1}, {"Floor", 1}, {"Ceil", 1},
        {"Round", 1}, {"Sign", 1}, {"Where", 1}, {"Swish", 1},
        {"com.microsoft::BiasAdd", 1}, {"com.microsoft::BiasGelu", 2}, {"com.microsoft::FastGelu", 2},
        {"com.microsoft::Gelu", 1}, {"com.microsoft::QuickGelu", 2},
        // max, subtract, exp, sum, divide
        {"Softmax", 5}, {"LogSoftmax", 5},
        // Normalisations: statistics, centring, scaling, affine.
        {"BatchNormalization", 2}, {"InstanceNormalization", 7}, {"LayerNormalization", 7},
        {"GroupNormalization", 7}, {"RMSNormalization", 5}, {"LpNormalization", 3},
        {"MeanVarianceNormalization", 6},
        {"com.microsoft::SimplifiedLayerNormalization", 5}, {"com.microsoft::SkipLayerNormalization", 8},
        {"com.microsoft::SkipSimplifiedLayerNormalization", 6}, {"SimplifiedLayerNormalization", 5},
    };
    return table;
}

const std::set<std::string>& reductions() {
    static const std::set<std::string> ops = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
                                              "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
                                              "ReduceLogSumExp", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"};
    return ops;
}

std::string op_key(const GraphNode& node) {
    return node.domain.empty() ? node.op_type : node.domain + "::" + node.op_type;
}

class Costing {
public:
    Costing(const GraphView& graph, const AnalysisOptions& options) : graph_(graph), options_(options) {}

    NodeCost cost(const GraphNode& node) {
        NodeCost c{node.name, node.op_type, node.domain, 0, 0, true};
        known_ = true;
        const std::string key = op_key(node);
        uint64_t macs = 0;
        uint64_t flops = 0;
        if (key == "MatMul" || key == "MatMulInteger" || key == "com.microsoft::FusedMatMul") {
            macs = matmul(node, 0, 1);
        } else if (key == "QLinearMatMul") {
            macs = matmul(node, 0, 3);
        } else if (key == "com.microsoft::MatMulNBits") {
            auto out = output(node, 0);
            macs = out ? mul(out->elements, static_cast<uint64_t>(attribute(node, "K", 0))) : 0;
        } else if (key == "Gemm") {
            macs = gemm(node);
        } else if (key == "Conv" || key == "ConvInteger" || key == "com.microsoft::FusedConv") {
            macs = conv(node, 1, output(node, 0));
        } else if (key == "QLinearConv") {
            macs = conv(node, 3, output(node, 0));
        } else if (key == "ConvTranspose") {
            macs = conv(node, 1, input(node, 0));
        } else if (key == "Attention") {
            macs = onnx_attention(node);
        } else if (key == "com.microsoft::Attention") {
            macs = ms_attention(node);
        } else if (key == "com.microsoft::MultiHeadAttention") {
            macs = ms_multi_head_attention(node);
        } else if (key == "MaxPool" || key == "AveragePool" || key == "LpPool") {
            auto out = output(node, 0);
            const auto it = node.attributes.find("kernel_shape");
            if (out && it != node.attributes.end()) flops = mul(out->elements, product(it->second.ints.begin(), it->second.ints.end()));
        } else if (reductions().count(node.op_type) && node.domain.empty()) {
            auto in = input(node, 0);
            if (in) flops = in->elements;
        } else if (auto it = element_flops().find(key); it != element_flops().end()) {
            auto out = output(node, 0);
            if (out) flops = mul(out->elements, it->second);
        }
        c.macs = macs;
        c.flops = add(mul(macs, 2), flops);
        c.known = known_;
        if (!known_) c.macs = c.flops = 0;
        return c;
    }

private:
    // Resolved once per value, not at each use: one value of thousands of dims named by every node
    // would otherwise have its dims copied and multiplied node after node.
    const Resolved* shape_of(const std::string& name) {
        if (name.empty()) return nullptr;
        auto [it, fresh] = shapes_.try_emplace(name);
        if (fresh) {
            if (auto shape = resolved_shape(graph_, name, options_.dims)) {
                Resolved resolved;
                resolved.elements = numel(*shape);
                resolved.trailing = shape->empty() ? 1 : product(shape->begin() + 1, shape->end());
                static_cast<Shape&>(resolved) = std::move(*shape);
                it->second = std::move(resolved);
            }
        }
        if (!it->second) {
            known_ = false;
            return nullptr;
        }
        return &*it->second;
    }
    const Resolved* input(const GraphNode& node, size_t i) {
        if (i >= node.inputs.size() || node.inputs[i].empty()) {
            known_ = false;
            return nullptr;
        }
        return shape_of(node.inputs[i]);
    }
    const Resolved* optional_input(const GraphNode& node, size_t i) {
        if (i >= node.inputs.size() || node.inputs[i].empty()) return nullptr;
        return shape_of(node.inputs[i]);
    }
    const Resolved* output(const GraphNode& node, size_t i) {
        if (i >= node.outputs.size()) {
            known_ = false;
            return nullptr;
        }
        return shape_of(node.outputs[i]);
    }
    static int64_t attribute(const GraphNode& node, const char* name, int64_t fallback) {
        auto it = node.attributes.find(name);
        return it == node.attributes.end() ? fallback : it->second.i;
    }

    // out elements x the contracted length (A's last dim, or its only one).
    uint64_t matmul(const GraphNode& node, size_t a_index, size_t b_index) {
        auto a = input(node, a_index);
        auto b = input(node, b_index);
        auto out = output(node, 0);
        if (!a || !b || !out || a->empty()) return 0;
        int64_t k = a->back();
        if (node.op_type == "FusedMatMul" && attribute(node, "transA", 0) && a->size() >= 2) k = (*a)[a->size() - 2];
        return mul(out->elements, static_cast<uint64_t>(k));
    }

    uint64_t gemm(const GraphNode& node) {
        auto a = input(node, 0);
        auto out = output(node, 0);
        if (!a || !out || a->size() != 2) return 0;
        const int64_t k = attribute(node, "transA", 0) ? (*a)[0] : (*a)[1];
        return mul(out->elements, static_cast<uint64_t>(k));
    }

    // `per_element` elements (the output for Conv, the input for ConvTranspose) x W[1] x kernel.
    uint64_t conv(const GraphNode& node, size_t w_index, const Resolved* per_element) {
        auto w = input(node, w_index);
        if (!w || !per_element || w->size() < 2) return 0;
        return mul(per_element->elements, w->trailing);
    }

    // ai.onnx Attention-23+: Q·Kᵀ and the weighting of V, per batch, query head and position pair.
    uint64_t onnx_attention(const GraphNode& node) {
        auto q = input(node, 0), k = input(node, 1), v = input(node, 2);
        auto past = optional_input(node, 4);
        if (!q || !k || !v || q->size() != k->size() || q->size() != v->size()) return 0;
        uint64_t batch = 0, sq = 0, skv = 0, q_width = 0, v_width = 0;  // widths summed over query heads
        if (q->size() == 4) {
            batch = (*q)[0], sq = (*q)[2], skv = (*k)[2];
            const uint64_t q_heads = (*q)[1];
            q_width = mul(q_heads, (*q)[3]);
            v_width = mul(q_heads, (*v)[3]);
        } else if (q->size() == 3) {
            batch = (*q)[0], sq = (*q)[1], skv = (*k)[1];
            const uint64_t q_heads = std::max<int64_t>(attribute(node, "q_num_heads", 1), 1);
            const uint64_t kv_heads = std::max<int64_t>(attribute(node, "kv_num_heads", 1), 1);
            q_width = (*q)[2];
            v_width = mul(q_heads, (*v)[2]) / kv_heads;
        } else {
            known_ = false;
            return 0;
        }
        if (past && past->size() == 4) skv = add(skv, (*past)[2]);
        return mul(mul(batch, sq), mul(skv, add(q_width, v_width)));
    }

    // com.microsoft Attention: the packed QKV projection, then attention over past + current.
    uint64_t ms_attention(const GraphNode& node) {
        auto x = input(node, 0), w = input(node, 1);
        auto past = optional_input(node, 4);
        if (!x || !w || x->size() != 3 || w->size() != 2) return 0;
        const uint64_t batch = (*x)[0], s = (*x)[1];
        uint64_t qk = (*w)[1] / 3, v_width = (*w)[1] / 3;
        auto sizes = node.attributes.find("qkv_hidden_sizes");
        if (sizes != node.attributes.end() && sizes->second.ints.size() == 3) {
            qk = sizes->second.ints[0];
            v_width = sizes->second.ints[2];
        }
        uint64_t total = s;
        if (past && past->size() == 5) total = add(total, (*past)[3]);
        const uint64_t projection = mul(mul(batch, s), mul((*x)[2], (*w)[1]));
        return add(projection, mul(mul(batch, s), mul(total, add(qk, v_width))));
    }

    // com.microsoft MultiHeadAttention: query [B, S, D]; key/value [B, Skv, D] or per head [B, H, Skv, d].
    uint64_t ms_multi_head_attention(const GraphNode& node) {
        auto q = input(node, 0), k = input(node, 1), v = input(node, 2);
        auto past = optional_input(node, 6);
        if (!q || !k || !v || q->size() != 3) return 0;
        const uint64_t heads = std::max<int64_t>(attribute(node, "num_heads", 1), 1);
        uint64_t skv = 0, v_width = 0;
        if (k->size() == 3 && v->size() == 3) {
            skv = (*k)[1], v_width = (*v)[2];
        } else if (k->size() == 4 && v->size() == 4) {
            skv = (*k)[2], v_width = mul(heads, (*v)[3]);
        } else {
            known_ = false;
            return 0;
        }
        if (past && past->size() == 4) skv = add(skv, (*past)[2]);
        return mul(mul((*q)[0], (*q)[1]), mul(skv, add((*q)[2], v_width)));
    }

    const GraphView& graph_;
    const AnalysisOptions& options_;
    std::map<std::string, std::optional<Resolved>> shapes_;  // by value name; nullopt: not fully known
    bool known_ = true;
};

/// Bytes of a value whose shape and element type are known.
std::optional<uint64_t> value_bytes(const GraphView& graph, const std::string& name, const std::optional<Shape>& shape) {
    auto it = graph.values.find(name);
    if (!shape || it == graph.values.end() || it->second.elem_type == 0) return std::nullopt;
    return dtype_storage_bytes(it->second.elem_type, numel(*shape));
}

}  // namespace

std::optional<std::vector<int64_t>> resolved_shape(const GraphView& graph, const std::string& value,
                                                   const std::map<std::string, int64_t>& dims) {
    auto it = graph.values.find(value);
    if (it == graph.values.end() || !it->second.has_shape) return std::nullopt;
    Shape shape;
    shape.reserve(it->second.dims.size());
    for (const Dim& dim : it->second.dims) {
        if (dim.value >= 0) {
            shape.push_back(dim.value);
            continue;
        }
        auto bound = dim.symbol.empty() ? dims.end() : dims.find(dim.symbol);
        if (bound == dims.end() || bound->second < 0) return std::nullopt;
        shape.push_back(bound->second);
    }
    return shape;
}

Analysis analyze(const GraphView& graph, const AnalysisOptions& options) {
    Analysis result;
    Costing costing(graph, options);
    for (const GraphNode& node : graph.nodes) {
        NodeCost cost = costing.cost(node);
        OpCost& op = result.by_op[op_key(node)];
        op.nodes += 1;
        op.macs = add(op.macs, cost.macs);
        op.flops = add(op.flops, cost.flops);
        result.macs = add(result.macs, cost.macs);
        result.flops = add(result.flops, cost.flops);
        if (!cost.known) {
            op.unknown += 1;
            result.unknown_nodes += 1;
        }
        result.nodes.push_back(std::move(cost));
    }

    // Activations: node outputs, alive from their node to their last reader (graph outputs to the end).
    std::map<std::string, size_t> last_use;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        for (const auto& name : graph.nodes[i].inputs) last_use[name] = i;
    }
    const std::set<std::string> outputs(graph.outputs.begin(), graph.outputs.end());
    std::map<size_t, std::vector<uint64_t>> frees;  // node index -> bytes released after it runs
    uint64_t live = 0;
    auto track = [&](const std::string& name, uint64_t bytes, size_t produced_at) {
        live = add(live, bytes);
        if (outputs.count(name)) return;
        auto it = last_use.find(name);
        frees[it == last_use.end() ? produced_at : std::max(it->second, produced_at)].push_back(bytes);
    };
    // ONNX graphs are in SSA form: a value is produced once. A name that comes again (as a graph
    // input or a node output) is counted where it first appears only, so that repeating a name
    // cannot multiply the analysis' work and memory (each repeat would copy the value's shape).
    std::set<std::string> produced;
    for (const auto& name : graph.inputs) {
        if (!produced.insert(name).second) continue;
        auto bytes = value_bytes(graph, name, resolved_shape(graph, name, options.dims));
        if (bytes) track(name, *bytes, 0);
    }
    result.peak_activation_bytes = live;
    std::vector<SizedValue> sized;
    std::set<std::string> weight_derived(graph.initializers.begin(), graph.initializers.end());
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const GraphNode& node = graph.nodes[i];
        const bool from_weights =
            !node.inputs.empty() && std::all_of(node.inputs.begin(), node.inputs.end(), [&](const std::string& input) {
                return input.empty() || weight_derived.count(input);
            });
        for (const auto& name : node.outputs) {
            if (name.empty() || !produced.insert(name).second) continue;
            auto shape = resolved_shape(graph, name, options.dims);
            auto bytes = value_bytes(graph, name, shape);
            if (from_weights) {
                weight_derived.insert(name);
                result.weight_derived += 1;
                result.weight_derived_bytes = add(result.weight_derived_bytes, bytes.value_or(0));
                continue;
            }
            if (!bytes) {
                result.activations_unknown += 1;
                continue;
            }
            result.activations_known += 1;
            result.activation_bytes = add(result.activation_bytes, *bytes);
            track(name, *bytes, i);
            sized.push_back(SizedValue{name, graph.values.at(name).elem_type, *shape, *bytes});
        }
        result.peak_activation_bytes = std::max(result.peak_activation_bytes, live);
        for (uint64_t bytes : frees[i]) live -= std::min(live, bytes);
    }
    const size_t keep = std::min(options.largest, sized.size());
    std::partial_sort(sized.begin(), sized.begin() + keep, sized.end(),
                      [](const SizedValue& a, const SizedValue& b) { return a.bytes > b.bytes || (a.bytes == b.bytes && a.name < b.name); });
    sized.resize(keep);
    result.largest_activations = std::move(sized);
    return result;
}

}  // namespace onnx_weightless
