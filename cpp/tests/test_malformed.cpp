// Malformed input: the scan throws FormatError (LimitError for what is well formed but too big or
// too deep) with a message saying what and where; it never crashes or throws anything else.
#include <gtest/gtest.h>

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <typeinfo>

#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/scan.hpp"
#include "proto_builder.hpp"

using namespace onnx_weightless;

namespace {

std::string type_name(const std::type_info& type) {
    int status = 0;
    const std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                      std::free);
    return status == 0 && name ? name.get() : type.name();
}

/// The error scanning `bytes` throws, if it is an E; records a test failure otherwise.
template <class E>
std::optional<E> scan_error(const std::string& bytes, const ScanOptions& options = {}) {
    pb::RecordingSource source(bytes);
    try {
        scan(source, options);
    } catch (const E& e) {
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected " << type_name(typeid(E)) << ", got " << type_name(typeid(e)) << ": " << e.what();
        return std::nullopt;
    }
    ADD_FAILURE() << "expected " << type_name(typeid(E)) << ", but the scan succeeded";
    return std::nullopt;
}

bool mentions(const std::exception& e, const std::string& text) {
    return std::string(e.what()).find(text) != std::string::npos;
}

std::string model_with_tensor(const pb::Tensor& t) { return pb::model_with_initializers({pb::tensor(t)}); }

pb::Tensor float_tensor(const std::string& name, std::vector<int64_t> dims) {
    pb::Tensor t;
    t.name = name;
    t.dims = std::move(dims);
    return t;
}

pb::Tensor external_tensor(const std::string& name, std::vector<std::pair<std::string, std::string>> entries) {
    pb::Tensor t = float_tensor(name, {4});
    t.external_data = std::move(entries);
    t.data_location = pb::kExternal;
    return t;
}

/// A small model touching every container kind, as its list of top-level fields.
std::vector<std::string> small_model_fields() {
    pb::Tensor idx;
    idx.name = "si";
    idx.data_type = pb::INT64;
    idx.dims = {2};
    idx.int64_data = {0, 3};
    pb::Graph sub;
    sub.name = "sub";
    sub.initializers = {pb::raw_float_tensor("sub_w", {1}, pb::filler(4))};
    pb::Graph g;
    g.name = "main";
    g.nodes = {pb::node({{}, {"c"}, "k", "Constant", {pb::attr_tensor("value", pb::raw_float_tensor("c", {2}, pb::filler(8)))}}),
               pb::node({{"c"}, {"o"}, "if", "If", {pb::attr_graph("then_branch", pb::graph(sub))}})};
    g.initializers = {pb::raw_float_tensor("w", {3}, pb::filler(12)),
                      pb::tensor(external_tensor("e", {{"location", "w.bin"}, {"offset", "0"}, {"length", "16"}}))};
    g.sparse_initializers = {pb::sparse_tensor(pb::raw_float_tensor("sv", {2}, pb::filler(8)), pb::tensor(idx), {4})};
    pb::Function fn;
    fn.name = "F";
    fn.domain = "local";
    fn.attribute_protos = {pb::attr_tensor("alpha", pb::raw_float_tensor("fa", {1}, pb::filler(4)))};
    pb::Graph init;
    init.name = "init";
    init.initializers = {pb::raw_float_tensor("tw", {1}, pb::filler(4))};
    pb::Model m;
    m.graph = pb::graph(g);
    m.opsets = {{"", 21}, {"local", 1}};
    m.metadata = {{"k", "v"}};
    m.functions = {pb::function(fn)};
    m.training_infos = {pb::training_info(pb::graph(init))};
    m.extra = pb::unknown_fields("tail");  // ends with an unknown field: one more boundary below
    std::vector<std::string> fields = pb::model_fields(m);
    fields.pop_back();
    fields.push_back(pb::field_varint(999, 4242));
    fields.push_back(pb::field_bytes(1000, "tail"));
    return fields;
}

/// `depth` If nodes, each holding the next level's graph as then_branch.
std::string nested_ifs(int depth) {
    std::string g = pb::graph({{}, "leaf", {pb::raw_float_tensor("leaf_w", {1}, pb::filler(4))}, {}, ""});
    for (int i = 0; i < depth; ++i) {
        g = pb::graph({{pb::node({{"c"}, {"o"}, "", "If", {pb::attr_graph("then_branch", g)}})}, "g" + std::to_string(i), {}, {}, ""});
    }
    pb::Model m;
    m.graph = g;
    return pb::model(m);
}

}  // namespace

// ---- Truncation -----------------------------------------------------------------------------

TEST(MalformedTruncation, EveryPrefixScansOnlyAtTopLevelFieldBoundariesElseFormatError) {
    const std::vector<std::string> fields = small_model_fields();
    std::string bytes;
    std::set<size_t> boundaries{0};
    for (const std::string& f : fields) {
        bytes += f;
        boundaries.insert(bytes.size());
    }
    ASSERT_EQ(pb::scan_bytes(bytes).tensors.size(), 8u);

    for (size_t length = 0; length <= bytes.size(); ++length) {
        const std::string prefix = bytes.substr(0, length);
        pb::RecordingSource source(prefix);
        const bool complete = boundaries.count(length) != 0;
        try {
            scan(source);
            EXPECT_TRUE(complete) << "prefix of " << length << " bytes scanned, but it ends inside a field";
        } catch (const FormatError& e) {
            EXPECT_FALSE(complete) << "prefix of " << length << " bytes is a complete model: " << e.what();
            EXPECT_LE(e.offset(), length) << e.what();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "prefix of " << length << " bytes: " << type_name(typeid(e)) << ": " << e.what();
        }
    }
}

TEST(MalformedTruncation, TruncatedVarintIsFormatError) {
    const auto e = scan_error<FormatError>("\x08\x80");
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "truncated")) << e->what();
}

TEST(MalformedTruncation, TruncatedFixedWidthValueIsFormatError) {
    const auto e = scan_error<FormatError>(pb::tag(50, 5) + "ab");
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "truncated")) << e->what();
}

// ---- Wire types -----------------------------------------------------------------------------

TEST(MalformedWireType, GraphAsVarintNamesTheField) {
    const auto e = scan_error<FormatError>(pb::field_varint(7, 5));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "graph")) << e->what();
    EXPECT_TRUE(mentions(*e, "varint")) << e->what();
    EXPECT_EQ(e->offset(), 0u);
}

TEST(MalformedWireType, DataTypeAsLengthDelimitedNamesTheField) {
    pb::Tensor t = float_tensor("w", {1});
    t.data_type.reset();
    t.extra = pb::field_bytes(2, "x");
    const auto e = scan_error<FormatError>(model_with_tensor(t));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "data_type")) << e->what();
}

TEST(MalformedWireType, RawDataAsFixed32NamesTheField) {
    pb::Tensor t = float_tensor("w", {1});
    t.extra = pb::field_fixed32(9, 0);
    const auto e = scan_error<FormatError>(model_with_tensor(t));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "raw_data")) << e->what();
}

TEST(MalformedWireType, DimsAsFixed64NamesTheField) {
    pb::Tensor t = float_tensor("w", {});
    t.extra = pb::field_fixed64(1, 3);
    const auto e = scan_error<FormatError>(model_with_tensor(t));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "dims")) << e->what();
}

TEST(MalformedWireType, NodeAsFixed32NamesTheField) {
    pb::Graph g;
    g.extra = pb::field_fixed32(1, 7);
    pb::Model m;
    m.graph = pb::graph(g);
    const auto e = scan_error<FormatError>(pb::model(m));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "GraphProto.node")) << e->what();
}

TEST(MalformedWireType, InvalidWireTypesAreFormatErrors) {
    for (const uint32_t wire_type : {3u, 4u, 6u, 7u}) {
        SCOPED_TRACE("wire type " + std::to_string(wire_type));
        const auto top = scan_error<FormatError>(pb::field_varint(1, 10) + pb::tag(1000, wire_type) + "\x01\x02");
        ASSERT_TRUE(top);
        EXPECT_TRUE(mentions(*top, "wire type " + std::to_string(wire_type))) << top->what();
        EXPECT_EQ(top->offset(), 2u);

        pb::Tensor t = float_tensor("w", {1});
        t.extra = pb::tag(1000, wire_type) + "\x01\x02";
        EXPECT_TRUE(scan_error<FormatError>(model_with_tensor(t)));

        // Inside the messages decoded whole: OperatorSetIdProto and external_data entries.
        pb::Model m;
        m.opsets = {};
        m.extra = pb::field_bytes(8, pb::tag(1000, wire_type) + "\x01\x02");
        EXPECT_TRUE(scan_error<FormatError>(pb::model(m)));
        pb::Tensor ext = external_tensor("e", {{"location", "w.bin"}});
        ext.extra = pb::field_bytes(13, pb::string_entry("k", "v", pb::tag(1000, wire_type) + "\x01\x02"));
        EXPECT_TRUE(scan_error<FormatError>(model_with_tensor(ext)));
    }
}

TEST(MalformedWireType, FieldNumberZeroIsFormatError) {
    const auto e = scan_error<FormatError>(std::string("\x00\x01", 2));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "field number 0")) << e->what();
}

// ---- Lengths and varints --------------------------------------------------------------------

TEST(MalformedLength, LengthPastTheEndOfTheFileReportsTheLengthOffset) {
    const auto e = scan_error<FormatError>(pb::tag(7, 2) + pb::varint(100) + "abc");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->offset(), 1u);
    EXPECT_TRUE(mentions(*e, "offset 1")) << e->what();
    EXPECT_TRUE(mentions(*e, "runs past")) << e->what();
}

TEST(MalformedLength, LengthPastTheEnclosingMessageReportsItsFileOffset) {
    // graph = [initializer tag, length 50, 3 bytes]; the file goes on after the graph.
    const std::string graph = pb::tag(5, 2) + pb::varint(50) + "xyz";
    const std::string bytes = pb::field_bytes(7, graph) + pb::field_bytes(1000, std::string(100, 'p'));
    const auto e = scan_error<FormatError>(bytes);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->offset(), 3u);  // tag 0x3a, graph length, initializer tag, then its length
    EXPECT_TRUE(mentions(*e, "GraphProto")) << e->what();
}

TEST(MalformedLength, OverlongVarintIsFormatError) {
    const std::string eleven(11, '\xff');
    const auto value = scan_error<FormatError>(pb::tag(1, 0) + eleven);
    ASSERT_TRUE(value);
    EXPECT_TRUE(mentions(*value, "varint")) << value->what();
    EXPECT_EQ(value->offset(), 1u);

    EXPECT_TRUE(scan_error<FormatError>(eleven));                             // as a tag
    EXPECT_TRUE(scan_error<FormatError>(pb::tag(7, 2) + eleven + "abcdef"));  // as a length
}

// ---- Dims and sizes -------------------------------------------------------------------------

TEST(MalformedDims, NegativeDimIsFormatError) {
    const auto e = scan_error<FormatError>(model_with_tensor(float_tensor("neg", {2, -3})));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "negative")) << e->what();
    EXPECT_TRUE(mentions(*e, "-3")) << e->what();
}

TEST(MalformedDims, NegativePackedDimIsFormatError) {
    pb::Tensor t = float_tensor("neg", {-1});
    t.packed_dims = true;
    EXPECT_TRUE(scan_error<FormatError>(model_with_tensor(t)));
}

TEST(MalformedDims, ElementCountOverflowingInt64IsLimitError) {
    const auto e = scan_error<LimitError>(model_with_tensor(float_tensor("huge", {int64_t{1} << 32, int64_t{1} << 32})));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "huge")) << e->what();
    EXPECT_TRUE(mentions(*e, "overflow")) << e->what();
}

TEST(MalformedDims, ByteSizeOverflowingInt64IsLimitError) {
    // 2^61 FLOATs: the element count fits in int64, the 2^63 bytes do not.
    const auto e = scan_error<LimitError>(model_with_tensor(float_tensor("big", {int64_t{1} << 61})));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "big")) << e->what();
}

TEST(MalformedDims, ByteSizeOverflowingUint64IsLimitError) {
    // 2^62 FLOATs: the element count fits in int64, the 2^64 bytes do not even fit in uint64.
    const auto e = scan_error<LimitError>(model_with_tensor(float_tensor("bigger", {int64_t{1} << 62})));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "bigger")) << e->what();
}

TEST(MalformedPayload, RawDataSizeNotMatchingDimsNamesTheTensor) {
    const auto e = scan_error<FormatError>(pb::model_with_initializers({pb::raw_float_tensor("bad_w", {3}, pb::filler(8))}));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "'bad_w'")) << e->what();
    EXPECT_TRUE(mentions(*e, "raw_data")) << e->what();
    EXPECT_TRUE(mentions(*e, "12")) << e->what();
}

TEST(MalformedPayload, PackedFloatDataCountNotMatchingDimsNamesTheTensor) {
    pb::Tensor t = float_tensor("bad_f", {3});
    t.float_data = {1.0f, 2.0f};
    const auto e = scan_error<FormatError>(model_with_tensor(t));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "'bad_f'")) << e->what();
}

TEST(MalformedPayload, RawDataAndFloatDataTogetherIsFormatError) {
    pb::Tensor t = float_tensor("both", {1});
    t.float_data = {1.0f};
    t.raw_data = pb::filler(4);
    const auto e = scan_error<FormatError>(model_with_tensor(t));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "'both'")) << e->what();
    EXPECT_TRUE(mentions(*e, "raw_data")) << e->what();
    EXPECT_TRUE(mentions(*e, "float_data")) << e->what();
}

// Serializers write name (field 8) after float_data (4), int32_data (5) and int64_data (7): the
// error must still say which tensor it is about.
TEST(MalformedPayload, TwoNumericPayloadFieldsErrorNamesTheTensor) {
    pb::Tensor t = float_tensor("two_fields", {1});
    t.float_data = {1.0f};
    t.int64_data = {1};
    const auto e = scan_error<FormatError>(model_with_tensor(t));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "float_data")) << e->what();
    EXPECT_TRUE(mentions(*e, "int64_data")) << e->what();
    EXPECT_TRUE(mentions(*e, "'two_fields'")) << e->what();
}

TEST(MalformedPayload, RawDataTwiceIsFormatError) {
    pb::Tensor t = float_tensor("twice", {1});
    t.raw_data = pb::filler(4);
    t.extra = pb::field_bytes(9, pb::filler(4));
    const auto e = scan_error<FormatError>(model_with_tensor(t));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "'twice'")) << e->what();
}

// ---- data_type --------------------------------------------------------------------------------

TEST(MalformedDataType, UnknownDataTypeIsFormatError) {
    pb::Tensor t = float_tensor("odd", {1});
    t.data_type = 99;
    const auto e = scan_error<FormatError>(model_with_tensor(t));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "'odd'")) << e->what();
    EXPECT_TRUE(mentions(*e, "99")) << e->what();
}

TEST(MalformedDataType, MissingDataTypeIsFormatError) {
    pb::Tensor t = float_tensor("untyped", {1});
    t.data_type.reset();
    const auto e = scan_error<FormatError>(model_with_tensor(t));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "'untyped'")) << e->what();
    EXPECT_TRUE(mentions(*e, "data_type")) << e->what();
}

TEST(MalformedDataType, UndefinedDataTypeIsFormatError) {
    pb::Tensor t = float_tensor("undef", {1});
    t.data_type = 0;
    EXPECT_TRUE(scan_error<FormatError>(model_with_tensor(t)));
}

// ---- External data ----------------------------------------------------------------------------

TEST(MalformedExternal, ExternalWithoutLocationIsFormatError) {
    const auto e = scan_error<FormatError>(model_with_tensor(external_tensor("noloc", {{"offset", "0"}})));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "'noloc'")) << e->what();
    EXPECT_TRUE(mentions(*e, "location")) << e->what();
}

TEST(MalformedExternal, ExternalWithInlineRawDataIsFormatError) {
    pb::Tensor t = external_tensor("mixed", {{"location", "w.bin"}});
    t.raw_data = pb::filler(16);
    const auto e = scan_error<FormatError>(model_with_tensor(t));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "'mixed'")) << e->what();
    EXPECT_TRUE(mentions(*e, "raw_data")) << e->what();
}

TEST(MalformedExternal, NonNumericOrNegativeOffsetIsFormatError) {
    for (const char* offset : {"abc", "-1", "", "+4", " 4", "0x10", "99999999999999999999999"}) {
        SCOPED_TRACE(std::string("offset '") + offset + "'");
        const auto e = scan_error<FormatError>(
            model_with_tensor(external_tensor("badoff", {{"location", "w.bin"}, {"offset", offset}})));
        ASSERT_TRUE(e);
        EXPECT_TRUE(mentions(*e, "'badoff'")) << e->what();
        EXPECT_TRUE(mentions(*e, "offset")) << e->what();
    }
}

TEST(MalformedExternal, NonNumericLengthIsFormatError) {
    const auto e = scan_error<FormatError>(
        model_with_tensor(external_tensor("badlen", {{"location", "w.bin"}, {"length", "abc"}})));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "length")) << e->what();
}

TEST(MalformedExternal, LengthNotMatchingDimsIsFormatError) {
    const auto e = scan_error<FormatError>(
        model_with_tensor(external_tensor("short", {{"location", "w.bin"}, {"length", "15"}})));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "'short'")) << e->what();
    EXPECT_TRUE(mentions(*e, "16")) << e->what();
}

TEST(MalformedExternal, UnknownDataLocationIsFormatError) {
    pb::Tensor t = float_tensor("where", {1});
    t.raw_data = pb::filler(4);
    t.data_location = 2;
    const auto e = scan_error<FormatError>(model_with_tensor(t));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "data_location")) << e->what();
}

// ---- Nesting ----------------------------------------------------------------------------------

TEST(MalformedNesting, SeventyNestedIfsIsLimitError) {
    const auto e = scan_error<LimitError>(nested_ifs(70));
    ASSERT_TRUE(e);
    EXPECT_TRUE(mentions(*e, "64")) << e->what();
}

TEST(MalformedNesting, NestingUpToMaxDepthIsAccepted) {
    ScanOptions options;
    options.max_depth = 5;
    const std::string ok = nested_ifs(5);
    pb::RecordingSource at_limit(ok);
    const TensorIndex index = scan(at_limit, options);
    EXPECT_EQ(index.summary.max_depth, 5u);
    EXPECT_EQ(index.tensors.at(0).depth, 5u);
    EXPECT_TRUE(scan_error<LimitError>(nested_ifs(6), options));
}

TEST(MalformedNesting, DefaultMaxDepthAcceptsSixtyFourLevels) {
    EXPECT_EQ(pb::scan_bytes(nested_ifs(64)).summary.max_depth, 64u);
    EXPECT_TRUE(scan_error<LimitError>(nested_ifs(65)));
}
