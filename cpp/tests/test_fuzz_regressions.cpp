// Inputs the fuzzers (cpp/fuzz, docs/fuzzing.md) or a review of their findings turned up, reduced
// to the rule each one broke. Each test fails on the code before its fix.
#include <gtest/gtest.h>

#include <string>

#include "onnx_weightless/analysis.hpp"
#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/graph.hpp"
#include "onnx_weightless/scan.hpp"
#include "proto_builder.hpp"

namespace ow = onnx_weightless;
using namespace pb;

namespace {

/// A graph with these raw fields, in a model.
std::string model_with_graph_fields(const std::string& graph_fields, const std::vector<std::string>& nodes = {}) {
    Graph g;
    g.name = "g";
    g.nodes = nodes;
    g.extra = graph_fields;
    Model m;
    m.graph = graph(g);
    return model(m);
}

/// A ValueInfoProto "x" of FLOAT whose shape has these TensorShapeProto.Dimension messages.
std::string value_info_x(const std::string& dims) {
    const std::string tensor_type = field_varint(1, FLOAT) + field_bytes(2, dims);
    return field_bytes(1, "x") + field_bytes(2, field_bytes(1, tensor_type));
}

}  // namespace

// fuzz_skeleton: protozero's "not a varint" assertion in read_graph. An integer field written with
// a fixed-width wire type was decoded as a varint: in release builds the reader then went on from
// inside the value and read its remaining bytes as fields. Such a field is skipped whole now.
TEST(FuzzRegression, GraphSkipsFixed64DimValueWhole) {
    // dim_value as fixed64 whose bytes would decode as: varint 5, then dim_value 7, dim_param "abc".
    const std::string fixed = tag(1, 1) + std::string("\x05\x08\x07\x12\x03" "abc", 8);
    const std::string dims = field_bytes(1, fixed) + field_bytes(1, field_varint(1, 5));
    const ow::GraphView view = ow::read_graph(model_with_graph_fields(field_bytes(13, value_info_x(dims))));
    const ow::ValueType& x = view.values.at("x");
    ASSERT_EQ(x.dims.size(), 2u);
    EXPECT_EQ(x.dims[0].value, -1);  // no usable dim_value: unknown
    EXPECT_EQ(x.dims[0].symbol, "");
    EXPECT_EQ(x.dims[1].value, 5);
}

TEST(FuzzRegression, GraphSkipsFixed32AttributeIntWhole) {
    // AttributeProto.i as fixed32 whose bytes would decode as: varint 5, then name "z".
    const std::string attribute = field_bytes(1, "axis") + tag(3, 5) + std::string("\x05\x0a\x01z", 4);
    const std::string relu = node({{"a"}, {"b"}, "n", "Relu", {attribute}});
    const ow::GraphView view = ow::read_graph(model_with_graph_fields("", {relu}));
    ASSERT_EQ(view.nodes.size(), 1u);
    const auto& attributes = view.nodes[0].attributes;
    ASSERT_EQ(attributes.count("axis"), 1u);
    EXPECT_EQ(attributes.at("axis").i, 0);
    EXPECT_EQ(attributes.count("z"), 0u);
}

// A name is copied into every tensor under it (TensorInfo.attribute_name, node_name, ...): a long
// attribute name over thousands of tiny tensors made a 600 KB file take 19 GB. Copies into the
// index are now bounded in proportion to the file.
TEST(FuzzRegression, LongNameOverManyTensorsIsALimitError) {
    std::string attribute = field_bytes(1, std::string(100000, 'a'));
    for (int i = 0; i < 5000; ++i) attribute += field_bytes(10, field_varint(2, FLOAT));  // tensors
    const std::string bytes = model_with_graph_fields("", {node({{}, {"c"}, "k", "Constant", {attribute}})});
    RecordingSource source(bytes);
    try {
        ow::scan(source);
        FAIL() << "expected LimitError";
    } catch (const ow::LimitError& e) {
        EXPECT_NE(std::string(e.what()).find("copied into the tensor index"), std::string::npos) << e.what();
        EXPECT_LT(e.offset(), bytes.size());
    }
}

TEST(FuzzRegression, LongNameOverFewTensorsScans) {
    std::string attribute = field_bytes(1, std::string(100000, 'a'));
    for (int i = 0; i < 3; ++i) attribute += field_bytes(10, field_varint(2, FLOAT));
    const ow::TensorIndex index = scan_bytes(model_with_graph_fields("", {node({{}, {"c"}, "k", "Constant", {attribute}})}));
    ASSERT_EQ(index.tensors.size(), 3u);
    EXPECT_EQ(index.tensors[2].attribute_name, std::string(100000, 'a'));
}

// Review of the graph fuzzing: a node output name repeated 200,000 times, with a 4096-dim value of
// that name, made analyze() copy the shape at each repeat (6 GB). ONNX graphs are SSA: a value is
// produced once, and a repeat is counted once.
TEST(FuzzRegression, RepeatedOutputNameIsOneActivation) {
    const std::string dims = field_bytes(1, field_varint(1, 2)) + field_bytes(1, field_varint(1, 3));
    const std::string relu = node({{"i"}, {"x", "x", "x"}, "r", "Relu"});
    const std::string fields = field_bytes(11, field_bytes(1, "i")) + field_bytes(13, value_info_x(dims));
    const ow::Analysis analysis = ow::analyze(ow::read_graph(model_with_graph_fields(fields, {relu})));
    EXPECT_EQ(analysis.activations_known, 1u);
    EXPECT_EQ(analysis.activation_bytes.value(), 24u);
    ASSERT_EQ(analysis.largest_activations.size(), 1u);
}

// fuzz_skeleton: read_graph read a model but not its skeleton. It decoded every int64_data field
// (looking for a Loop's constant trip count), so a packed run that does not decode failed the
// model, while the skeleton, which strips that payload, read. Payload that does not decode is no
// scalar now: both read alike.
TEST(FuzzRegression, GraphReadsAPackedIntPayloadThatDoesNotDecode) {
    Tensor t;
    t.name = "count";
    t.data_type = 7;  // INT64
    t.dims = {1};
    t.extra = field_bytes(7, std::string(12, '\xff'));  // a varint that never ends
    const ow::GraphView graph = ow::read_graph(model_with_graph_fields(field_bytes(5, tensor(t))));
    EXPECT_TRUE(graph.initializers.count("count"));
    EXPECT_FALSE(graph.scalars.count("count"));
}
