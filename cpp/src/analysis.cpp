#include "onnx_weightless/analysis.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "onnx_weightless/dtype.hpp"

namespace onnx_weightless {
namespace {

using Shape = std::vector<Polynomial>;

/// A value's shape with its symbols bound (or kept), and the products the cost formulas take of it.
struct Resolved : Shape {
    Polynomial elements;  ///< product of every dim
    Polynomial trailing;  ///< product of every dim but the first (a weight's elements per output channel)
};

Polynomial product(Shape::const_iterator begin, Shape::const_iterator end) {
    Polynomial n = Polynomial::constant(1);
    for (auto it = begin; it != end; ++it) n = n * *it;
    return n;
}

Polynomial numel(const Shape& shape) { return product(shape.begin(), shape.end()); }

Polynomial count(uint64_t n) { return Polynomial::constant(n); }

Polynomial count_of_ints(const std::vector<int64_t>& values) {
    uint64_t n = 1;
    for (int64_t v : values) {
        const uint64_t u = v < 0 ? 0 : static_cast<uint64_t>(v);
        n = (n != 0 && u > UINT64_MAX / n) ? UINT64_MAX : n * u;
    }
    return count(n);
}

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

/// A graph and those enclosing it: a subgraph's nodes may read the values of its outer graphs.
struct Scope {
    const GraphView& graph;
    const Scope* outer = nullptr;

    const ValueType* type(const std::string& name) const {
        for (const Scope* s = this; s; s = s->outer) {
            auto it = s->graph.values.find(name);
            if (it != s->graph.values.end()) return &it->second;
        }
        return nullptr;
    }
    std::optional<int64_t> scalar(const std::string& name) const {
        for (const Scope* s = this; s; s = s->outer) {
            auto it = s->graph.scalars.find(name);
            if (it != s->graph.scalars.end()) return it->second;
            if (s->graph.values.count(name)) return std::nullopt;  // a value of this graph hides outer ones
        }
        return std::nullopt;
    }
};

std::optional<Shape> resolve(const ValueType* type, const std::map<std::string, int64_t>& dims,
                             const std::set<std::string>& symbols);
std::string unresolved(const ValueType* type, const std::map<std::string, int64_t>& dims,
                       const std::set<std::string>& symbols);

/// What every graph of the model is costed with.
struct Context {
    const AnalysisOptions& options;
    const std::set<std::string>& symbols;  ///< the main graph's input symbols
    const std::set<std::pair<std::string, std::string>>& functions;
    int64_t onnx_opset = 0;  ///< the model's ai.onnx version
};

class Costing {
public:
    Costing(const Scope& scope, const Context& context)
        : scope_(scope), context_(context), options_(context.options), symbols_(context.symbols) {}

    /// A node without subgraphs.
    NodeCost cost(const GraphNode& node) {
        NodeCost c{node.name, node.op_type, node.domain, {}, {}, true, {}, {}, {}};
        reason_.clear();
        const std::string key = op_key(node);
        Polynomial macs;
        Polynomial flops;
        if (context_.functions.count({node.domain, node.op_type})) {
            unknown("it calls the model-local function " + key + ", whose nodes are not costed");
        } else if (key == "MatMul" || key == "MatMulInteger" || key == "com.microsoft::FusedMatMul") {
            macs = matmul(node, 0, 1);
        } else if (key == "QLinearMatMul") {
            macs = matmul(node, 0, 3);
        } else if (key == "com.microsoft::MatMulNBits") {
            if (auto out = output(node, 0)) macs = out->elements * count_of_ints({attribute(node, "K", 0)});
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
            if (out && it != node.attributes.end()) flops = out->elements * count_of_ints(it->second.ints);
        } else if (reductions().count(node.op_type) && node.domain.empty()) {
            if (auto in = input(node, 0)) flops = in->elements;
        } else if (auto it = element_flops().find(key); it != element_flops().end()) {
            if (auto out = output(node, 0)) flops = out->elements * count(it->second);
        }
        if (reason_.empty() && (macs.too_large() || flops.too_large())) unknown("its cost has too many terms to expand");
        c.known = reason_.empty();
        c.reason = reason_;
        if (c.known) {
            c.macs = macs;
            c.flops = macs * count(2) + flops;
        }
        return c;
    }

private:
    // Resolved once per value, not at each use: one value of thousands of dims named by every node
    // would otherwise have its dims copied and multiplied node after node.
    const Resolved* shape_of(const std::string& name) {
        if (name.empty()) return nullptr;
        auto [it, fresh] = shapes_.try_emplace(name);
        if (fresh) {
            if (auto shape = resolve(scope_.type(name), options_.dims, symbols_)) {
                Resolved resolved;
                resolved.elements = numel(*shape);
                resolved.trailing = shape->empty() ? count(1) : product(shape->begin() + 1, shape->end());
                static_cast<Shape&>(resolved) = std::move(*shape);
                if (!resolved.elements.too_large()) it->second = std::move(resolved);
            }
        }
        if (!it->second) {
            unknown("the shape of '" + name + "' is not known (" + unresolved(scope_.type(name), options_.dims, symbols_) + ")");
            return nullptr;
        }
        return &*it->second;
    }
    void unknown(const std::string& why) {
        if (reason_.empty()) reason_ = why;
    }
    const Resolved* input(const GraphNode& node, size_t i) {
        if (i >= node.inputs.size() || node.inputs[i].empty()) {
            unknown("input " + std::to_string(i) + " is missing");
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
            unknown("output " + std::to_string(i) + " is missing");
            return nullptr;
        }
        return shape_of(node.outputs[i]);
    }
    static int64_t attribute(const GraphNode& node, const char* name, int64_t fallback) {
        auto it = node.attributes.find(name);
        return it == node.attributes.end() ? fallback : it->second.i;
    }
    /// `value / divisor`, exact; unknown when the division does not come out even.
    Polynomial divided(const Polynomial& value, int64_t divisor, const char* what) {
        auto quotient = divisor > 0 ? value.divided_by(static_cast<uint64_t>(divisor)) : std::nullopt;
        if (!quotient) {
            unknown(std::string(what) + " " + value.text() + " is not a multiple of " + std::to_string(divisor));
            return {};
        }
        return *quotient;
    }

    // out elements x the contracted length (A's last dim, or its only one).
    Polynomial matmul(const GraphNode& node, size_t a_index, size_t b_index) {
        auto a = input(node, a_index);
        auto b = input(node, b_index);
        auto out = output(node, 0);
        if (!a || !b || !out || a->empty()) return {};
        Polynomial k = a->back();
        if (node.op_type == "FusedMatMul" && attribute(node, "transA", 0) && a->size() >= 2) k = (*a)[a->size() - 2];
        return out->elements * k;
    }

    Polynomial gemm(const GraphNode& node) {
        auto a = input(node, 0);
        auto out = output(node, 0);
        if (!a || !out || a->size() != 2) return {};
        return out->elements * (attribute(node, "transA", 0) ? (*a)[0] : (*a)[1]);
    }

    // `per_element` elements (the output for Conv, the input for ConvTranspose) x W[1] x kernel.
    Polynomial conv(const GraphNode& node, size_t w_index, const Resolved* per_element) {
        auto w = input(node, w_index);
        if (!w || !per_element || w->size() < 2) return {};
        return per_element->elements * w->trailing;
    }

    // ai.onnx Attention-23+: Q·Kᵀ and the weighting of V, per batch, query head and position pair.
    Polynomial onnx_attention(const GraphNode& node) {
        auto q = input(node, 0), k = input(node, 1), v = input(node, 2);
        auto past = optional_input(node, 4);
        if (!q || !k || !v || q->size() != k->size() || q->size() != v->size()) return {};
        Polynomial batch, sq, skv, q_width, v_width;  // widths summed over query heads
        if (q->size() == 4) {
            batch = (*q)[0], sq = (*q)[2], skv = (*k)[2];
            q_width = (*q)[1] * (*q)[3];
            v_width = (*q)[1] * (*v)[3];
        } else if (q->size() == 3) {
            batch = (*q)[0], sq = (*q)[1], skv = (*k)[1];
            const int64_t q_heads = std::max<int64_t>(attribute(node, "q_num_heads", 1), 1);
            const int64_t kv_heads = std::max<int64_t>(attribute(node, "kv_num_heads", 1), 1);
            q_width = (*q)[2];
            v_width = divided(count_of_ints({q_heads}) * (*v)[2], kv_heads, "the value width");
        } else {
            unknown("query of rank " + std::to_string(q->size()) + " (3 or 4 expected)");
            return {};
        }
        if (past && past->size() == 4) skv += (*past)[2];
        return batch * sq * skv * (q_width + v_width);
    }

    // com.microsoft Attention: the packed QKV projection, then attention over past + current.
    Polynomial ms_attention(const GraphNode& node) {
        auto x = input(node, 0), w = input(node, 1);
        auto past = optional_input(node, 4);
        if (!x || !w || x->size() != 3 || w->size() != 2) return {};
        const Polynomial batch = (*x)[0], s = (*x)[1];
        Polynomial qk, v_width;
        auto sizes = node.attributes.find("qkv_hidden_sizes");
        if (sizes != node.attributes.end() && sizes->second.ints.size() == 3) {
            qk = count_of_ints({sizes->second.ints[0]});
            v_width = count_of_ints({sizes->second.ints[2]});
        } else {
            qk = v_width = divided((*w)[1], 3, "the packed QKV width");
        }
        Polynomial total = s;
        if (past && past->size() == 5) total += (*past)[3];
        const Polynomial projection = batch * s * (*x)[2] * (*w)[1];
        return projection + batch * s * total * (qk + v_width);
    }

    // com.microsoft MultiHeadAttention: query [B, S, D]; key/value [B, Skv, D] or per head [B, H, Skv, d].
    Polynomial ms_multi_head_attention(const GraphNode& node) {
        auto q = input(node, 0), k = input(node, 1), v = input(node, 2);
        auto past = optional_input(node, 6);
        if (!q || !k || !v || q->size() != 3) return {};
        const int64_t heads = std::max<int64_t>(attribute(node, "num_heads", 1), 1);
        Polynomial skv, v_width;
        if (k->size() == 3 && v->size() == 3) {
            skv = (*k)[1], v_width = (*v)[2];
        } else if (k->size() == 4 && v->size() == 4) {
            skv = (*k)[2], v_width = count_of_ints({heads}) * (*v)[3];
        } else {
            unknown("key and value of ranks " + std::to_string(k->size()) + " and " + std::to_string(v->size()));
            return {};
        }
        if (past && past->size() == 4) skv += (*past)[2];
        return (*q)[0] * (*q)[1] * skv * ((*q)[2] + v_width);
    }

public:
    /// How many times a Loop, Scan or SequenceMap runs its body: a Loop's constant count, a Scan's
    /// scanned length, else the symbol `trips(NODE)` (sized by `dims` if given).
    Polynomial iterations(const GraphNode& node, const std::string& label) {
        const std::string named = "trips(" + label + ")";
        auto bound = options_.dims.find(named);
        if (bound != options_.dims.end() && bound->second >= 0) return Polynomial::constant(static_cast<uint64_t>(bound->second));
        if (node.op_type == "Loop" && !node.inputs.empty() && !node.inputs[0].empty()) {
            // Exporters write "no count" as INT64_MAX or INT32_MAX and let the condition end the loop.
            auto count = scope_.scalar(node.inputs[0]);
            if (count && *count >= 0 && *count < (int64_t{1} << 31) - 1) return Polynomial::constant(static_cast<uint64_t>(*count));
        } else if (node.op_type == "Scan") {
            if (auto length = scanned_length(node)) return *length;
        }
        return Polynomial::symbol(named);
    }

private:
    // Scan-9+: the first scan input's length along its axis; Scan-8: batch x sequence, its first
    // two dims (its body runs once per sequence element of each batch entry).
    std::optional<Polynomial> scanned_length(const GraphNode& node) {
        const int64_t scan_inputs = attribute(node, "num_scan_inputs", 0);
        const bool scan8 = context_.onnx_opset > 0 && context_.onnx_opset < 9;
        const int64_t first = static_cast<int64_t>(node.inputs.size()) - scan_inputs;
        if (scan_inputs <= 0 || first < 0 || static_cast<size_t>(first) >= node.inputs.size()) return std::nullopt;
        auto shape = resolve(scope_.type(node.inputs[static_cast<size_t>(first)]), options_.dims, symbols_);
        if (!shape) return std::nullopt;
        const int64_t rank = static_cast<int64_t>(shape->size());
        if (scan8) return rank >= 2 ? std::optional<Polynomial>((*shape)[0] * (*shape)[1]) : std::nullopt;
        int64_t axis = 0;
        auto axes = node.attributes.find("scan_input_axes");
        if (axes != node.attributes.end() && !axes->second.ints.empty()) axis = axes->second.ints[0];
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank) return std::nullopt;
        return (*shape)[static_cast<size_t>(axis)];
    }

    const Scope& scope_;
    const Context& context_;
    const AnalysisOptions& options_;
    const std::set<std::string>& symbols_;
    std::map<std::string, std::optional<Resolved>> shapes_;  // by value name; nullopt: not fully known
    std::string reason_;  // why the node being costed is not known; empty while it is
};

/// Bytes of a value whose shape and element type are known: elements x bytes per element
/// (sub-byte types packed, when the count divides evenly).
std::optional<Polynomial> value_bytes(const GraphView& graph, const std::string& name, const std::optional<Shape>& shape) {
    auto it = graph.values.find(name);
    if (!shape || it == graph.values.end() || it->second.elem_type == 0) return std::nullopt;
    const Polynomial elements = numel(*shape);
    if (elements.too_large()) return std::nullopt;
    if (auto constant = elements.value()) {
        auto bytes = dtype_storage_bytes(it->second.elem_type, *constant);
        return bytes ? std::optional<Polynomial>(Polynomial::constant(*bytes)) : std::nullopt;
    }
    const uint32_t bits = dtype_bits(it->second.elem_type);
    if (bits == 0) return std::nullopt;
    return bits % 8 == 0 ? std::optional<Polynomial>(elements * Polynomial::constant(bits / 8))
                         : (elements * Polynomial::constant(bits)).divided_by(8);
}

}  // namespace

std::set<std::string> input_symbols(const GraphView& graph) {
    std::set<std::string> symbols;
    for (const auto& name : graph.inputs) {
        auto it = graph.values.find(name);
        if (it == graph.values.end()) continue;
        for (const Dim& dim : it->second.dims) {
            if (dim.value < 0 && !dim.symbol.empty()) symbols.insert(dim.symbol);
        }
    }
    return symbols;
}

namespace {

/// A named dimension as a polynomial: a size `dims` gives, one of `symbols`, or an expression of those.
std::optional<Polynomial> named_dimension(const std::string& name, const std::map<std::string, int64_t>& dims,
                                          const std::set<std::string>& symbols) {
    auto known = [&](const std::string& symbol) -> std::optional<Polynomial> {
        auto bound = dims.find(symbol);
        if (bound != dims.end() && bound->second >= 0) return Polynomial::constant(static_cast<uint64_t>(bound->second));
        if (symbols.count(symbol)) return Polynomial::symbol(symbol);
        return std::nullopt;
    };
    if (auto whole = known(name)) return whole;
    return Polynomial::parse(name, known);
}

/// Why resolve gives nothing for a value of this type: what the type lacks.
std::string unresolved(const ValueType* type, const std::map<std::string, int64_t>& dims,
                       const std::set<std::string>& symbols) {
    if (!type || !type->has_shape) return "no rank: run shape inference, or declare it";
    for (size_t i = 0; i < type->dims.size(); ++i) {
        const Dim& dim = type->dims[i];
        if (dim.value >= 0) continue;
        if (dim.symbol.empty()) return "dimension " + std::to_string(i) + " is unknown";
        if (!named_dimension(dim.symbol, dims, symbols)) {
            return "dimension " + std::to_string(i) + " is '" + dim.symbol +
                   "': neither a symbol of the graph's inputs nor an expression of them; shape inference names so a "
                   "size it could not compute";
        }
    }
    return "its shape is too large to expand";
}

std::optional<Shape> resolve(const ValueType* type, const std::map<std::string, int64_t>& dims,
                             const std::set<std::string>& symbols) {
    if (!type || !type->has_shape) return std::nullopt;
    Shape shape;
    shape.reserve(type->dims.size());
    for (const Dim& dim : type->dims) {
        if (dim.value >= 0) {
            shape.push_back(Polynomial::constant(static_cast<uint64_t>(dim.value)));
            continue;
        }
        if (dim.symbol.empty()) return std::nullopt;
        auto named = named_dimension(dim.symbol, dims, symbols);
        if (!named) return std::nullopt;
        shape.push_back(std::move(*named));
    }
    return shape;
}

/// The cost of one graph: its nodes', its subgraphs' included.
struct GraphCost {
    PolynomialMax macs;
    PolynomialMax flops;
    std::map<std::string, OpCost> by_op;
    uint64_t nodes = 0;
    uint64_t unknown = 0;
    std::string first_unknown;  ///< "node 'X' (Op): why", of the first node not costed
    std::vector<NodeCost> costs;  ///< per node (kept for the main graph only)
};

/// `from`'s op costs, each times `times`, added into `into`.
void add_ops(std::map<std::string, OpCost>& into, const std::map<std::string, OpCost>& from, const Polynomial& times) {
    for (const auto& [key, op] : from) {
        OpCost& total = into[key];
        total.nodes += op.nodes;
        total.unknown += op.unknown;
        total.macs += op.macs * times;
        total.flops += op.flops * times;
    }
}

std::string node_label(const GraphNode& node, size_t index) {
    return node.name.empty() ? op_key(node) + "#" + std::to_string(index) : node.name;
}

GraphCost cost_graph(const Scope& scope, const Context& context, bool keep_nodes);

/// A node holding graphs: an If's costliest branch, a body times its trip count.
NodeCost cost_subgraph_node(const GraphNode& node, size_t index, const Scope& scope, const Context& context,
                            Costing& costing, std::map<std::string, OpCost>& by_op) {
    NodeCost c{node.name, node.op_type, node.domain, {}, {}, true, {}, {}, {}};
    const std::string key = op_key(node);
    const bool branches = key == "If";
    const bool body = key == "Loop" || key == "Scan" || key == "SequenceMap";
    if (!branches && !body) {
        c.known = false;
        c.reason = "it holds subgraphs, and how often " + key + " runs them is not known to the analysis";
        return c;
    }
    const Polynomial iterations = body ? costing.iterations(node, node_label(node, index)) : Polynomial::constant(1);
    std::map<std::string, OpCost> ops;  // the node's, before they join the graph's
    for (const auto& [name, attribute] : node.attributes) {
        for (size_t i = 0; i < attribute.graphs.size(); ++i) {
            const Scope inner{attribute.graphs[i], &scope};
            GraphCost sub = cost_graph(inner, context, false);
            SubgraphCost part;
            part.attribute = attribute.graphs.size() == 1 ? name : name + "[" + std::to_string(i) + "]";
            part.macs = sub.macs * iterations;
            part.flops = sub.flops * iterations;
            part.iterations = iterations;
            part.nodes = sub.nodes;
            part.unknown = sub.unknown;
            if (sub.unknown && c.known) {
                c.known = false;
                c.reason = "in " + part.attribute + ", " + std::to_string(sub.unknown) + " of " + std::to_string(sub.nodes) +
                           " nodes are not costed; first " + sub.first_unknown;
            }
            if (branches) {
                c.macs.include(part.macs);
                c.flops.include(part.flops);
                // Each op type takes the branch where it costs most.
                for (const auto& [op_name, op] : sub.by_op) {
                    OpCost& merged = ops[op_name];
                    merged.nodes += op.nodes;
                    merged.unknown += op.unknown;
                    merged.macs.include(op.macs);
                    merged.flops.include(op.flops);
                }
            } else {
                c.macs += part.macs;
                c.flops += part.flops;
                add_ops(ops, sub.by_op, iterations);
            }
            c.subgraphs.push_back(std::move(part));
        }
    }
    add_ops(by_op, ops, Polynomial::constant(1));
    return c;
}

GraphCost cost_graph(const Scope& scope, const Context& context, bool keep_nodes) {
    GraphCost result;
    Costing costing(scope, context);
    const auto& nodes = scope.graph.nodes;
    for (size_t i = 0; i < nodes.size(); ++i) {
        const GraphNode& node = nodes[i];
        const bool holds_graphs = std::any_of(node.attributes.begin(), node.attributes.end(),
                                              [](const auto& attribute) { return !attribute.second.graphs.empty(); });
        NodeCost cost = holds_graphs ? cost_subgraph_node(node, i, scope, context, costing, result.by_op) : costing.cost(node);
        OpCost& op = result.by_op[op_key(node)];
        op.nodes += 1;
        if (!holds_graphs) {  // a subgraph node's cost is its inner ops'
            op.macs += cost.macs;
            op.flops += cost.flops;
        }
        result.macs += cost.macs;
        result.flops += cost.flops;
        result.nodes += 1;
        for (const auto& part : cost.subgraphs) {
            result.nodes += part.nodes;
            result.unknown += part.unknown;
        }
        if (!cost.known) {
            if (!holds_graphs) {
                op.unknown += 1;
                result.unknown += 1;
            }
            if (result.first_unknown.empty()) {
                result.first_unknown = "node '" + node_label(node, i) + "' (" + op_key(node) + "): " + cost.reason;
            }
        }
        if (keep_nodes) result.costs.push_back(std::move(cost));
    }
    return result;
}

}  // namespace

std::optional<std::vector<Polynomial>> resolved_shape(const GraphView& graph, const std::string& value,
                                                      const std::map<std::string, int64_t>& dims,
                                                      const std::set<std::string>& symbols) {
    auto it = graph.values.find(value);
    return resolve(it == graph.values.end() ? nullptr : &it->second, dims, symbols);
}

Analysis analyze(const GraphView& graph, const AnalysisOptions& options) {
    Analysis result;
    const std::set<std::string> symbols = input_symbols(graph);
    Context context{options, symbols, graph.functions};
    for (const auto& opset : graph.opsets) {
        if (opset.domain.empty() || opset.domain == "ai.onnx") context.onnx_opset = opset.version;
    }
    const Scope main{graph};
    GraphCost costs = cost_graph(main, context, true);
    result.nodes = std::move(costs.costs);
    result.by_op = std::move(costs.by_op);
    result.macs = std::move(costs.macs);
    result.flops = std::move(costs.flops);
    for (const NodeCost& cost : result.nodes) result.unknown_nodes += cost.known ? 0 : 1;

    // Activations: node outputs, alive from their node to their last reader (graph outputs to the end).
    std::map<std::string, size_t> last_use;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        for (const auto& name : graph.nodes[i].inputs) last_use[name] = i;
    }
    const std::set<std::string> outputs(graph.outputs.begin(), graph.outputs.end());
    std::map<size_t, std::vector<Polynomial>> frees;  // node index -> bytes released after it runs
    Polynomial live;
    auto track = [&](const std::string& name, const Polynomial& bytes, size_t produced_at) {
        live += bytes;
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
        auto bytes = value_bytes(graph, name, resolved_shape(graph, name, options.dims, symbols));
        if (bytes) track(name, *bytes, 0);
    }
    result.peak_activation_bytes.include(live);
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
            auto declared = graph.values.find(name);
            if (declared != graph.values.end() && !declared->second.tensor) continue;  // no dense size
            auto shape = resolved_shape(graph, name, options.dims, symbols);
            auto bytes = value_bytes(graph, name, shape);
            if (from_weights) {
                weight_derived.insert(name);
                result.weight_derived += 1;
                if (bytes) result.weight_derived_bytes += *bytes;
                continue;
            }
            if (!bytes) {
                result.activations_unknown += 1;
                result.unsized_activations.push_back(name);
                continue;
            }
            result.activations_known += 1;
            result.activation_bytes += *bytes;
            result.nodes[i].output_bytes += *bytes;
            track(name, *bytes, i);
            sized.push_back(SizedValue{name, graph.values.at(name).elem_type, *shape, *bytes});
        }
        result.peak_activation_bytes.include(live);
        for (const Polynomial& bytes : frees[i]) live.subtract(bytes);
    }
    // Symbolic sizes are ordered as if every unbound symbol were 1024.
    auto size = [&](const SizedValue& v) { return v.bytes.estimate(options.dims, 1024.0); };
    const size_t keep = std::min(options.largest, sized.size());
    std::partial_sort(sized.begin(), sized.begin() + keep, sized.end(), [&](const SizedValue& a, const SizedValue& b) {
        return size(a) > size(b) || (size(a) == size(b) && a.name < b.name);
    });
    sized.resize(keep);
    result.largest_activations = std::move(sized);
    for (const auto& symbol : result.flops.symbols()) result.symbols.insert(symbol);
    for (const auto& symbol : result.macs.symbols()) result.symbols.insert(symbol);
    for (const auto& candidate : result.peak_activation_bytes.candidates) {
        for (const auto& symbol : candidate.symbols()) result.symbols.insert(symbol);
    }
    for (const auto& symbol : result.activation_bytes.symbols()) result.symbols.insert(symbol);
    return result;
}

}  // namespace onnx_weightless
