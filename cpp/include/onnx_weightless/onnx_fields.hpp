// Field numbers of the ONNX messages the library walks, as declared in onnx/onnx.proto
// (onnx 1.23). Only fields that hold or lead to tensors, and those the summary and the graph view
// read, are named; every other field is skipped by the scan and copied through by the skeleton writer.
#pragma once

#include <cstdint>

namespace onnx_weightless::fields {

enum class Model : uint32_t {
    ir_version = 1,
    producer_name = 2,
    producer_version = 3,
    domain = 4,
    model_version = 5,
    doc_string = 6,
    graph = 7,
    opset_import = 8,
    metadata_props = 14,
    training_info = 20,
    functions = 25,
};

enum class OperatorSetId : uint32_t { domain = 1, version = 2 };

enum class TrainingInfo : uint32_t { initialization = 1, algorithm = 2 };

enum class Graph : uint32_t {
    node = 1,
    name = 2,
    initializer = 5,
    doc_string = 10,
    input = 11,
    output = 12,
    value_info = 13,
    sparse_initializer = 15,
};

enum class Node : uint32_t {
    input = 1,
    output = 2,
    name = 3,
    op_type = 4,
    attribute = 5,
    doc_string = 6,
    domain = 7,
};

enum class Attribute : uint32_t {
    name = 1,
    f = 2,
    i = 3,
    s = 4,
    t = 5,
    g = 6,
    floats = 7,
    ints = 8,
    strings = 9,
    tensors = 10,
    graphs = 11,
    tp = 14,
    type_protos = 15,
    type = 20,
    ref_attr_name = 21,
    sparse_tensor = 22,
    sparse_tensors = 23,
};

enum class ValueInfo : uint32_t { name = 1, type = 2 };

enum class Type : uint32_t {
    tensor_type = 1,
    sequence_type = 4,
    map_type = 5,
    denotation = 6,
    opaque_type = 7,
    sparse_tensor_type = 8,
    optional_type = 9,
};

enum class TensorType : uint32_t { elem_type = 1, shape = 2 };

enum class TensorShape : uint32_t { dim = 1 };

enum class Dimension : uint32_t { dim_value = 1, dim_param = 2 };

enum class Function : uint32_t {
    name = 1,
    node = 7,
    domain = 10,
    attribute_proto = 11,
};

enum class SparseTensor : uint32_t { values = 1, indices = 2, dims = 3 };

enum class Tensor : uint32_t {
    dims = 1,
    data_type = 2,
    segment = 3,
    float_data = 4,
    int32_data = 5,
    string_data = 6,
    int64_data = 7,
    name = 8,
    raw_data = 9,
    double_data = 10,
    uint64_data = 11,
    doc_string = 12,
    external_data = 13,
    data_location = 14,
};

enum class StringStringEntry : uint32_t { key = 1, value = 2 };

/// TensorProto.DataLocation
enum class DataLocation : int32_t { default_location = 0, external = 1 };

constexpr uint32_t number(Model f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(OperatorSetId f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(TrainingInfo f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(Graph f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(Node f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(Attribute f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(ValueInfo f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(Type f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(TensorType f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(TensorShape f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(Dimension f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(Function f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(SparseTensor f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(Tensor f) { return static_cast<uint32_t>(f); }
constexpr uint32_t number(StringStringEntry f) { return static_cast<uint32_t>(f); }

}  // namespace onnx_weightless::fields
