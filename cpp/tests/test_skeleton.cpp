// write_skeleton(): payloads above the threshold are removed and marked EXTERNAL (pointing back
// at the original file); everything else is copied through byte for byte.
#include <gtest/gtest.h>

#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/scan.hpp"
#include "onnx_weightless/skeleton.hpp"
#include "proto_builder.hpp"

using namespace onnx_weightless;
using pb::find_tensor;
using pb::scan_bytes;

namespace {

constexpr const char* kLocation = "model.onnx";

SkeletonResult skeleton_of(const std::string& bytes, uint64_t threshold = 1024) {
    MemorySource source(bytes);
    const TensorIndex index = scan(source);
    SkeletonPolicy policy;
    policy.threshold_bytes = threshold;
    policy.model_location = kLocation;
    return write_skeleton(source, index, policy);
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::string entry_field(const std::string& key, const std::string& value) {
    return pb::field_bytes(13, pb::string_entry(key, value));
}

std::string model_of_graph(const pb::Graph& g) {
    pb::Model m;
    m.graph = pb::graph(g);
    return pb::model(m);
}

std::string payload_of(const std::string& bytes, const TensorInfo& t) {
    return bytes.substr(static_cast<size_t>(t.payload.begin), static_cast<size_t>(t.payload.size()));
}

/// A 512-float (2048-byte) raw_data tensor: above the default threshold.
std::string big(const std::string& name, uint8_t seed, const std::string& extra = "") {
    return pb::raw_float_tensor(name, {2, 256}, pb::filler(2048, seed), extra);
}

/// Checks that every tensor stripped from `original` is EXTERNAL in `skeleton` with entries
/// pointing at its payload in `original`, and that both list the same tensors.
void expect_stripped_consistently(const std::string& original, const std::string& skeleton, uint64_t threshold) {
    const TensorIndex before = scan_bytes(original);
    TensorIndex after;
    ASSERT_NO_THROW(after = scan_bytes(skeleton));
    ASSERT_EQ(before.tensors.size(), after.tensors.size());
    SkeletonPolicy policy;
    policy.threshold_bytes = threshold;
    policy.model_location = kLocation;
    for (size_t i = 0; i < before.tensors.size(); ++i) {
        const TensorInfo& b = before.tensors[i];
        const TensorInfo& a = after.tensors[i];
        SCOPED_TRACE("tensor '" + b.name + "'");
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.dims, b.dims);
        EXPECT_EQ(a.data_type, b.data_type);
        EXPECT_EQ(a.role, b.role);
        EXPECT_EQ(a.depth, b.depth);
        EXPECT_EQ(a.graph_name, b.graph_name);
        EXPECT_EQ(a.function_name, b.function_name);
        EXPECT_EQ(a.node_name, b.node_name);
        EXPECT_EQ(a.attribute_name, b.attribute_name);
        EXPECT_EQ(a.sparse_indices, b.sparse_indices);
        if (strips(b, policy)) {
            EXPECT_EQ(a.storage, Storage::external);
            EXPECT_EQ(a.location(), kLocation);
            ASSERT_EQ(a.external_offset(), std::optional<uint64_t>(b.payload.begin));
            ASSERT_EQ(a.external_length(), std::optional<uint64_t>(b.payload.size()));
            EXPECT_EQ(original.substr(static_cast<size_t>(*a.external_offset()), static_cast<size_t>(*a.external_length())),
                      payload_of(original, b));
        } else {
            EXPECT_EQ(a.storage, b.storage);
            EXPECT_EQ(payload_of(skeleton, a), payload_of(original, b));
            EXPECT_EQ(a.external_data, b.external_data);
        }
    }
}

}  // namespace

// ---- What is stripped -----------------------------------------------------------------------

TEST(SkeletonStrip, TensorAboveThresholdLosesPayloadKeepsNameDimsDtype) {
    const std::string raw = pb::filler(2048, 11);
    const std::string bytes = pb::model_with_initializers({pb::raw_float_tensor("w", {2, 256}, raw)});
    const TensorInfo original = find_tensor(scan_bytes(bytes), "w");

    const SkeletonResult result = skeleton_of(bytes);
    EXPECT_EQ(result.stripped_tensors, 1u);
    EXPECT_EQ(result.stripped_bytes, 2048u);
    EXPECT_FALSE(contains(result.bytes, raw));
    EXPECT_LT(result.bytes.size(), 200u);

    const TensorInfo t = find_tensor(scan_bytes(result.bytes), "w");
    EXPECT_EQ(t.dims, (std::vector<int64_t>{2, 256}));
    EXPECT_EQ(t.data_type, pb::FLOAT);
    EXPECT_EQ(t.storage, Storage::external);
    EXPECT_EQ(t.payload_field, PayloadField::none);
    EXPECT_EQ(t.external_data, (std::map<std::string, std::string>{
                                   {"location", kLocation},
                                   {"offset", std::to_string(original.payload.begin)},
                                   {"length", "2048"}}));
    EXPECT_EQ(bytes.substr(static_cast<size_t>(original.payload.begin), 2048), raw);
}

TEST(SkeletonStrip, StrippedTensorIsMarkedExternalOnTheWire) {
    const std::string bytes = pb::model_with_initializers({big("w", 1)});
    const std::string skeleton = skeleton_of(bytes).bytes;
    EXPECT_TRUE(contains(skeleton, pb::field_varint(14, 1))) << "data_location = EXTERNAL";
    EXPECT_TRUE(contains(skeleton, entry_field("location", kLocation)));
    EXPECT_TRUE(contains(skeleton, entry_field("length", "2048")));
    EXPECT_FALSE(contains(skeleton, kPayloadFieldKey)) << "raw_data needs no field marker";
    EXPECT_FALSE(contains(skeleton, kPackedKey));
}

TEST(SkeletonStrip, TensorAtThresholdIsKeptByteForByte) {
    const std::string at = pb::raw_float_tensor("at", {256}, pb::filler(1024, 3));
    const std::string above = pb::raw_float_tensor("above", {257}, pb::filler(1028, 4));
    const std::string bytes = pb::model_with_initializers({at, above});

    const SkeletonResult result = skeleton_of(bytes, 1024);
    EXPECT_EQ(result.stripped_tensors, 1u);
    EXPECT_TRUE(contains(result.bytes, pb::field_bytes(5, at)));
    EXPECT_FALSE(contains(result.bytes, pb::filler(1028, 4)));
}

TEST(SkeletonStrip, SmallTensorsNextToStrippedOnesAreKeptByteForByte) {
    const std::string small1 = pb::raw_float_tensor("s1", {2}, pb::filler(8, 5));
    const std::string small2 = pb::raw_float_tensor("s2", {3}, pb::filler(12, 6));
    const std::string bytes = pb::model_with_initializers({small1, big("b1", 7), small2, big("b2", 8)});

    const SkeletonResult result = skeleton_of(bytes);
    EXPECT_EQ(result.stripped_tensors, 2u);
    EXPECT_EQ(result.stripped_bytes, 4096u);
    EXPECT_TRUE(contains(result.bytes, pb::field_bytes(5, small1)));
    EXPECT_TRUE(contains(result.bytes, pb::field_bytes(5, small2)));
    expect_stripped_consistently(bytes, result.bytes, 1024);
}

TEST(SkeletonStrip, AlreadyExternalTensorIsUntouched) {
    pb::Tensor ext;
    ext.name = "ext";
    ext.dims = {1024};
    ext.external_data = {{"location", "weights.bin"}, {"offset", "0"}, {"length", "4096"}};
    ext.data_location = pb::kExternal;
    const std::string ext_bytes = pb::tensor(ext);
    const std::string bytes = pb::model_with_initializers({ext_bytes, big("b", 2)});

    const SkeletonResult result = skeleton_of(bytes);
    EXPECT_EQ(result.stripped_tensors, 1u);
    EXPECT_TRUE(contains(result.bytes, pb::field_bytes(5, ext_bytes)));
    EXPECT_EQ(find_tensor(scan_bytes(result.bytes), "ext").location(), "weights.bin");
}

TEST(SkeletonStrip, StringTensorIsNeverStripped) {
    pb::Tensor spec;
    spec.name = "words";
    spec.data_type = pb::STRING;
    spec.dims = {4};
    spec.string_data = {pb::filler(1000, 1), pb::filler(1000, 2), pb::filler(1000, 3), pb::filler(1000, 4)};
    const std::string bytes = pb::model_with_initializers({pb::tensor(spec)});

    const SkeletonResult result = skeleton_of(bytes, 16);
    EXPECT_EQ(result.stripped_tensors, 0u);
    EXPECT_EQ(result.bytes, bytes);
}

TEST(SkeletonStrip, StripsDecidesOnRawByteSize) {
    SkeletonPolicy policy;
    policy.threshold_bytes = 100;
    policy.model_location = kLocation;
    TensorInfo t;
    t.storage = Storage::inline_data;
    t.data_type = pb::FLOAT;
    t.byte_size = 101;
    EXPECT_TRUE(strips(t, policy));
    t.byte_size = 100;
    EXPECT_FALSE(strips(t, policy));
    t.byte_size = 4000;
    t.storage = Storage::external;
    EXPECT_FALSE(strips(t, policy));
    t.storage = Storage::none;
    EXPECT_FALSE(strips(t, policy));
    t.storage = Storage::inline_data;
    t.data_type = pb::STRING;
    t.byte_size.reset();
    t.payload = {0, 5000};
    EXPECT_FALSE(strips(t, policy));
}

TEST(SkeletonStrip, ModelLocationIsRequired) {
    const std::string bytes = pb::model_with_initializers({big("w", 1)});
    MemorySource source(bytes);
    const TensorIndex index = scan(source);
    SkeletonPolicy policy;
    policy.model_location = "";
    EXPECT_THROW(write_skeleton(source, index, policy), Error);
}

TEST(SkeletonStrip, StaleExternalDataAndDataLocationOfAnInlineTensorAreReplaced) {
    pb::Tensor spec;
    spec.name = "stale";
    spec.dims = {512};
    spec.raw_data = pb::filler(2048, 12);
    spec.external_data = {{"location", "old.bin"}, {"offset", "7"}};
    spec.data_location = 0;  // DEFAULT, written explicitly: the data is inline
    const std::string bytes = pb::model_with_initializers({pb::tensor(spec)});
    ASSERT_EQ(find_tensor(scan_bytes(bytes), "stale").storage, Storage::inline_data);

    const std::string skeleton = skeleton_of(bytes).bytes;
    EXPECT_FALSE(contains(skeleton, "old.bin"));
    EXPECT_FALSE(contains(skeleton, pb::field_varint(14, 0)));
    const TensorInfo t = find_tensor(scan_bytes(skeleton), "stale");
    EXPECT_EQ(t.storage, Storage::external);
    EXPECT_EQ(t.location(), kLocation);
    EXPECT_EQ(t.external_length(), std::optional<uint64_t>(2048));
}

// ---- Payload fields other than raw_data ------------------------------------------------------

TEST(SkeletonField, PackedFloatDataIsMarkedWithItsField) {
    pb::Tensor spec;
    spec.name = "pf";
    spec.dims = {300};
    spec.float_data.assign(300, 0.5f);
    const std::string bytes = pb::model_with_initializers({pb::tensor(spec)});
    const TensorInfo original = find_tensor(scan_bytes(bytes), "pf");

    const SkeletonResult result = skeleton_of(bytes);
    EXPECT_EQ(result.stripped_tensors, 1u);
    EXPECT_EQ(result.stripped_bytes, 1200u);
    const TensorInfo t = find_tensor(scan_bytes(result.bytes), "pf");
    EXPECT_EQ(t.external_data.at(kPayloadFieldKey), "float_data");
    EXPECT_EQ(t.external_data.count(kPackedKey), 0u);
    EXPECT_EQ(t.external_offset(), std::optional<uint64_t>(original.payload.begin));
    EXPECT_EQ(t.external_length(), std::optional<uint64_t>(1200));
    EXPECT_EQ(bytes.substr(static_cast<size_t>(original.payload.begin), 1200), pb::float_bytes(spec.float_data));
}

namespace {

std::string unpacked_float_model() {
    pb::Tensor spec;
    spec.name = "uf";
    spec.dims = {300};
    spec.float_data.assign(300, 0.25f);
    spec.float_packed = false;
    return pb::model_with_initializers({pb::tensor(spec)});
}

std::string int64_model() {
    pb::Tensor spec;
    spec.name = "i64";
    spec.data_type = pb::INT64;
    spec.dims = {200};
    for (int64_t i = 0; i < 200; ++i) spec.int64_data.push_back(i % 100);  // one-byte varints
    return pb::model_with_initializers({pb::tensor(spec)});
}

}  // namespace

TEST(SkeletonField, UnpackedFloatDataIsMarkedUnpackedWithItsField) {
    const std::string bytes = unpacked_float_model();
    const TensorInfo original = find_tensor(scan_bytes(bytes), "uf");
    ASSERT_FALSE(original.packed);
    ASSERT_EQ(original.payload.size(), 1500u);  // 300 x (tag + 4 bytes)

    const SkeletonResult result = skeleton_of(bytes);
    EXPECT_EQ(result.stripped_tensors, 1u);
    EXPECT_FALSE(contains(result.bytes, payload_of(bytes, original)));
    EXPECT_TRUE(contains(result.bytes, entry_field(kPayloadFieldKey, "float_data")));
    EXPECT_TRUE(contains(result.bytes, entry_field(kPackedKey, "0")));
    EXPECT_TRUE(contains(result.bytes, entry_field("offset", std::to_string(original.payload.begin))));
    EXPECT_TRUE(contains(result.bytes, entry_field("length", "1500")));
    EXPECT_TRUE(contains(result.bytes, pb::field_varint(14, 1)));
}

TEST(SkeletonField, PackedInt64DataIsMarkedWithItsField) {
    const std::string bytes = int64_model();
    const TensorInfo original = find_tensor(scan_bytes(bytes), "i64");
    ASSERT_EQ(original.payload.size(), 200u);

    const SkeletonResult result = skeleton_of(bytes);
    EXPECT_EQ(result.stripped_tensors, 1u);  // 200 x INT64 = 1600 bytes in raw form
    EXPECT_TRUE(contains(result.bytes, entry_field(kPayloadFieldKey, "int64_data")));
    EXPECT_FALSE(contains(result.bytes, kPackedKey));
    EXPECT_TRUE(contains(result.bytes, entry_field("offset", std::to_string(original.payload.begin))));
    EXPECT_TRUE(contains(result.bytes, entry_field("length", "200")));
}

// The skeleton must re-scan whatever field the payload was in.
TEST(SkeletonField, StrippedUnpackedFloatDataSkeletonRescans) {
    const SkeletonResult result = skeleton_of(unpacked_float_model());
    ASSERT_EQ(result.stripped_tensors, 1u);
    EXPECT_NO_THROW(scan_bytes(result.bytes));
}

TEST(SkeletonField, StrippedInt64DataSkeletonRescans) {
    const SkeletonResult result = skeleton_of(int64_model());
    ASSERT_EQ(result.stripped_tensors, 1u);
    EXPECT_NO_THROW(scan_bytes(result.bytes));
}

// ---- Everything else is copied through ------------------------------------------------------

TEST(SkeletonCopy, NothingToStripGivesByteIdenticalOutput) {
    pb::Graph body;
    body.name = "body";
    body.initializers = {pb::raw_float_tensor("bw", {4}, pb::filler(16))};
    body.extra = pb::unknown_fields("body");
    pb::Graph g;
    g.name = "main";
    g.nodes = {pb::node({{"c"}, {"o"}, "if", "If", {pb::attr_graph("then_branch", pb::graph(body))}})};
    g.initializers = {pb::raw_float_tensor("w", {2}, pb::filler(8))};
    g.extra = pb::unknown_fields("graph");
    pb::Function fn;
    fn.name = "F";
    fn.domain = "local";
    fn.attribute_protos = {pb::attr_tensor("alpha", pb::raw_float_tensor("fa", {1}, pb::filler(4)))};
    pb::Model m;
    m.graph = pb::graph(g);
    m.functions = {pb::function(fn)};
    m.metadata = {{"author", "tests"}};
    m.extra = pb::unknown_fields("model");
    const std::string bytes = pb::model(m);

    const SkeletonResult result = skeleton_of(bytes);
    EXPECT_EQ(result.stripped_tensors, 0u);
    EXPECT_EQ(result.stripped_bytes, 0u);
    EXPECT_EQ(result.bytes, bytes);
}

TEST(SkeletonCopy, BigTensorsUnderAHighThresholdGiveByteIdenticalOutput) {
    const std::string bytes = pb::model_with_initializers({big("a", 1), big("b", 2)});
    EXPECT_EQ(skeleton_of(bytes, 1 << 20).bytes, bytes);
}

TEST(SkeletonCopy, SkeletonOfASkeletonIsTheSameBytes) {
    pb::Graph g;
    g.name = "main";
    g.nodes = {pb::node({{}, {"k"}, "const", "Constant", {pb::attr_tensor("value", big("ct", 2))}})};
    g.initializers = {big("w", 1), pb::raw_float_tensor("small", {1}, pb::filler(4))};
    const std::string once = skeleton_of(model_of_graph(g)).bytes;
    const SkeletonResult twice = skeleton_of(once);
    EXPECT_EQ(twice.stripped_tensors, 0u);
    EXPECT_EQ(twice.bytes, once);
}

TEST(SkeletonCopy, UnknownFieldsAtEveryLevelAreCopiedByteForByte) {
    pb::Graph g;
    g.name = "main";
    g.nodes = {pb::node({{}, {"c"}, "const", "Constant",
                         {pb::attr_tensor("value", big("ct", 3, pb::unknown_fields("U-stripped-attr-tensor")),
                                          pb::unknown_fields("U-attribute"))},
                         "", pb::unknown_fields("U-node")})};
    g.initializers = {big("w", 1, pb::unknown_fields("U-stripped-tensor")),
                      pb::raw_float_tensor("small", {1}, pb::filler(4), pb::unknown_fields("U-kept-tensor"))};
    g.sparse_initializers = {pb::sparse_tensor(big("sv", 4), pb::raw_float_tensor("si", {2}, pb::filler(8)), {1024},
                                               pb::unknown_fields("U-sparse"))};
    g.extra = pb::unknown_fields("U-graph");
    pb::Function fn;
    fn.name = "F";
    fn.domain = "local";
    fn.attribute_protos = {pb::attr_tensor("alpha", big("fa", 5))};
    fn.extra = pb::unknown_fields("U-function");
    pb::Model m;
    m.graph = pb::graph(g);
    m.functions = {pb::function(fn)};
    m.extra = pb::unknown_fields("U-model");
    const std::string bytes = pb::model(m);

    const SkeletonResult result = skeleton_of(bytes);
    EXPECT_EQ(result.stripped_tensors, 4u);
    for (const char* label : {"U-stripped-attr-tensor", "U-attribute", "U-node", "U-stripped-tensor", "U-kept-tensor",
                              "U-sparse", "U-graph", "U-function", "U-model"}) {
        EXPECT_TRUE(contains(result.bytes, pb::unknown_fields(label))) << label;
    }
    expect_stripped_consistently(bytes, result.bytes, 1024);
}

TEST(SkeletonCopy, OtherTensorFieldsOfAStrippedTensorAreKept) {
    const std::string doc = pb::field_bytes(12, "a doc string");
    const std::string bytes = pb::model_with_initializers({big("w", 1, doc)});
    const std::string skeleton = skeleton_of(bytes).bytes;
    EXPECT_TRUE(contains(skeleton, doc));
    EXPECT_TRUE(contains(skeleton, pb::field_bytes(8, "w")));
    EXPECT_TRUE(contains(skeleton, pb::field_varint(1, 2) + pb::field_varint(1, 256) + pb::field_varint(2, pb::FLOAT)));
}

// ---- Nested containers: lengths re-encoded ---------------------------------------------------

TEST(SkeletonNested, StripsEverywhereAndRescans) {
    pb::Graph body;
    body.name = "loop_body";
    body.initializers = {big("body_w", 1)};
    pb::Graph then_g;
    then_g.name = "then_g";
    then_g.nodes = {pb::node({{"m", "c"}, {"o"}, "loop", "Loop", {pb::attr_graph("body", pb::graph(body))}})};
    then_g.initializers = {big("then_w", 2)};
    pb::Graph main;
    main.name = "main";
    main.nodes = {pb::node({{}, {"k"}, "const", "Constant", {pb::attr_tensor("value", big("const_t", 3))}}),
                  pb::node({{"c"}, {"o"}, "if", "If", {pb::attr_graph("then_branch", pb::graph(then_g))}}),
                  pb::node({{"x"}, {"y"}, "multi", "Custom",
                            {pb::attr_tensors("tables", {big("lt0", 4), pb::raw_float_tensor("lt1", {1}, pb::filler(4))})},
                            "com.example"})};
    main.initializers = {big("main_w", 5)};
    main.sparse_initializers = {pb::sparse_tensor(big("sv", 6), big("si", 7), {4096})};
    pb::Function fn;
    fn.name = "F";
    fn.domain = "local";
    fn.nodes = {pb::node({{}, {"z"}, "fn_const", "Constant", {pb::attr_tensor("value", big("fn_t", 8))}})};
    fn.attribute_protos = {pb::attr_tensor("alpha", big("fn_default", 9))};
    pb::Graph init;
    init.name = "init_g";
    init.initializers = {big("train_w", 10)};
    pb::Model m;
    m.graph = pb::graph(main);
    m.functions = {pb::function(fn)};
    m.training_infos = {pb::training_info(pb::graph(init))};
    const std::string bytes = pb::model(m);

    const SkeletonResult result = skeleton_of(bytes);
    EXPECT_EQ(result.stripped_tensors, 10u);
    EXPECT_EQ(result.stripped_bytes, 10u * 2048u);
    expect_stripped_consistently(bytes, result.bytes, 1024);
    const TensorIndex after = scan_bytes(result.bytes);
    EXPECT_EQ(find_tensor(after, "body_w").depth, 2u);
    EXPECT_EQ(find_tensor(after, "body_w").storage, Storage::external);
    EXPECT_EQ(find_tensor(after, "lt1").storage, Storage::inline_data);
    EXPECT_EQ(after.summary.node_count, scan_bytes(bytes).summary.node_count);
}

TEST(SkeletonNested, EnclosingLengthVarintShrinksFromThreeBytesToOne) {
    pb::Graph g;
    g.name = "g";
    g.initializers = {pb::raw_float_tensor("w", {5000}, pb::filler(20000))};
    pb::Model m;
    m.producer_name = "";
    m.opsets = {};
    m.graph = pb::graph(g);
    const std::string bytes = pb::model(m);
    // ir_version (2 bytes), then the graph field: tag 0x3a and its length.
    ASSERT_EQ(bytes[2], '\x3a');
    ASSERT_EQ(pb::graph(g).size(), bytes.size() - 6) << "graph length takes 3 bytes";

    const SkeletonResult result = skeleton_of(bytes);
    ASSERT_EQ(result.stripped_tensors, 1u);
    ASSERT_EQ(result.bytes[2], '\x3a');
    const auto length = static_cast<unsigned char>(result.bytes[3]);
    EXPECT_LT(length, 128u) << "graph length takes 1 byte";
    EXPECT_EQ(length, result.bytes.size() - 4);
    expect_stripped_consistently(bytes, result.bytes, 1024);
}

TEST(SkeletonNested, NestedLengthsShrinkAcrossSubgraphLevels) {
    pb::Graph body;
    body.name = "b";
    body.initializers = {pb::raw_float_tensor("deep", {5000}, pb::filler(20000, 9))};
    pb::Graph main;
    main.name = "m";
    main.nodes = {pb::node({{}, {}, "", "If", {pb::attr_graph("then_branch", pb::graph(body))}})};
    const std::string bytes = model_of_graph(main);
    ASSERT_GT(bytes.size(), 20000u);

    const SkeletonResult result = skeleton_of(bytes);
    EXPECT_EQ(result.stripped_tensors, 1u);
    EXPECT_LT(result.bytes.size(), 250u);
    expect_stripped_consistently(bytes, result.bytes, 1024);
    EXPECT_EQ(find_tensor(scan_bytes(result.bytes), "deep").depth, 1u);
}

// ---- Reading ---------------------------------------------------------------------------------

TEST(SkeletonReads, StrippedPayloadsAreNotRead) {
    const std::string bytes = pb::model_with_initializers({pb::raw_float_tensor("w", {1 << 20}, pb::filler(4 << 20))});
    pb::RecordingSource source(bytes);
    const TensorIndex index = scan(source);
    const uint64_t after_scan = source.bytes_read();
    SkeletonPolicy policy;
    policy.model_location = kLocation;
    const SkeletonResult result = write_skeleton(source, index, policy);
    EXPECT_EQ(result.stripped_tensors, 1u);
    EXPECT_LT(source.bytes_read() - after_scan, bytes.size() / 16);
}
