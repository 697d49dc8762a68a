// The structural check before conversion: each fault is a FormatError naming the node and field.
#include <gtest/gtest.h>

#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/validate.hpp"
#include "proto_builder.hpp"

namespace ow = onnx_weightless;
using namespace pb;

namespace {

/// The FormatError validate_graph raises for the model, or "" when it accepts it.
std::string fault(const std::vector<std::string>& nodes, const std::string& extra = "",
                  std::vector<std::pair<std::string, int64_t>> opsets = {{"", 21}}) {
    Graph g;
    g.nodes = nodes;
    g.extra = extra;
    Model m;
    m.graph = graph(g);
    m.opsets = std::move(opsets);
    try {
        ow::validate_graph(ow::read_graph(model(m)));
    } catch (const ow::FormatError& e) {
        return e.what();
    }
    return "";
}

std::string input_x() {
    const std::string tensor_type = field_varint(1, FLOAT) + field_bytes(2, field_bytes(1, field_varint(1, 4)));
    return field_bytes(11, field_bytes(1, "x") + field_bytes(2, field_bytes(1, tensor_type)));
}

}  // namespace

TEST(Validate, AcceptsAGraphInTopologicalOrder) {
    EXPECT_EQ(fault({node({{"x"}, {"a"}, "r", "Relu"}), node({{"a"}, {"b"}, "s", "Sigmoid"})}, input_x()), "");
}

TEST(Validate, NamesTheNodeReadingAValueNothingProducesOrProducesLater) {
    EXPECT_EQ(fault({node({{"x", "nowhere"}, {"a"}, "add", "Add"})}, input_x()),
              "[validate] node 0 ('add', ai.onnx::Add), input 1: 'nowhere' is produced by no graph input, initializer, "
              "earlier node or enclosing graph");
    EXPECT_EQ(fault({node({{"a"}, {"b"}, "s", "Sigmoid"}), node({{"x"}, {"a"}, "r", "Relu"})}, input_x()),
              "[validate] node 0 ('s', ai.onnx::Sigmoid), input 0: value 'a' is read before node 'r' (Relu) produces it: "
              "an ONNX graph lists its nodes in topological order");
}

TEST(Validate, ASubgraphReadsWhatItsEnclosingGraphProducedBeforeIt) {
    Graph branch;
    branch.nodes = {node({{"a"}, {"t"}, "inner", "Relu"})};
    const std::string then_branch = field_bytes(1, "then_branch") + field_bytes(6, graph(branch)) + field_varint(20, 5);
    EXPECT_EQ(fault({node({{"x"}, {"a"}, "r", "Relu"}), node({{"x"}, {"y"}, "if", "If", {then_branch}})}, input_x()), "");
    EXPECT_NE(fault({node({{"x"}, {"y"}, "if", "If", {then_branch}}), node({{"x"}, {"a"}, "r", "Relu"})}, input_x())
                  .find("node 0 ('if', ai.onnx::If), attribute 'then_branch': node 0 ('inner', ai.onnx::Relu), input 0"),
              std::string::npos);
}

TEST(Validate, NamesOpTypesAndDomainsMustBeUtf8) {
    EXPECT_EQ(fault({node({{"x"}, {"a"}, "\xff\xfe", "Relu"})}, input_x()),
              "[validate] node 0 ('(not UTF-8)', ai.onnx::Relu), name: is not valid UTF-8");
    EXPECT_NE(fault({node({{"x"}, {"a"}, "r", "Re\xc0\xafu"})}, input_x()).find("op_type: is not valid UTF-8"), std::string::npos);
    EXPECT_TRUE(ow::valid_utf8("\xe2\x80\xa6 \xf0\x9f\x98\x80"));
    EXPECT_FALSE(ow::valid_utf8("\xed\xa0\x80"));  // a surrogate
}

TEST(Validate, AnAttributeHoldsItsValueInTheFieldItsTypeNames) {
    const std::string float_in_int = field_bytes(1, "axis") + field_fixed32(2, 0x3f800000) + field_varint(20, 2);
    EXPECT_EQ(fault({node({{"x"}, {"a"}, "sm", "Softmax", {float_in_int}})}, input_x()),
              "[validate] node 0 ('sm', ai.onnx::Softmax), attribute 'axis': of type 2 holds a value in another field");
    const std::string empty_int = field_bytes(1, "axis") + field_varint(20, 2);
    EXPECT_NE(fault({node({{"x"}, {"a"}, "sm", "Softmax", {empty_int}})}, input_x()).find("holds no value"), std::string::npos);
    const std::string empty_ints = field_bytes(1, "perm") + field_varint(20, 7);  // an empty list is a list
    EXPECT_EQ(fault({node({{"x"}, {"a"}, "t", "Transpose", {empty_ints}})}, input_x()), "");
}

TEST(Validate, NoDimensionIsNegative) {
    const std::string dims = field_bytes(1, field_varint(1, static_cast<uint64_t>(int64_t{-3})));
    const std::string tensor_type = field_varint(1, FLOAT) + field_bytes(2, dims);
    const std::string input = field_bytes(11, field_bytes(1, "x") + field_bytes(2, field_bytes(1, tensor_type)));
    EXPECT_EQ(fault({node({{"x"}, {"a"}, "r", "Relu"})}, input), "[validate] value 'x', dimension 0: is negative");
}

TEST(Validate, StringAttributesAreUtf8) {
    const std::string mode = field_bytes(1, "mode") + field_bytes(4, "con\xc5stant") + field_varint(20, 3);
    EXPECT_EQ(fault({node({{"x"}, {"a"}, "pad", "Pad", {mode}})}, input_x()),
              "[validate] node 0 ('pad', ai.onnx::Pad), attribute 'mode': is not valid UTF-8");
    const std::string keys = field_bytes(1, "keys_strings") + field_bytes(9, "a") + field_bytes(9, "\xff") + field_varint(20, 8);
    EXPECT_EQ(fault({node({{"x"}, {"a"}, "le", "LabelEncoder", {keys}})}, input_x()),
              "[validate] node 0 ('le', ai.onnx::LabelEncoder), attribute 'keys_strings', string 1: is not valid UTF-8");
}

TEST(Validate, OpsetVersionsAreOnesOnnxCanLookUp) {
    const std::vector<std::string> relu = {node({{"x"}, {"a"}, "r", "Relu"})};
    EXPECT_EQ(fault(relu, input_x(), {{"", int64_t{1} << 62}}),
              "[validate] opset_import 'ai.onnx', version: 4611686018427387904 is out of range (0 to 2147483647)");
    EXPECT_NE(fault(relu, input_x(), {{"", 21}, {"com.\xff", 1}}).find("opset_import '(not UTF-8)', domain: is not valid UTF-8"),
              std::string::npos);
    EXPECT_EQ(fault(relu, input_x(), {{"", 21}, {"ai.onnx.ml", 5}}), "");
}
