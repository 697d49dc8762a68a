// The graph view and the cost analysis on crafted models: MACs of the dominant ops, symbolic dims
// bound or not, weight-derived values kept apart from activations, liveness, malformed graphs.
#include <gtest/gtest.h>

#include <set>
#include <variant>

#include "onnx_weightless/analysis.hpp"
#include "onnx_weightless/errors.hpp"
#include "proto_builder.hpp"

namespace ow = onnx_weightless;
using namespace pb;

namespace {

using DimSpec = std::variant<int64_t, std::string>;

/// A ValueInfoProto of a FLOAT tensor (or `elem_type`) with these dims.
std::string value_info(const std::string& name, const std::vector<DimSpec>& dims, int32_t elem_type = FLOAT) {
    std::string shape;
    for (const auto& dim : dims) {
        shape += field_bytes(1, std::holds_alternative<int64_t>(dim) ? field_varint(1, std::get<int64_t>(dim))
                                                                     : field_bytes(2, std::get<std::string>(dim)));
    }
    const std::string tensor_type = field_varint(1, elem_type) + field_bytes(2, shape);
    return field_bytes(1, name) + field_bytes(2, field_bytes(1, tensor_type));
}

std::string graph_input(const std::string& info) { return field_bytes(11, info); }
std::string graph_output(const std::string& info) { return field_bytes(12, info); }
std::string graph_value(const std::string& info) { return field_bytes(13, info); }

std::string weight(const std::string& name, std::vector<int64_t> dims) {
    Tensor t;
    t.name = name;
    t.dims = std::move(dims);
    t.external_data = {{"location", "w.bin"}};
    t.data_location = 1;
    return tensor(t);
}

std::string ints_attribute(const std::string& name, const std::vector<int64_t>& values) {
    return field_bytes(1, name) + field_bytes(8, packed_varints(values)) + field_varint(20, 7);
}

ow::Analysis analyse(const Graph& g, std::map<std::string, int64_t> dims = {}) {
    Model m;
    m.graph = graph(g);
    ow::AnalysisOptions options;
    options.dims = std::move(dims);
    return ow::analyze(ow::read_graph(model(m)), options);
}

// x[batch, seq, 64] @ w[64, 256] -> y; then Relu.
Graph linear_relu() {
    Graph g;
    g.nodes = {node({{"x", "w"}, {"y"}, "mm", "MatMul"}), node({{"y"}, {"z"}, "relu", "Relu"})};
    g.initializers = {weight("w", {64, 256})};
    g.extra = graph_input(value_info("x", {std::string("batch"), std::string("seq"), int64_t{64}})) +
              graph_value(value_info("y", {std::string("batch"), std::string("seq"), int64_t{256}})) +
              graph_output(value_info("z", {std::string("batch"), std::string("seq"), int64_t{256}}));
    return g;
}

}  // namespace

TEST(Analysis, MatMulCountsOutputElementsTimesTheContractedLength) {
    const auto a = analyse(linear_relu(), {{"batch", 2}, {"seq", 8}});
    EXPECT_EQ(a.macs.value(), 2u * 8 * 256 * 64);
    EXPECT_EQ(a.flops.value(), 2u * 2 * 8 * 256 * 64 + 2 * 8 * 256);  // 2 per MAC, 1 per Relu output
    EXPECT_EQ(a.unknown_nodes, 0u);
    EXPECT_TRUE(a.by_op.at("MatMul").macs == a.macs);
    EXPECT_EQ(a.by_op.at("Relu").flops.value(), 2u * 8 * 256);
    ASSERT_EQ(a.nodes.size(), 2u);
    EXPECT_EQ(a.nodes[0].name, "mm");
}

TEST(Analysis, UnboundSymbolsStaySymbolsOfExactPolynomials) {
    const auto a = analyse(linear_relu(), {{"batch", 2}});
    EXPECT_EQ(a.unknown_nodes, 0u);
    EXPECT_TRUE(a.complete());
    EXPECT_EQ(a.macs.text(), "32768*seq");  // 2 * 256 * 64 per position
    EXPECT_EQ(a.symbols, (std::set<std::string>{"seq"}));
    // Sized afterwards, they are the figures of the bound analysis.
    const auto bound = analyse(linear_relu(), {{"batch", 2}, {"seq", 8}});
    EXPECT_EQ(a.macs.evaluate({{"seq", 8}}), bound.macs.value());
    EXPECT_EQ(a.flops.evaluate({{"seq", 8}}), bound.flops.value());
    EXPECT_EQ(a.peak_activation_bytes.evaluate({{"seq", 8}}), bound.peak_activation_bytes.value());
    EXPECT_EQ(a.activation_bytes.evaluate({{"seq", 8}}), bound.activation_bytes.value());
    // Nothing bound: in both symbols.
    EXPECT_EQ(analyse(linear_relu()).macs.text(), "16384*batch*seq");
}

TEST(Analysis, AShapeItDoesNotKnowLeavesTheNodeUncostedWithTheReason) {
    Graph g = linear_relu();
    g.extra = graph_input(value_info("x", {std::string("batch"), std::string("seq"), int64_t{64}})) +
              graph_output(value_info("z", {std::string("batch"), std::string("seq"), int64_t{256}}));  // no y
    const auto a = analyse(g, {{"batch", 2}, {"seq", 8}});
    EXPECT_FALSE(a.complete());
    EXPECT_EQ(a.unknown_nodes, 1u);  // Relu costs by its output, z
    EXPECT_FALSE(a.nodes[0].known);
    EXPECT_EQ(a.nodes[0].reason, "the shape of 'y' is not known (no rank: run shape inference, or declare it)");
    EXPECT_EQ(a.by_op.at("MatMul").unknown, 1u);
    EXPECT_EQ(a.activations_unknown, 1u);
}

TEST(Analysis, ActivationsAndPeakFollowLiveness) {
    // x (2*8*64*4 = 4 KiB) is read by mm only; y (16 KiB) by relu; z (16 KiB) is a graph output.
    // Graph inputs are alive but are not counted among the node outputs.
    const auto a = analyse(linear_relu(), {{"batch", 2}, {"seq", 8}});
    EXPECT_EQ(a.activation_bytes.value(), 2u * 16384);
    EXPECT_EQ(a.activations_known, 2u);
    // While relu runs y and z are both alive (x was freed after mm).
    EXPECT_EQ(a.peak_activation_bytes.value(), 16384u + 16384);
    ASSERT_EQ(a.largest_activations.size(), 2u);
    EXPECT_EQ(a.largest_activations[0].bytes.value(), 16384u);
    EXPECT_EQ(a.largest_activations[0].dims,
              (std::vector<ow::Polynomial>{ow::Polynomial::constant(2), ow::Polynomial::constant(8), ow::Polynomial::constant(256)}));
}

TEST(Analysis, ValuesComputedFromWeightsAloneAreNotActivations) {
    Graph g = linear_relu();
    g.nodes.insert(g.nodes.begin(), node({{"w0"}, {"w"}, "t", "Transpose"}));
    g.initializers = {weight("w0", {256, 64})};
    g.extra += graph_value(value_info("w", {int64_t{64}, int64_t{256}}));
    const auto a = analyse(g, {{"batch", 2}, {"seq", 8}});
    EXPECT_EQ(a.weight_derived, 1u);
    EXPECT_EQ(a.weight_derived_bytes.value(), 64u * 256 * 4);
    EXPECT_EQ(a.activations_known, 2u);
    EXPECT_EQ(a.macs.value(), 2u * 8 * 256 * 64);
}

TEST(Analysis, GemmHonoursTransA) {
    Graph g;
    g.nodes = {node({{"a", "b"}, {"c"}, "gemm", "Gemm", {attr_int("transA", 1)}})};
    g.initializers = {weight("b", {32, 16})};
    g.extra = graph_input(value_info("a", {int64_t{32}, int64_t{4}})) + graph_output(value_info("c", {int64_t{4}, int64_t{16}}));
    EXPECT_EQ(analyse(g).macs.value(), 4u * 16 * 32);
}

TEST(Analysis, ConvCountsOutputTimesInputChannelsPerGroupTimesKernel) {
    Graph g;
    g.nodes = {node({{"x", "w"}, {"y"}, "conv", "Conv", {attr_int("group", 2)}}),
               node({{"y"}, {"p"}, "pool", "MaxPool", {ints_attribute("kernel_shape", {2, 2})}}),
               node({{"p", "wt"}, {"u"}, "up", "ConvTranspose"})};
    g.initializers = {weight("w", {8, 2, 3, 3}), weight("wt", {8, 4, 2, 2})};
    g.extra = graph_input(value_info("x", {int64_t{1}, int64_t{4}, int64_t{10}, int64_t{10}})) +
              graph_value(value_info("y", {int64_t{1}, int64_t{8}, int64_t{8}, int64_t{8}})) +
              graph_value(value_info("p", {int64_t{1}, int64_t{8}, int64_t{4}, int64_t{4}})) +
              graph_output(value_info("u", {int64_t{1}, int64_t{4}, int64_t{8}, int64_t{8}}));
    const auto a = analyse(g);
    EXPECT_EQ(a.by_op.at("Conv").macs.value(), (1u * 8 * 8 * 8) * (2 * 3 * 3));
    EXPECT_EQ(a.by_op.at("MaxPool").flops.value(), (1u * 8 * 4 * 4) * 4);
    EXPECT_EQ(a.by_op.at("ConvTranspose").macs.value(), (1u * 8 * 4 * 4) * (4 * 2 * 2));
}

TEST(Analysis, AttentionCountsScoresAndWeighting) {
    // ai.onnx Attention-23, 4-D: Q [1, 8, 16, 32], K/V [1, 2, 24, 32] (grouped-query heads).
    Graph g;
    g.nodes = {node({{"q", "k", "v"}, {"o"}, "attn", "Attention"})};
    g.extra = graph_input(value_info("q", {int64_t{1}, int64_t{8}, int64_t{16}, int64_t{32}})) +
              graph_input(value_info("k", {int64_t{1}, int64_t{2}, int64_t{24}, int64_t{32}})) +
              graph_input(value_info("v", {int64_t{1}, int64_t{2}, int64_t{24}, int64_t{32}})) +
              graph_output(value_info("o", {int64_t{1}, int64_t{8}, int64_t{16}, int64_t{32}}));
    EXPECT_EQ(analyse(g).macs.value(), 1u * 8 * 16 * 24 * (32 + 32));
}

TEST(Analysis, MicrosoftAttentionAddsItsProjection) {
    Graph g;
    Node n{{"x", "w"}, {"o"}, "attn", "Attention", {attr_int("num_heads", 4)}, "com.microsoft"};
    g.nodes = {node(n)};
    g.initializers = {weight("w", {64, 192})};
    g.extra = graph_input(value_info("x", {int64_t{2}, int64_t{10}, int64_t{64}})) +
              graph_output(value_info("o", {int64_t{2}, int64_t{10}, int64_t{64}}));
    const auto a = analyse(g);
    EXPECT_EQ(a.macs.value(), 2u * 10 * 64 * 192 + 2u * 10 * 10 * (64 + 64));
    EXPECT_EQ(a.by_op.count("com.microsoft::Attention"), 1u);
}

TEST(Analysis, ExpressionsOfInputSymbolsAreSizesAndInventedSymbolsAreNot) {
    // x[batch, seq] -> Relu -> y[batch, seq + 1]: an expression of the inputs' symbols. z: the
    // symbol shape inference invents for a size it could not compute.
    Graph g;
    g.nodes = {node({{"x"}, {"y"}, "r1", "Relu"}), node({{"y"}, {"z"}, "r2", "Relu"})};
    g.extra = graph_input(value_info("x", {std::string("batch"), std::string("seq")})) +
              graph_value(value_info("y", {std::string("batch"), std::string("seq + 1")})) +
              graph_output(value_info("z", {std::string("batch"), std::string("unk__7")}));
    const auto a = analyse(g);
    EXPECT_EQ(a.nodes[0].flops.text(), "batch*seq + batch");
    EXPECT_FALSE(a.nodes[1].known);
    EXPECT_EQ(a.nodes[1].reason,
              "the shape of 'z' is not known (dimension 1 is 'unk__7': neither a symbol of the graph's inputs nor an "
              "expression of them; shape inference names so a size it could not compute)");
    EXPECT_FALSE(a.complete());
    // Sized by the options, such a symbol is a number like any.
    EXPECT_TRUE(analyse(g, {{"unk__7", 3}}).complete());
}

namespace {

// A graph attribute holding `g` (AttributeProto.type GRAPH = 5).
std::string graph_attribute(const std::string& name, const Graph& g) {
    return field_bytes(1, name) + field_bytes(6, graph(g)) + field_varint(20, 5);
}

// out[rows, cols] = a @ b inside a subgraph, the output shape declared there (a and b outside it).
Graph matmul_branch(const std::string& name, const std::string& a, const std::string& b, DimSpec rows, int64_t cols) {
    Graph g;
    g.nodes = {node({{a, b}, {name + "_out"}, name, "MatMul"})};
    g.extra = graph_output(value_info(name + "_out", {rows, cols}));
    return g;
}

// An int64 scalar Constant node named `name` with output `output`.
std::string int64_constant(const std::string& name, const std::string& output, int64_t value) {
    Tensor t;
    t.data_type = 7;
    t.raw_data = std::string(reinterpret_cast<const char*>(&value), 8);
    return node({{}, {output}, name, "Constant", {attr_tensor("value", tensor(t))}});
}

}  // namespace

TEST(Analysis, AnIfCostsItsCostliestBranchAndReportsEach) {
    // then: x[n, 64] @ w[64, 32] (2048*n MACs); else: v[m, 16] @ u[16, 8] (128*m MACs).
    Graph g;
    g.nodes = {node({{"c"}, {"y"}, "if", "If",
                     {graph_attribute("then_branch", matmul_branch("t", "x", "w", std::string("n"), 32)),
                      graph_attribute("else_branch", matmul_branch("e", "v", "u", std::string("m"), 8))}})};
    g.initializers = {weight("w", {64, 32}), weight("u", {16, 8})};
    g.extra = graph_input(value_info("c", {}, 9)) + graph_input(value_info("x", {std::string("n"), int64_t{64}})) +
              graph_input(value_info("v", {std::string("m"), int64_t{16}})) + graph_output(value_info("y", {int64_t{1}}));
    const auto a = analyse(g);
    ASSERT_EQ(a.nodes.size(), 1u);
    const ow::NodeCost& cost = a.nodes[0];
    EXPECT_TRUE(cost.known) << cost.reason;
    ASSERT_EQ(cost.subgraphs.size(), 2u);
    EXPECT_EQ(cost.subgraphs[0].attribute, "else_branch");  // attributes in name order
    EXPECT_EQ(cost.subgraphs[0].macs.text(), "128*m");
    EXPECT_EQ(cost.subgraphs[1].macs.text(), "2048*n");
    EXPECT_EQ(cost.subgraphs[1].nodes, 1u);
    EXPECT_EQ(a.macs.candidates.size(), 2u);  // neither branch costs more for every n and m
    EXPECT_EQ(a.macs.evaluate({{"n", 1}, {"m", 100}}), 12800u);
    EXPECT_EQ(a.macs.evaluate({{"n", 10}, {"m", 100}}), 20480u);
    EXPECT_EQ(analyse(g, {{"n", 10}, {"m", 100}}).macs.value(), 20480u);
    // The op table counts both branches' nodes and, per op type, the costliest branch.
    EXPECT_EQ(a.by_op.at("MatMul").nodes, 2u);
    EXPECT_TRUE(a.by_op.at("MatMul").macs == a.macs);
    EXPECT_EQ(a.by_op.at("If").nodes, 1u);
    EXPECT_TRUE(a.by_op.at("If").macs.is_zero());
    EXPECT_EQ(a.symbols, (std::set<std::string>{"m", "n"}));
    EXPECT_TRUE(a.complete());
}

TEST(Analysis, ALoopCostsItsBodyTimesItsCountOrANamedTripCount) {
    // Body: x[4, 8] @ w[8, 8] (256 MACs) on outer values.
    const Graph body = matmul_branch("b", "x", "w", int64_t{4}, 8);
    Graph counted;
    counted.nodes = {int64_constant("count", "M", 10), node({{"M", ""}, {}, "loop", "Loop", {graph_attribute("body", body)}})};
    counted.initializers = {weight("w", {8, 8})};
    counted.extra = graph_input(value_info("x", {int64_t{4}, int64_t{8}}));
    const auto a = analyse(counted);
    EXPECT_EQ(a.macs.value(), 2560u);
    ASSERT_EQ(a.nodes[1].subgraphs.size(), 1u);
    EXPECT_EQ(a.nodes[1].subgraphs[0].iterations.value(), 10u);
    EXPECT_EQ(a.by_op.at("MatMul").macs.value(), 2560u);

    // No count (a while loop, or an exporter's INT64_MAX): the symbol trips(loop), sized by dims.
    Graph endless = counted;
    endless.nodes[0] = int64_constant("count", "M", INT64_MAX);
    const auto b = analyse(endless);
    EXPECT_EQ(b.macs.text(), "256*trips(loop)");
    EXPECT_EQ(b.symbols, (std::set<std::string>{"trips(loop)"}));
    EXPECT_EQ(analyse(endless, {{"trips(loop)", 3}}).macs.value(), 768u);
}

TEST(Analysis, AScanCostsItsBodyTimesTheScannedLength) {
    // Scan over s[seq, 8] (axis 0): each step, row[1, 8] @ w[8, 4] = 32 MACs.
    Graph body;
    body.nodes = {node({{"row", "w"}, {"out"}, "step", "MatMul"})};
    body.extra = graph_input(value_info("row", {int64_t{1}, int64_t{8}})) + graph_output(value_info("out", {int64_t{1}, int64_t{4}}));
    Graph g;
    g.nodes = {node({{"s"}, {"ys"}, "scan", "Scan", {graph_attribute("body", body), attr_int("num_scan_inputs", 1)}})};
    g.initializers = {weight("w", {8, 4})};
    g.extra = graph_input(value_info("s", {std::string("seq"), int64_t{8}}));
    const auto a = analyse(g);
    EXPECT_EQ(a.macs.text(), "32*seq");
    EXPECT_TRUE(a.nodes[0].subgraphs[0].iterations == ow::Polynomial::symbol("seq"));
}

TEST(Analysis, WhatSubgraphsLeaveOutIsSaidWithTheInnerNode) {
    // The branch's MatMul output has no declared shape; an op holding graphs the analysis cannot
    // count runs of; a call of the model-local function acme::Block.
    Graph branch;
    branch.nodes = {node({{"x", "x"}, {"t"}, "inner", "MatMul"})};
    Graph g;
    g.nodes = {node({{"c"}, {"y"}, "if", "If", {graph_attribute("then_branch", branch)}}),
               node({{"y"}, {"s"}, "search", "BeamSearch", {graph_attribute("decoder", branch)}, "com.microsoft"}),
               node({{"y"}, {"z"}, "call", "Block", {}, "acme"})};
    g.extra = graph_input(value_info("c", {}, 9)) + graph_input(value_info("x", {int64_t{4}, int64_t{4}})) +
              graph_value(value_info("y", {int64_t{4}})) + graph_output(value_info("z", {int64_t{4}}));
    Model m;
    m.graph = graph(g);
    m.functions = {field_bytes(1, "Block") + field_bytes(10, "acme")};
    const ow::Analysis a = ow::analyze(ow::read_graph(model(m)));
    ASSERT_EQ(a.nodes.size(), 3u);
    EXPECT_EQ(a.nodes[0].reason,
              "in then_branch, 1 of 1 nodes are not costed; first node 'inner' (MatMul): the shape of 't' is not known "
              "(no rank: run shape inference, or declare it)");
    EXPECT_EQ(a.nodes[1].reason, "it holds subgraphs, and how often com.microsoft::BeamSearch runs them is not known to the analysis");
    EXPECT_EQ(a.nodes[2].reason, "it calls the model-local function acme::Block, whose nodes are not costed");
    EXPECT_EQ(a.unknown_nodes, 3u);
    EXPECT_FALSE(a.complete());
}

TEST(Analysis, SubgraphsNestedBeyondTheLimitAreRefused) {
    Graph g;
    for (uint32_t i = 0; i <= ow::limits::kMaxGraphDepth; ++i) {
        Graph outer;
        outer.nodes = {node({{"c"}, {"o"}, "if", "If", {graph_attribute("then_branch", g)}})};
        g = outer;
    }
    Model m;
    m.graph = graph(g);
    EXPECT_THROW(ow::read_graph(model(m)), ow::LimitError);
}

TEST(Analysis, PeakOfSymbolsNeitherOfWhichIsLargerKeepsBoth) {
    // a[n] -> Relu -> b[n], then c[m] -> Relu -> d[m], b and d graph outputs. Alive after r1: b, c
    // and a (read last by r1): 8n + 4m; after r2: b, c, d: 4n + 8m. Neither is larger for all n, m.
    Graph g;
    g.nodes = {node({{"a"}, {"b"}, "r1", "Relu"}), node({{"c"}, {"d"}, "r2", "Relu"})};
    g.extra = graph_input(value_info("a", {std::string("n")})) + graph_input(value_info("c", {std::string("m")})) +
              graph_output(value_info("b", {std::string("n")})) + graph_output(value_info("d", {std::string("m")}));
    const auto a = analyse(g);
    EXPECT_EQ(a.peak_activation_bytes.text(), "max(4*m + 8*n, 8*m + 4*n)");
    EXPECT_TRUE(a.peak_activation_bytes.exact);
    EXPECT_EQ(a.activation_bytes.text(), "4*m + 4*n");
    EXPECT_EQ(a.peak_activation_bytes.evaluate({{"n", 3}, {"m", 5}}), 52u);
    EXPECT_EQ(a.peak_activation_bytes.evaluate({{"n", 5}, {"m", 3}}), 52u);
    EXPECT_EQ(a.peak_activation_bytes.evaluate({{"n", 5}}), std::nullopt);
}

TEST(Analysis, HugeShapesSaturateInsteadOfWrapping) {
    Graph g;
    g.nodes = {node({{"x", "w"}, {"y"}, "mm", "MatMul"})};
    g.initializers = {weight("w", {int64_t{1} << 40, 4})};
    g.extra = graph_input(value_info("x", {int64_t{1} << 40, int64_t{1} << 40})) +
              graph_output(value_info("y", {int64_t{1} << 40, int64_t{4}}));
    EXPECT_EQ(analyse(g).macs.value(), UINT64_MAX);
}

TEST(GraphView, ReadsNodesValuesAndInitializers) {
    Model m;
    m.graph = graph(linear_relu());
    m.opsets = {{"", 17}, {"com.microsoft", 1}};
    const ow::GraphView view = ow::read_graph(model(m));
    ASSERT_EQ(view.nodes.size(), 2u);
    EXPECT_EQ(view.nodes[0].op_type, "MatMul");
    EXPECT_EQ(view.nodes[0].inputs, (std::vector<std::string>{"x", "w"}));
    EXPECT_EQ(view.inputs, std::vector<std::string>{"x"});
    EXPECT_EQ(view.outputs, std::vector<std::string>{"z"});
    EXPECT_EQ(view.initializers.count("w"), 1u);
    EXPECT_EQ(view.values.at("w").dims.size(), 2u);
    EXPECT_EQ(view.values.at("x").dims[0].symbol, "batch");
    EXPECT_EQ(view.values.at("x").dims[2].value, 64);
    ASSERT_EQ(view.opsets.size(), 2u);
    EXPECT_EQ(view.opsets[1].domain, "com.microsoft");
}

TEST(GraphView, MalformedBytesAreFormatErrors) {
    Model m;
    m.graph = graph(linear_relu());
    const std::string bytes = model(m);
    EXPECT_THROW(ow::read_graph(bytes.substr(0, bytes.size() - 7)), ow::FormatError);
    // A node name with a varint wire type.
    Graph g;
    g.nodes = {field_varint(3, 5)};
    Model bad;
    bad.graph = graph(g);
    EXPECT_THROW(ow::read_graph(model(bad)), ow::FormatError);
}
