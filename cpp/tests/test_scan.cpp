// scan(): every tensor container is found and described; payload bytes are never read.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "onnx_weightless/scan.hpp"
#include "proto_builder.hpp"

using namespace onnx_weightless;
using pb::find_tensor;
using pb::scan_bytes;

namespace {

std::string slice(const std::string& bytes, const ByteRange& range) {
    return bytes.substr(static_cast<size_t>(range.begin), static_cast<size_t>(range.size()));
}

std::string field_value(const std::string& bytes, const FieldSpan& span) {
    return bytes.substr(static_cast<size_t>(span.value_offset), static_cast<size_t>(span.end - span.value_offset));
}

std::string model_of_graph(const pb::Graph& g) {
    pb::Model m;
    m.graph = pb::graph(g);
    return pb::model(m);
}

}  // namespace

// ---- Graph initializers ---------------------------------------------------------------------

TEST(ScanInitializer, RawDataTensorIsFullyDescribed) {
    const std::string raw = pb::filler(24);
    const std::string tensor = pb::raw_float_tensor("w", {2, 3}, raw);
    const std::string bytes = pb::model_with_initializers({tensor});

    const TensorIndex index = scan_bytes(bytes);
    ASSERT_EQ(index.tensors.size(), 1u);
    const TensorInfo& t = index.tensors[0];
    EXPECT_EQ(t.name, "w");
    EXPECT_EQ(t.data_type, pb::FLOAT);
    EXPECT_EQ(t.dims, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(t.element_count, 6u);
    EXPECT_EQ(t.byte_size, std::optional<uint64_t>(24));
    EXPECT_EQ(t.storage, Storage::inline_data);
    EXPECT_EQ(t.payload_field, PayloadField::raw_data);
    EXPECT_TRUE(t.packed);
    EXPECT_EQ(slice(bytes, t.payload), raw);
    EXPECT_EQ(t.role, TensorRole::initializer);
    EXPECT_EQ(t.graph_name, "main");
    EXPECT_EQ(t.function_name, "");
    EXPECT_EQ(t.node_name, "");
    EXPECT_EQ(t.depth, 0u);
    EXPECT_EQ(index.file_size, bytes.size());
}

TEST(ScanInitializer, FieldSpanAncestorsAndStripRangesLocateTheTensor) {
    const std::string raw = pb::filler(16);
    const std::string tensor = pb::raw_float_tensor("w", {4}, raw);
    pb::Graph g;
    g.name = "main";
    g.initializers = {tensor};
    const std::string graph_field = pb::field_bytes(7, pb::graph(g));
    const std::string bytes = model_of_graph(g);
    const size_t graph_at = bytes.find(graph_field);
    ASSERT_NE(graph_at, std::string::npos);

    const TensorInfo& t = find_tensor(scan_bytes(bytes), "w");
    EXPECT_EQ(field_value(bytes, t.field), tensor);
    ASSERT_EQ(t.ancestors.size(), 1u);  // the ModelProto.graph field
    EXPECT_EQ(t.ancestors[0].tag_offset, graph_at);
    EXPECT_EQ(t.ancestors[0].end, graph_at + graph_field.size());
    ASSERT_EQ(t.strip_ranges.size(), 1u);
    EXPECT_EQ(slice(bytes, t.strip_ranges[0]), pb::field_bytes(9, raw));
}

TEST(ScanInitializer, PackedFloatDataPayloadIsThePackedBytes) {
    pb::Tensor spec;
    spec.name = "pf";
    spec.dims = {3};
    spec.float_data = {1.0f, -2.5f, 3.25f};
    const std::string bytes = pb::model_with_initializers({pb::tensor(spec)});

    const TensorInfo& t = find_tensor(scan_bytes(bytes), "pf");
    EXPECT_EQ(t.storage, Storage::inline_data);
    EXPECT_EQ(t.payload_field, PayloadField::float_data);
    EXPECT_TRUE(t.packed);
    EXPECT_EQ(t.byte_size, std::optional<uint64_t>(12));
    EXPECT_EQ(slice(bytes, t.payload), pb::float_bytes(spec.float_data));
}

TEST(ScanInitializer, PackedInt64DataPayloadIsTheVarintBytes) {
    pb::Tensor spec;
    spec.name = "i64";
    spec.data_type = pb::INT64;
    spec.dims = {4};
    spec.int64_data = {0, 1, 300, -1};
    const std::string bytes = pb::model_with_initializers({pb::tensor(spec)});

    const TensorInfo& t = find_tensor(scan_bytes(bytes), "i64");
    EXPECT_EQ(t.payload_field, PayloadField::int64_data);
    EXPECT_TRUE(t.packed);
    EXPECT_EQ(t.element_count, 4u);
    EXPECT_EQ(t.byte_size, std::optional<uint64_t>(32));
    EXPECT_EQ(slice(bytes, t.payload), pb::packed_varints(spec.int64_data));
}

TEST(ScanInitializer, UnpackedFloatDataPayloadSpansTheWholeFieldsTagsIncluded) {
    pb::Tensor spec;
    spec.name = "uf";
    spec.dims = {2};
    spec.float_data = {1.5f, 2.5f};
    spec.float_packed = false;
    const std::string bytes = pb::model_with_initializers({pb::tensor(spec)});

    const TensorInfo& t = find_tensor(scan_bytes(bytes), "uf");
    EXPECT_EQ(t.payload_field, PayloadField::float_data);
    EXPECT_FALSE(t.packed);
    const std::string fb = pb::float_bytes(spec.float_data);
    EXPECT_EQ(slice(bytes, t.payload), pb::tag(4, 5) + fb.substr(0, 4) + pb::tag(4, 5) + fb.substr(4, 4));
}

TEST(ScanInitializer, ExternalTensorReportsItsEntries) {
    pb::Tensor spec;
    spec.name = "ext";
    spec.dims = {4};
    spec.external_data = {{"location", "w.bin"}, {"offset", "64"}, {"length", "16"}, {"checksum", "abc"}};
    spec.data_location = pb::kExternal;
    const std::string bytes = pb::model_with_initializers({pb::tensor(spec)});

    const TensorInfo& t = find_tensor(scan_bytes(bytes), "ext");
    EXPECT_EQ(t.storage, Storage::external);
    EXPECT_EQ(t.payload_field, PayloadField::none);
    EXPECT_EQ(t.location(), "w.bin");
    EXPECT_EQ(t.external_offset(), std::optional<uint64_t>(64));
    EXPECT_EQ(t.external_length(), std::optional<uint64_t>(16));
    EXPECT_EQ(t.external_data.at("checksum"), "abc");
    EXPECT_EQ(t.external_data.size(), 4u);
    EXPECT_EQ(t.byte_size, std::optional<uint64_t>(16));
}

TEST(ScanInitializer, TensorWithoutPayloadHasStorageNone) {
    pb::Tensor spec;
    spec.name = "empty";
    spec.dims = {0, 5};
    const std::string bytes = pb::model_with_initializers({pb::tensor(spec)});

    const TensorInfo& t = find_tensor(scan_bytes(bytes), "empty");
    EXPECT_EQ(t.storage, Storage::none);
    EXPECT_EQ(t.element_count, 0u);
    EXPECT_EQ(t.byte_size, std::optional<uint64_t>(0));
}

TEST(ScanInitializer, ScalarHasOneElement) {
    const std::string bytes = pb::model_with_initializers({pb::raw_float_tensor("s", {}, pb::filler(4))});
    const TensorInfo& t = find_tensor(scan_bytes(bytes), "s");
    EXPECT_TRUE(t.dims.empty());
    EXPECT_EQ(t.element_count, 1u);
    EXPECT_EQ(t.byte_size, std::optional<uint64_t>(4));
}

TEST(ScanInitializer, PackedDimsAreRead) {
    pb::Tensor spec;
    spec.name = "p";
    spec.dims = {2, 300};
    spec.packed_dims = true;
    spec.raw_data = pb::filler(2400);
    const TensorInfo& t = find_tensor(scan_bytes(pb::model_with_initializers({pb::tensor(spec)})), "p");
    EXPECT_EQ(t.dims, (std::vector<int64_t>{2, 300}));
    EXPECT_EQ(t.byte_size, std::optional<uint64_t>(2400));
}

TEST(ScanInitializer, StringTensorHasNoByteSize) {
    pb::Tensor spec;
    spec.name = "str";
    spec.data_type = pb::STRING;
    spec.dims = {2};
    spec.string_data = {"hello", "world!"};
    const std::string bytes = pb::model_with_initializers({pb::tensor(spec)});

    const TensorInfo& t = find_tensor(scan_bytes(bytes), "str");
    EXPECT_EQ(t.storage, Storage::inline_data);
    EXPECT_EQ(t.payload_field, PayloadField::string_data);
    EXPECT_FALSE(t.packed);
    EXPECT_FALSE(t.byte_size.has_value());
    EXPECT_EQ(slice(bytes, t.payload), pb::field_bytes(6, "hello") + pb::field_bytes(6, "world!"));
}

TEST(ScanInitializer, TensorsAreListedInFileOrder) {
    const std::string bytes = pb::model_with_initializers(
        {pb::raw_float_tensor("a", {1}, pb::filler(4)), pb::raw_float_tensor("b", {1}, pb::filler(4)),
         pb::raw_float_tensor("c", {1}, pb::filler(4))});
    const TensorIndex index = scan_bytes(bytes);
    ASSERT_EQ(index.tensors.size(), 3u);
    EXPECT_EQ(index.tensors[0].name, "a");
    EXPECT_EQ(index.tensors[1].name, "b");
    EXPECT_EQ(index.tensors[2].name, "c");
    EXPECT_LT(index.tensors[0].field.tag_offset, index.tensors[1].field.tag_offset);
}

// ---- Sparse initializers --------------------------------------------------------------------

TEST(ScanSparse, SparseInitializerYieldsValuesAndIndices) {
    const std::string values_raw = pb::filler(12);
    const std::string indices_raw = pb::filler(24, 9);
    pb::Tensor values;
    values.name = "sp_v";
    values.dims = {3};
    values.raw_data = values_raw;
    pb::Tensor indices;
    indices.name = "sp_i";
    indices.data_type = pb::INT64;
    indices.dims = {3};
    indices.raw_data = indices_raw;
    pb::Graph g;
    g.name = "main";
    g.sparse_initializers = {pb::sparse_tensor(pb::tensor(values), pb::tensor(indices), {10})};
    const std::string bytes = model_of_graph(g);

    const TensorIndex index = scan_bytes(bytes);
    ASSERT_EQ(index.tensors.size(), 2u);
    const TensorInfo& v = find_tensor(index, "sp_v");
    const TensorInfo& i = find_tensor(index, "sp_i");
    EXPECT_EQ(v.role, TensorRole::sparse_initializer);
    EXPECT_EQ(i.role, TensorRole::sparse_initializer);
    EXPECT_FALSE(v.sparse_indices);
    EXPECT_TRUE(i.sparse_indices);
    EXPECT_EQ(i.data_type, pb::INT64);
    EXPECT_EQ(slice(bytes, v.payload), values_raw);
    EXPECT_EQ(slice(bytes, i.payload), indices_raw);
    EXPECT_EQ(v.graph_name, "main");
    EXPECT_EQ(v.ancestors.size(), 2u);  // graph, sparse_initializer
}

// ---- Node attributes ------------------------------------------------------------------------

TEST(ScanNodeAttribute, ConstantValueIsANodeAttributeTensor) {
    const std::string raw = pb::filler(8);
    pb::Graph g;
    g.name = "main";
    g.nodes = {pb::node({{}, {"c"}, "const_node", "Constant", {pb::attr_tensor("value", pb::raw_float_tensor("const_t", {2}, raw))}})};
    const std::string bytes = model_of_graph(g);

    const TensorInfo& t = find_tensor(scan_bytes(bytes), "const_t");
    EXPECT_EQ(t.role, TensorRole::node_attribute);
    EXPECT_EQ(t.graph_name, "main");
    EXPECT_EQ(t.node_name, "const_node");
    EXPECT_EQ(t.op_type, "Constant");
    EXPECT_EQ(t.attribute_name, "value");
    EXPECT_EQ(t.depth, 0u);
    EXPECT_EQ(slice(bytes, t.payload), raw);
    EXPECT_EQ(t.ancestors.size(), 3u);  // graph, node, attribute
}

TEST(ScanNodeAttribute, ConstantSparseValueYieldsValuesAndIndices) {
    pb::Tensor indices;
    indices.name = "si";
    indices.data_type = pb::INT64;
    indices.dims = {2};
    indices.int64_data = {1, 5};
    const std::string sparse = pb::sparse_tensor(pb::raw_float_tensor("sv", {2}, pb::filler(8)), pb::tensor(indices), {8});
    pb::Graph g;
    g.name = "main";
    g.nodes = {pb::node({{}, {"c"}, "sparse_const", "Constant", {pb::attr_sparse("sparse_value", sparse)}})};
    const TensorIndex index = scan_bytes(model_of_graph(g));

    ASSERT_EQ(index.tensors.size(), 2u);
    for (const TensorInfo& t : index.tensors) {
        EXPECT_EQ(t.role, TensorRole::node_attribute);
        EXPECT_EQ(t.node_name, "sparse_const");
        EXPECT_EQ(t.attribute_name, "sparse_value");
    }
    EXPECT_FALSE(find_tensor(index, "sv").sparse_indices);
    EXPECT_TRUE(find_tensor(index, "si").sparse_indices);
    EXPECT_EQ(find_tensor(index, "si").payload_field, PayloadField::int64_data);
}

TEST(ScanNodeAttribute, TensorsListYieldsEveryTensor) {
    pb::Graph g;
    g.name = "main";
    g.nodes = {pb::node({{"x"}, {"y"}, "multi", "Custom",
                         {pb::attr_int("axis", 1), pb::attr_tensors("tables", {pb::raw_float_tensor("lt0", {1}, pb::filler(4)),
                                                                               pb::raw_float_tensor("lt1", {2}, pb::filler(8))})},
                         "com.example"})};
    const TensorIndex index = scan_bytes(model_of_graph(g));

    ASSERT_EQ(index.tensors.size(), 2u);
    EXPECT_EQ(index.tensors[0].name, "lt0");
    EXPECT_EQ(index.tensors[1].name, "lt1");
    for (const TensorInfo& t : index.tensors) {
        EXPECT_EQ(t.attribute_name, "tables");
        EXPECT_EQ(t.op_type, "Custom");
        EXPECT_EQ(t.node_name, "multi");
    }
}

TEST(ScanNodeAttribute, NodeNameIsKnownWhenWrittenAfterTheAttributes) {
    // NodeProto fields in reverse order: attribute (5) first, then op_type (4) and name (3).
    const std::string attr = pb::attr_tensor("value", pb::raw_float_tensor("late", {1}, pb::filler(4)));
    const std::string node = pb::field_bytes(5, attr) + pb::field_bytes(4, "Constant") + pb::field_bytes(3, "n_late");
    pb::Graph g;
    g.name = "main";
    g.nodes = {node};
    const TensorInfo& t = find_tensor(scan_bytes(model_of_graph(g)), "late");
    EXPECT_EQ(t.node_name, "n_late");
    EXPECT_EQ(t.op_type, "Constant");
}

// ---- Subgraphs ------------------------------------------------------------------------------

namespace {

/// main graph -> If "if_node" (then_branch "then_g": initializer then_w, Loop "loop_node"
/// (body "loop_body": initializer body_w, Add node)) and else_branch "else_g".
std::string nested_model() {
    pb::Graph body;
    body.name = "loop_body";
    body.nodes = {pb::node({{"a", "b"}, {"c"}, "add", "Add", {}})};
    body.initializers = {pb::raw_float_tensor("body_w", {2}, pb::filler(8, 3))};
    pb::Graph then_g;
    then_g.name = "then_g";
    then_g.nodes = {pb::node({{"m", "cond"}, {"o"}, "loop_node", "Loop", {pb::attr_graph("body", pb::graph(body))}})};
    then_g.initializers = {pb::raw_float_tensor("then_w", {3}, pb::filler(12, 5))};
    pb::Graph else_g;
    else_g.name = "else_g";
    pb::Graph main;
    main.name = "main";
    main.nodes = {pb::node({{"cond"}, {"out"}, "if_node", "If",
                            {pb::attr_graph("then_branch", pb::graph(then_g)),
                             pb::attr_graph("else_branch", pb::graph(else_g))}})};
    main.initializers = {pb::raw_float_tensor("main_w", {1}, pb::filler(4))};
    return model_of_graph(main);
}

}  // namespace

TEST(ScanSubgraph, TensorInThenBranchHasDepthOne) {
    const std::string bytes = nested_model();
    const TensorInfo& t = find_tensor(scan_bytes(bytes), "then_w");
    EXPECT_EQ(t.depth, 1u);
    EXPECT_EQ(t.graph_name, "then_g");
    EXPECT_EQ(t.role, TensorRole::initializer);
    EXPECT_EQ(t.node_name, "");
    EXPECT_EQ(slice(bytes, t.payload), pb::filler(12, 5));
    EXPECT_EQ(t.ancestors.size(), 4u);  // graph, node, attribute, subgraph
}

TEST(ScanSubgraph, TensorInLoopBodyInsideThenBranchHasDepthTwo) {
    const std::string bytes = nested_model();
    const TensorInfo& t = find_tensor(scan_bytes(bytes), "body_w");
    EXPECT_EQ(t.depth, 2u);
    EXPECT_EQ(t.graph_name, "loop_body");
    EXPECT_EQ(slice(bytes, t.payload), pb::filler(8, 3));
    EXPECT_EQ(t.ancestors.size(), 7u);
}

TEST(ScanSubgraph, MainGraphTensorStaysAtDepthZero) {
    const TensorInfo& t = find_tensor(scan_bytes(nested_model()), "main_w");
    EXPECT_EQ(t.depth, 0u);
    EXPECT_EQ(t.graph_name, "main");
}

// ---- Functions and training graphs ----------------------------------------------------------

namespace {

std::string function_model() {
    pb::Function fn;
    fn.name = "MyFunc";
    fn.domain = "local";
    fn.nodes = {pb::node({{}, {"c"}, "fn_node", "Constant", {pb::attr_tensor("value", pb::raw_float_tensor("fn_t", {2}, pb::filler(8)))}})};
    fn.attribute_protos = {pb::attr_tensor("alpha", pb::raw_float_tensor("fn_default", {1}, pb::filler(4)))};
    pb::Graph main;
    main.name = "main";
    main.nodes = {pb::node({{"x"}, {"y"}, "call", "MyFunc", {}, "local"})};
    pb::Model m;
    m.graph = pb::graph(main);
    m.opsets = {{"", 21}, {"local", 1}};
    m.functions = {pb::function(fn)};
    return pb::model(m);
}

}  // namespace

TEST(ScanFunction, FunctionNodeTensorNamesItsFunction) {
    const TensorInfo& t = find_tensor(scan_bytes(function_model()), "fn_t");
    EXPECT_EQ(t.function_name, "MyFunc");
    EXPECT_EQ(t.graph_name, "");
    EXPECT_EQ(t.node_name, "fn_node");
    EXPECT_EQ(t.op_type, "Constant");
    EXPECT_EQ(t.attribute_name, "value");
    EXPECT_EQ(t.role, TensorRole::node_attribute);
}

TEST(ScanFunction, AttributeProtoDefaultIsAFunctionAttribute) {
    const std::string bytes = function_model();
    const TensorInfo& t = find_tensor(scan_bytes(bytes), "fn_default");
    EXPECT_EQ(t.role, TensorRole::function_attribute);
    EXPECT_EQ(t.function_name, "MyFunc");
    EXPECT_EQ(t.attribute_name, "alpha");
    EXPECT_EQ(t.node_name, "");
    EXPECT_EQ(t.byte_size, std::optional<uint64_t>(4));
    EXPECT_EQ(slice(bytes, t.payload), pb::filler(4));
}

TEST(ScanFunction, SubgraphTensorInsideAFunctionNamesItsFunction) {
    pb::Graph then_g;
    then_g.name = "fn_then";
    then_g.initializers = {pb::raw_float_tensor("fn_sub_w", {1}, pb::filler(4))};
    pb::Function fn;
    fn.name = "G";
    fn.domain = "local";
    fn.nodes = {pb::node({{"c"}, {"o"}, "fn_if", "If", {pb::attr_graph("then_branch", pb::graph(then_g))}})};
    pb::Model m;
    m.graph = pb::graph({{}, "main", {}, {}, ""});
    m.functions = {pb::function(fn)};
    const TensorIndex index = scan_bytes(pb::model(m));

    const TensorInfo t = find_tensor(index, "fn_sub_w");
    EXPECT_EQ(t.function_name, "G");
    EXPECT_EQ(t.graph_name, "fn_then");
    EXPECT_EQ(t.depth, 1u);
    EXPECT_EQ(t.node_name, "");
    EXPECT_EQ(index.summary.max_depth, 1u);
    EXPECT_EQ(index.summary.graph_count, 2u);
}

TEST(ScanTraining, InitializationGraphTensorsAreFound) {
    pb::Graph init;
    init.name = "init_g";
    init.initializers = {pb::raw_float_tensor("train_w", {4}, pb::filler(16))};
    pb::Graph algo;
    algo.name = "algo_g";
    algo.initializers = {pb::raw_float_tensor("algo_w", {1}, pb::filler(4))};
    pb::Graph main;
    main.name = "main";
    pb::Model m;
    m.graph = pb::graph(main);
    m.training_infos = {pb::training_info(pb::graph(init), pb::graph(algo))};
    const std::string bytes = pb::model(m);

    const TensorIndex index = scan_bytes(bytes);
    const TensorInfo& t = find_tensor(index, "train_w");
    EXPECT_EQ(t.graph_name, "init_g");
    EXPECT_EQ(t.role, TensorRole::initializer);
    EXPECT_EQ(t.depth, 0u);
    EXPECT_EQ(slice(bytes, t.payload), pb::filler(16));
    EXPECT_EQ(find_tensor(index, "algo_w").graph_name, "algo_g");
    EXPECT_EQ(index.summary.graph_count, 3u);
}

// ---- Summary --------------------------------------------------------------------------------

TEST(ScanSummary, ReportsIrVersionProducerAndOpsets) {
    pb::Model m;
    m.ir_version = 9;
    m.producer_name = "tests";
    m.graph = pb::graph({{}, "main", {}, {}, ""});
    m.opsets = {{"", 19}, {"com.microsoft", 1}};
    const ModelSummary s = scan_bytes(pb::model(m)).summary;
    EXPECT_EQ(s.ir_version, 9);
    EXPECT_EQ(s.producer_name, "tests");
    ASSERT_EQ(s.opsets.size(), 2u);
    EXPECT_EQ(s.opsets[0].domain, "");
    EXPECT_EQ(s.opsets[0].version, 19);
    EXPECT_EQ(s.opsets[1].domain, "com.microsoft");
    EXPECT_EQ(s.opsets[1].version, 1);
}

TEST(ScanSummary, CountsGraphsNodesAndDepthAcrossSubgraphs) {
    const ModelSummary s = scan_bytes(nested_model()).summary;
    EXPECT_EQ(s.graph_count, 4u);  // main, then_g, else_g, loop_body
    EXPECT_EQ(s.node_count, 3u);   // If, Loop, Add
    EXPECT_EQ(s.max_depth, 2u);
    EXPECT_EQ(s.function_count, 0u);
    EXPECT_EQ(s.op_histogram, (std::map<std::string, uint64_t>{{"If", 1}, {"Loop", 1}, {"Add", 1}}));
}

TEST(ScanSummary, CountsFunctionsAndTheirNodes) {
    const ModelSummary s = scan_bytes(function_model()).summary;
    EXPECT_EQ(s.function_count, 1u);
    EXPECT_EQ(s.node_count, 2u);  // the call in main + the Constant in MyFunc
    EXPECT_EQ(s.graph_count, 1u);
    EXPECT_EQ(s.max_depth, 0u);
    EXPECT_EQ(s.op_histogram, (std::map<std::string, uint64_t>{{"Constant", 1}, {"local::MyFunc", 1}}));
}

TEST(ScanSummary, HistogramQualifiesNonDefaultDomainsOnly) {
    pb::Graph g;
    g.name = "main";
    g.nodes = {pb::node({{"a"}, {"b"}, "", "Relu", {}}), pb::node({{"b"}, {"c"}, "", "Relu", {}, "ai.onnx"}),
               pb::node({{"c"}, {"d"}, "", "FusedMatMul", {}, "com.microsoft"})};
    const ModelSummary s = scan_bytes(model_of_graph(g)).summary;
    EXPECT_EQ(s.op_histogram, (std::map<std::string, uint64_t>{{"Relu", 2}, {"com.microsoft::FusedMatMul", 1}}));
    EXPECT_EQ(s.node_count, 3u);
}

TEST(ScanSummary, EmptyInputIsAnEmptyModel) {
    const TensorIndex index = scan_bytes("");
    EXPECT_TRUE(index.tensors.empty());
    EXPECT_EQ(index.summary.graph_count, 0u);
    EXPECT_EQ(index.file_size, 0u);
}

TEST(ScanSummary, UnknownFieldsEverywhereAreSkipped) {
    pb::Tensor spec;
    spec.name = "w";
    spec.dims = {1};
    spec.raw_data = pb::filler(4);
    spec.extra = pb::unknown_fields("tensor");
    pb::Graph g;
    g.name = "main";
    g.nodes = {pb::node({{}, {"c"}, "n", "Constant",
                         {pb::attr_tensor("value", pb::raw_float_tensor("c", {1}, pb::filler(4)), pb::unknown_fields("attr"))},
                         "", pb::unknown_fields("node")})};
    g.initializers = {pb::tensor(spec)};
    g.extra = pb::unknown_fields("graph");
    pb::Model m;
    m.graph = pb::graph(g);
    m.extra = pb::unknown_fields("model");
    const TensorIndex index = scan_bytes(pb::model(m));
    EXPECT_EQ(index.tensors.size(), 2u);
    EXPECT_EQ(find_tensor(index, "w").byte_size, std::optional<uint64_t>(4));
}

// ---- The scan never reads payload bytes -----------------------------------------------------

TEST(ScanReads, PayloadBytesAreNeverReadBeyondOneWindow) {
    constexpr size_t kWindow = 64;
    pb::Graph g;
    g.name = "main";
    g.nodes = {pb::node({{}, {"c"}, "big_const", "Constant",
                         {pb::attr_tensor("value", pb::raw_float_tensor("big_c", {64 * 1024}, pb::filler(256 * 1024, 2)))}})};
    g.initializers = {pb::raw_float_tensor("big", {256 * 1024}, pb::filler(1 << 20)),
                      pb::raw_float_tensor("after", {2}, pb::filler(8))};
    g.extra = pb::unknown_fields("after the payloads");
    const std::string bytes = model_of_graph(g);

    pb::RecordingSource source(bytes);
    ScanOptions options;
    options.window_size = kWindow;
    const TensorIndex index = scan(source, options);
    ASSERT_EQ(index.tensors.size(), 3u);

    for (const char* name : {"big", "big_c"}) {
        const ByteRange payload = find_tensor(index, name).payload;
        ASSERT_GT(payload.size(), 100 * kWindow);
        for (const ByteRange& read : source.reads()) {
            const uint64_t begin = std::max(read.begin, payload.begin);
            const uint64_t end = std::min(read.end, payload.end);
            if (begin >= end) continue;
            EXPECT_LE(end, payload.begin + kWindow)
                << "read [" << read.begin << ", " << read.end << ") reaches into the payload of '" << name
                << "' [" << payload.begin << ", " << payload.end << ")";
        }
    }
    EXPECT_EQ(source.bytes_read(), [&] {
        uint64_t total = 0;
        for (const ByteRange& r : source.reads()) total += r.size();
        return total;
    }());
    EXPECT_LT(source.bytes_read(), bytes.size() / 100) << "read " << source.bytes_read() << " of " << bytes.size();
}
