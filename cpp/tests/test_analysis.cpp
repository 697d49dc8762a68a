// The graph view and the cost analysis on crafted models: MACs of the dominant ops, symbolic dims
// bound or not, weight-derived values kept apart from activations, liveness, malformed graphs.
#include <gtest/gtest.h>

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
    EXPECT_EQ(a.macs, 2u * 8 * 256 * 64);
    EXPECT_EQ(a.flops, 2u * 2 * 8 * 256 * 64 + 2 * 8 * 256);  // 2 per MAC, 1 per Relu output
    EXPECT_EQ(a.unknown_nodes, 0u);
    EXPECT_EQ(a.by_op.at("MatMul").macs, a.macs);
    EXPECT_EQ(a.by_op.at("Relu").flops, 2u * 8 * 256);
    ASSERT_EQ(a.nodes.size(), 2u);
    EXPECT_EQ(a.nodes[0].name, "mm");
}

TEST(Analysis, UnboundSymbolsLeaveNodesUnknown) {
    const auto a = analyse(linear_relu(), {{"batch", 2}});
    EXPECT_EQ(a.macs, 0u);
    EXPECT_EQ(a.unknown_nodes, 2u);
    EXPECT_FALSE(a.nodes[0].known);
    EXPECT_EQ(a.by_op.at("MatMul").unknown, 1u);
    EXPECT_EQ(a.activations_unknown, 2u);
}

TEST(Analysis, ActivationsAndPeakFollowLiveness) {
    // x (2*8*64*4 = 4 KiB) is read by mm only; y (16 KiB) by relu; z (16 KiB) is a graph output.
    // Graph inputs are alive but are not counted among the node outputs.
    const auto a = analyse(linear_relu(), {{"batch", 2}, {"seq", 8}});
    EXPECT_EQ(a.activation_bytes, 2u * 16384);
    EXPECT_EQ(a.activations_known, 2u);
    // While relu runs y and z are both alive (x was freed after mm).
    EXPECT_EQ(a.peak_activation_bytes, 16384u + 16384);
    ASSERT_EQ(a.largest_activations.size(), 2u);
    EXPECT_EQ(a.largest_activations[0].bytes, 16384u);
    EXPECT_EQ(a.largest_activations[0].dims, (std::vector<int64_t>{2, 8, 256}));
}

TEST(Analysis, ValuesComputedFromWeightsAloneAreNotActivations) {
    Graph g = linear_relu();
    g.nodes.insert(g.nodes.begin(), node({{"w0"}, {"w"}, "t", "Transpose"}));
    g.initializers = {weight("w0", {256, 64})};
    g.extra += graph_value(value_info("w", {int64_t{64}, int64_t{256}}));
    const auto a = analyse(g, {{"batch", 2}, {"seq", 8}});
    EXPECT_EQ(a.weight_derived, 1u);
    EXPECT_EQ(a.weight_derived_bytes, 64u * 256 * 4);
    EXPECT_EQ(a.activations_known, 2u);
    EXPECT_EQ(a.macs, 2u * 8 * 256 * 64);
}

TEST(Analysis, GemmHonoursTransA) {
    Graph g;
    g.nodes = {node({{"a", "b"}, {"c"}, "gemm", "Gemm", {attr_int("transA", 1)}})};
    g.initializers = {weight("b", {32, 16})};
    g.extra = graph_input(value_info("a", {int64_t{32}, int64_t{4}})) + graph_output(value_info("c", {int64_t{4}, int64_t{16}}));
    EXPECT_EQ(analyse(g).macs, 4u * 16 * 32);
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
    EXPECT_EQ(a.by_op.at("Conv").macs, (1u * 8 * 8 * 8) * (2 * 3 * 3));
    EXPECT_EQ(a.by_op.at("MaxPool").flops, (1u * 8 * 4 * 4) * 4);
    EXPECT_EQ(a.by_op.at("ConvTranspose").macs, (1u * 8 * 4 * 4) * (4 * 2 * 2));
}

TEST(Analysis, AttentionCountsScoresAndWeighting) {
    // ai.onnx Attention-23, 4-D: Q [1, 8, 16, 32], K/V [1, 2, 24, 32] (grouped-query heads).
    Graph g;
    g.nodes = {node({{"q", "k", "v"}, {"o"}, "attn", "Attention"})};
    g.extra = graph_input(value_info("q", {int64_t{1}, int64_t{8}, int64_t{16}, int64_t{32}})) +
              graph_input(value_info("k", {int64_t{1}, int64_t{2}, int64_t{24}, int64_t{32}})) +
              graph_input(value_info("v", {int64_t{1}, int64_t{2}, int64_t{24}, int64_t{32}})) +
              graph_output(value_info("o", {int64_t{1}, int64_t{8}, int64_t{16}, int64_t{32}}));
    EXPECT_EQ(analyse(g).macs, 1u * 8 * 16 * 24 * (32 + 32));
}

TEST(Analysis, MicrosoftAttentionAddsItsProjection) {
    Graph g;
    Node n{{"x", "w"}, {"o"}, "attn", "Attention", {attr_int("num_heads", 4)}, "com.microsoft"};
    g.nodes = {node(n)};
    g.initializers = {weight("w", {64, 192})};
    g.extra = graph_input(value_info("x", {int64_t{2}, int64_t{10}, int64_t{64}})) +
              graph_output(value_info("o", {int64_t{2}, int64_t{10}, int64_t{64}}));
    const auto a = analyse(g);
    EXPECT_EQ(a.macs, 2u * 10 * 64 * 192 + 2u * 10 * 10 * (64 + 64));
    EXPECT_EQ(a.by_op.count("com.microsoft::Attention"), 1u);
}

TEST(Analysis, HugeShapesSaturateInsteadOfWrapping) {
    Graph g;
    g.nodes = {node({{"x", "w"}, {"y"}, "mm", "MatMul"})};
    g.initializers = {weight("w", {int64_t{1} << 40, 4})};
    g.extra = graph_input(value_info("x", {int64_t{1} << 40, int64_t{1} << 40})) +
              graph_output(value_info("y", {int64_t{1} << 40, int64_t{4}}));
    EXPECT_EQ(analyse(g).macs, UINT64_MAX);
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
