// The block tree of the HTML report: where a node's block comes from, and which siblings fold.
#include <gtest/gtest.h>

#include "onnx_weightless/blocks.hpp"
#include "onnx_weightless/scan.hpp"
#include "proto_builder.hpp"

namespace ow = onnx_weightless;
using namespace pb;

namespace {

ow::Block blocks_of(const std::vector<std::string>& nodes, const std::vector<std::string>& initializers) {
    const std::string bytes = model_of(nodes, initializers);
    const ow::GraphView graph = ow::read_graph(bytes);
    return ow::build_blocks(graph, ow::analyze(graph), scan_bytes(bytes), "m");
}

std::string weight(const std::string& name, int64_t n) { return raw_float_tensor(name, {n}, filler(4 * n)); }

}  // namespace

TEST(Blocks, NumberedSiblingsOfOneStructureFoldWithACount) {
    const auto root = blocks_of({node({{"x", "w0"}, {"a"}, "/model/layers.0/proj/Mul", "Mul"}),
                                 node({{"a", "w1"}, {"b"}, "/model/layers.1/proj/Mul", "Mul"}),
                                 node({{"b", "w2"}, {"c"}, "/model/layers.2/proj/Mul", "Mul"}),
                                 node({{"c", "wh"}, {"y"}, "/model/head/Mul", "Mul"})},
                                {weight("w0", 4), weight("w1", 4), weight("w2", 8), weight("wh", 2)});
    EXPECT_EQ(root.nodes, 4u);
    EXPECT_EQ(root.weight_elements, 18u);
    ASSERT_EQ(root.children.size(), 1u);
    const ow::Block& model = root.children[0];
    ASSERT_EQ(model.children.size(), 3u);  // layers.0-1 folded; layers.2 holds other weights; head
    EXPECT_EQ(model.children[0].name, "layers.0 … layers.1");
    EXPECT_EQ(model.children[0].repeat, 2u);
    EXPECT_EQ(model.children[0].weight_elements, 8u);  // both of them
    EXPECT_EQ(model.children[0].children.at(0).weight_elements, 4u);  // one of them
    EXPECT_EQ(model.children[1].name, "layers.2");
    EXPECT_EQ(model.children[2].name, "head");
}

TEST(Blocks, ANodeNamedWithoutHierarchyTakesItsWeightsOrItsInputs) {
    // node_linear reads a Transpose of blk.3.lin.weight; node_relu reads node_linear's output.
    const auto root = blocks_of({node({{"blk.3.lin.weight"}, {"wt"}, "node_t", "Transpose"}),
                                 node({{"x", "wt"}, {"h"}, "node_linear", "MatMul"}),
                                 node({{"h"}, {"y"}, "node_relu", "Relu"})},
                                {weight("blk.3.lin.weight", 4)});
    ASSERT_EQ(root.children.size(), 1u);
    const ow::Block* at = &root.children[0];
    for (const char* name : {"blk", "3", "lin"}) {
        EXPECT_EQ(at->name, name);
        if (std::string(name) != "lin") at = &at->children.at(0);
    }
    EXPECT_EQ(at->nodes, 3u);
    EXPECT_EQ((at->ops), (std::map<std::string, uint64_t>{{"MatMul", 1}, {"Relu", 1}, {"Transpose", 1}}));
}
