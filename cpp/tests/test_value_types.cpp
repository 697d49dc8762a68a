// Declaring untyped values before ONNX shape inference, and removing what it left empty.
#include <gtest/gtest.h>

#include <protozero/pbf_reader.hpp>

#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/value_types.hpp"
#include "proto_builder.hpp"

namespace ow = onnx_weightless;
using namespace pb;

namespace {

std::string value_info(const std::string& name, bool typed) {
    const std::string tensor_type = field_varint(1, FLOAT);
    return field_bytes(1, name) + (typed ? field_bytes(2, field_bytes(1, tensor_type)) : "");
}

/// A graph's value_info and output entries as "name:typed" / "name:empty" / "name:none".
std::vector<std::string> declarations(std::string_view graph_bytes, uint32_t field) {
    std::vector<std::string> found;
    protozero::pbf_reader g(graph_bytes.data(), graph_bytes.size());
    while (g.next(field)) {
        protozero::pbf_reader v(g.get_view());
        std::string name, type = "none";
        while (v.next()) {
            if (v.tag() == 1) name = v.get_string();
            else if (v.tag() == 2) type = v.get_view().empty() ? "empty" : "typed";
            else v.skip();
        }
        found.push_back(name + ":" + type);
    }
    return found;
}

std::string main_graph(const std::string& model_bytes) {
    protozero::pbf_reader m(model_bytes);
    while (m.next(7)) {
        const auto v = m.get_view();
        return std::string(v.data(), v.size());
    }
    return "";
}

std::string model_with(const std::vector<std::string>& nodes, const std::string& extra) {
    Graph g;
    g.nodes = nodes;
    g.extra = extra;
    return pb::model_of(g);
}

const std::string kInputX = field_bytes(11, value_info("x", true));

}  // namespace

TEST(ValueTypes, DeclaresWhatNodesComputeUntypedAndTypesUntypedOutputs) {
    const std::string m = model_with({node({{"x"}, {"a"}, "decode", "Decode", {}, "acme"}), node({{"a", "lost"}, {"b"}, "r", "Relu"})},
                                   kInputX + field_bytes(13, value_info("typed_already", true)) + field_bytes(12, value_info("b", false)));
    const std::string declared = ow::declare_untyped_values(m);
    EXPECT_EQ(declarations(main_graph(declared), 13), (std::vector<std::string>{"typed_already:typed", "a:empty", "lost:empty"}));
    EXPECT_EQ(declarations(main_graph(declared), 12), (std::vector<std::string>{"b:empty"}));
}

TEST(ValueTypes, ASubgraphDeclaresItsOwnValuesNotItsEnclosingGraphs) {
    Graph branch;
    branch.nodes = {node({{"a"}, {"t"}, "inner", "Relu"})};
    const std::string then_branch = field_bytes(1, "then_branch") + field_bytes(6, graph(branch)) + field_varint(20, 5);
    const std::string m = model_with({node({{"x"}, {"a"}, "decode", "Decode", {}, "acme"}), node({{"x"}, {"y"}, "if", "If", {then_branch}})},
                                   kInputX);
    const std::string declared = main_graph(ow::declare_untyped_values(m));
    EXPECT_EQ(declarations(declared, 13), (std::vector<std::string>{"a:empty", "y:empty"}));
    // The If's then_branch: node 1, attribute 0, field g.
    protozero::pbf_reader g(declared.data(), declared.size());
    g.next(1);
    g.skip();
    g.next(1);
    protozero::pbf_reader n(g.get_view());
    n.next(5);
    protozero::pbf_reader a(n.get_view());
    a.next(6);
    const auto branch_view = a.get_view();
    EXPECT_EQ(declarations(std::string_view(branch_view.data(), branch_view.size()), 13), (std::vector<std::string>{"t:empty"}));
}

TEST(ValueTypes, RemovingTheEmptyDeclarationsGivesTheModelBack) {
    Graph branch;
    branch.nodes = {node({{"a"}, {"t"}, "inner", "Relu"})};
    const std::string then_branch = field_bytes(1, "then_branch") + field_bytes(6, graph(branch)) + field_varint(20, 5);
    const std::string m = model_with({node({{"x"}, {"a"}, "decode", "Decode", {}, "acme"}), node({{"x"}, {"y"}, "if", "If", {then_branch}}),
                                    node({{"x"}, {"z"}, "r", "Relu"})},
                                   kInputX + field_bytes(13, value_info("z", true)) + field_bytes(12, value_info("y", false)) +
                                       field_bytes(12, value_info("z", true)));
    const auto removed = ow::remove_empty_types(ow::declare_untyped_values(m));
    ASSERT_TRUE(removed.has_value());
    EXPECT_EQ(*removed, m);
    EXPECT_FALSE(ow::remove_empty_types(m).has_value());
}

TEST(ValueTypes, ANegativeDimensionIsRefusedBeforeInference) {
    const std::string dims = field_bytes(1, field_varint(1, static_cast<uint64_t>(int64_t{-340})));
    const std::string shape_value = field_bytes(1, "shape") + field_bytes(2, field_bytes(1, field_varint(1, 7) + field_bytes(2, dims)));
    const std::string m = model_with({node({{"x"}, {"shape"}, "s", "Shape"})}, kInputX + field_bytes(13, shape_value));
    try {
        ow::declare_untyped_values(m);
        FAIL() << "a negative dimension was accepted";
    } catch (const ow::FormatError& e) {
        EXPECT_STREQ(e.what(), "value 'shape', dimension 0: is negative (-340)");
    }
}
