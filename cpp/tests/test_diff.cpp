// The structure diff on crafted models: how nodes are aligned (by name, by name scope, by op type
// in order), and what each kind of change reports.
#include <gtest/gtest.h>

#include "onnx_weightless/diff.hpp"
#include "onnx_weightless/scan.hpp"
#include "proto_builder.hpp"

namespace ow = onnx_weightless;
using namespace pb;

namespace {

struct Side {
    ow::TensorIndex index;
    ow::GraphView graph;
    ow::Analysis analysis;
};

Side side(const std::vector<std::string>& nodes, const std::vector<std::string>& initializers = {}) {
    const std::string bytes = model_of(nodes, initializers);
    Side s{scan_bytes(bytes), ow::read_graph(bytes), {}};
    s.analysis = ow::analyze(s.graph);
    return s;
}

ow::StructureDiff compare(const Side& a, const Side& b) {
    return ow::diff({a.index, a.graph, a.analysis}, {b.index, b.graph, b.analysis});
}

}  // namespace

TEST(Diff, NodesAlignByNameThenScopeThenOpType) {
    const Side a = side({node({{"x"}, {"a"}, "/layer/proj/MatMul", "MatMul"}), node({{"a"}, {"b"}, "relu", "Relu"}),
                         node({{"b"}, {"c"}, "", "Tanh"})});
    const Side b = side({node({{"x"}, {"a"}, "/layer/proj/MatMul_Q4", "MatMulNBits", {attr_int("bits", 4)}, "com.microsoft"}),
                         node({{"a"}, {"b"}, "relu", "Relu"}), node({{"b"}, {"c"}, "", "Tanh"})});
    const auto d = compare(a, b);
    EXPECT_EQ(d.matched_by_name, 1u);
    EXPECT_EQ(d.matched_by_scope, 1u);
    EXPECT_EQ(d.matched_by_structure, 1u);
    ASSERT_EQ(d.nodes_changed.size(), 1u);
    const auto& n = d.nodes_changed[0];
    EXPECT_EQ(n.op_before, "MatMul");
    EXPECT_EQ(n.op_after, "com.microsoft::MatMulNBits");
    ASSERT_EQ(n.attributes.size(), 1u);
    EXPECT_EQ(n.attributes[0].name, "bits");
    EXPECT_EQ(n.attributes[0].before, "");
    EXPECT_EQ(n.attributes[0].after, "4");
    EXPECT_TRUE(d.nodes_added.empty() && d.nodes_removed.empty());
    ASSERT_EQ(d.ops.size(), 2u);
    EXPECT_EQ(d.ops[0].name, "MatMul");
    EXPECT_EQ(d.ops[0].before, 1);
    EXPECT_EQ(d.ops[0].after, 0);
    EXPECT_FALSE(d.identical());
}

TEST(Diff, UnalignedNodesAreAddedOrRemovedAndTensorsByName) {
    const Side a = side({node({{"x"}, {"y"}, "gone", "Relu"})}, {raw_float_tensor("w", {2}, filler(8)), raw_float_tensor("v", {4}, filler(16))});
    Tensor halves;
    halves.name = "w";
    halves.data_type = 10;  // FLOAT16
    halves.dims = {2};
    halves.raw_data = filler(4);
    const Side b = side({node({{"x"}, {"y"}, "new", "Sigmoid"})}, {tensor(halves), raw_float_tensor("u", {1}, filler(4))});
    const auto d = compare(a, b);
    EXPECT_EQ(d.nodes_removed, std::vector<std::string>{"gone"});
    EXPECT_EQ(d.nodes_added, std::vector<std::string>{"new"});
    ASSERT_EQ(d.tensors.size(), 3u);
    EXPECT_EQ(d.tensors[0].name, "v");
    EXPECT_EQ(d.tensors[0].kind, ow::TensorChange::Kind::removed);
    EXPECT_EQ(d.tensors[1].name, "w");
    EXPECT_EQ(d.tensors[1].kind, ow::TensorChange::Kind::retyped);
    EXPECT_EQ(d.tensors[1].bytes_before, 8u);
    EXPECT_EQ(d.tensors[1].bytes_after, 4u);
    EXPECT_EQ(d.tensors[2].name, "u");
    EXPECT_EQ(d.tensors[2].kind, ow::TensorChange::Kind::added);
}

TEST(Diff, AModelIsIdenticalToItself) {
    const Side a = side({node({{"x"}, {"y"}, "relu", "Relu"})}, {raw_float_tensor("w", {2}, filler(8))});
    const auto d = compare(a, a);
    EXPECT_TRUE(d.identical());
    EXPECT_EQ(d.matched_by_name, 1u);
}
