#include "onnx_weightless/graph.hpp"

#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>

#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/onnx_fields.hpp"

namespace onnx_weightless {
namespace {

// Field numbers of the messages only the graph view reads (onnx/onnx.proto).
namespace field {
constexpr uint32_t kModelGraph = 7, kModelOpsetImport = 8;
constexpr uint32_t kOpsetDomain = 1, kOpsetVersion = 2;
constexpr uint32_t kGraphNode = 1, kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12, kGraphValueInfo = 13;
constexpr uint32_t kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5, kNodeDomain = 7;
constexpr uint32_t kAttributeName = 1, kAttributeF = 2, kAttributeI = 3, kAttributeS = 4, kAttributeInts = 8;
constexpr uint32_t kValueInfoName = 1, kValueInfoType = 2;
constexpr uint32_t kTypeTensor = 1;
constexpr uint32_t kTensorTypeElemType = 1, kTensorTypeShape = 2;
constexpr uint32_t kShapeDim = 1;
constexpr uint32_t kDimValue = 1, kDimParam = 2;
constexpr uint32_t kTensorDims = 1, kTensorDataType = 2, kTensorName = 8;
}  // namespace field

constexpr size_t kMaxRank = 4096;
constexpr uint32_t kTypeDenotation = 6;  // TypeProto.denotation: a note, not a type

using Reader = protozero::pbf_reader;

bool is_bytes(const Reader& r) { return r.wire_type() == protozero::pbf_wire_type::length_delimited; }
// Integer fields are read only as varints: a fixed32/fixed64 value under an integer field number is
// skipped whole, as protobuf skips a field of unexpected wire type, instead of being decoded as a
// varint (which would read into the bytes after it and lose the field boundaries).
bool is_varint(const Reader& r) { return r.wire_type() == protozero::pbf_wire_type::varint; }

void expect_bytes(const Reader& r, const char* what) {
    if (!is_bytes(r)) throw FormatError(std::string(what) + " has the wrong wire type (expected length-delimited)", 0);
}

std::string text(Reader& r, const char* what) {
    expect_bytes(r, what);
    return r.get_string();
}

Reader message(Reader& r, const char* what) {
    expect_bytes(r, what);
    return r.get_message();
}

void read_ints(Reader& r, std::vector<int64_t>& out) {
    if (is_bytes(r)) {
        for (int64_t v : r.get_packed_int64()) {
            out.push_back(v);
            if (out.size() > kMaxRank) throw LimitError("an int list has more than 4096 entries", 0);
        }
    } else if (is_varint(r)) {
        out.push_back(r.get_int64());
    } else {
        r.skip();
    }
}

OpsetImport read_opset(Reader r) {
    OpsetImport opset;
    while (r.next()) {
        if (r.tag() == field::kOpsetDomain && is_bytes(r)) opset.domain = r.get_string();
        else if (r.tag() == field::kOpsetVersion && is_varint(r)) opset.version = r.get_int64();
        else r.skip();
    }
    return opset;
}

std::pair<std::string, AttributeValue> read_attribute(Reader r) {
    std::string name;
    AttributeValue value;
    while (r.next()) {
        switch (r.tag()) {
            case field::kAttributeName: name = text(r, "AttributeProto.name"); break;
            case field::kAttributeF:
                if (r.wire_type() == protozero::pbf_wire_type::fixed32) value.f = r.get_float();
                else r.skip();
                break;
            case field::kAttributeI:
                if (is_varint(r)) value.i = r.get_int64();
                else r.skip();
                break;
            case field::kAttributeS:
                if (is_bytes(r)) value.s = r.get_string();
                else r.skip();
                break;
            case field::kAttributeInts: read_ints(r, value.ints); break;
            case fields::number(fields::Attribute::g):
            case fields::number(fields::Attribute::graphs):
                value.graph = true;  // a subgraph: what it holds is not read here
                r.skip();
                break;
            default: r.skip();
        }
    }
    return {std::move(name), std::move(value)};
}

GraphNode read_node(Reader r) {
    GraphNode node;
    while (r.next()) {
        switch (r.tag()) {
            case field::kNodeInput: node.inputs.push_back(text(r, "NodeProto.input")); break;
            case field::kNodeOutput: node.outputs.push_back(text(r, "NodeProto.output")); break;
            case field::kNodeName: node.name = text(r, "NodeProto.name"); break;
            case field::kNodeOpType: node.op_type = text(r, "NodeProto.op_type"); break;
            case field::kNodeDomain: node.domain = text(r, "NodeProto.domain"); break;
            case field::kNodeAttribute: node.attributes.insert(read_attribute(message(r, "NodeProto.attribute"))); break;
            default: r.skip();
        }
    }
    if (node.domain == "ai.onnx") node.domain.clear();
    return node;
}

Dim read_dim(Reader r) {
    Dim dim;
    while (r.next()) {
        if (r.tag() == field::kDimValue && is_varint(r)) dim.value = r.get_int64();
        else if (r.tag() == field::kDimParam && is_bytes(r)) dim.symbol = r.get_string();
        else r.skip();
    }
    if (dim.value < 0) dim.value = -1;  // a negative dim_value is no size
    return dim;
}

void read_tensor_type(Reader r, ValueType& type) {
    while (r.next()) {
        if (r.tag() == field::kTensorTypeElemType && is_varint(r)) {
            type.elem_type = r.get_int32();
        } else if (r.tag() == field::kTensorTypeShape && is_bytes(r)) {
            type.has_shape = true;
            Reader shape = r.get_message();
            while (shape.next()) {
                if (shape.tag() == field::kShapeDim && is_bytes(shape)) {
                    type.dims.push_back(read_dim(shape.get_message()));
                    if (type.dims.size() > kMaxRank) throw LimitError("a value has more than 4096 dims", 0);
                } else {
                    shape.skip();
                }
            }
        } else {
            r.skip();
        }
    }
}

/// (name, type) of a ValueInfoProto; types other than tensors leave `has_shape` false and no elem_type.
std::pair<std::string, ValueType> read_value_info(Reader r) {
    std::string name;
    ValueType type;
    while (r.next()) {
        if (r.tag() == field::kValueInfoName && is_bytes(r)) {
            name = r.get_string();
        } else if (r.tag() == field::kValueInfoType && is_bytes(r)) {
            Reader type_proto = r.get_message();
            while (type_proto.next()) {
                if (type_proto.tag() == field::kTypeTensor && is_bytes(type_proto)) {
                    read_tensor_type(type_proto.get_message(), type);
                } else {
                    // A sequence, map, optional or sparse tensor: no dense size to count.
                    if (type_proto.tag() != kTypeDenotation) type.tensor = false;
                    type_proto.skip();
                }
            }
        } else {
            r.skip();
        }
    }
    return {std::move(name), std::move(type)};
}

std::pair<std::string, ValueType> read_initializer(Reader r) {
    std::string name;
    ValueType type;
    type.has_shape = true;
    std::vector<int64_t> dims;
    while (r.next()) {
        switch (r.tag()) {
            case field::kTensorDims: read_ints(r, dims); break;
            case field::kTensorDataType:
                if (is_varint(r)) type.elem_type = r.get_int32();
                else r.skip();
                break;
            case field::kTensorName: name = text(r, "TensorProto.name"); break;
            default: r.skip();
        }
    }
    for (int64_t d : dims) type.dims.push_back(Dim{d < 0 ? -1 : d, {}});
    return {std::move(name), std::move(type)};
}

void read_main_graph(Reader r, GraphView& view) {
    std::vector<std::string> declared_inputs;
    while (r.next()) {
        switch (r.tag()) {
            case field::kGraphNode: view.nodes.push_back(read_node(message(r, "GraphProto.node"))); break;
            case field::kGraphInitializer: {
                auto [name, type] = read_initializer(message(r, "GraphProto.initializer"));
                view.initializers.insert(name);
                view.values[name] = std::move(type);
                break;
            }
            case field::kGraphInput: {
                auto [name, type] = read_value_info(message(r, "GraphProto.input"));
                declared_inputs.push_back(name);
                view.values.emplace(name, std::move(type));  // an initializer's own type wins
                break;
            }
            case field::kGraphOutput:
            case field::kGraphValueInfo: {
                const bool output = r.tag() == field::kGraphOutput;
                auto [name, type] = read_value_info(message(r, "GraphProto.output/value_info"));
                if (output) view.outputs.push_back(name);
                view.values.emplace(std::move(name), std::move(type));
                break;
            }
            default: r.skip();
        }
    }
    for (auto& name : declared_inputs) {
        if (!view.initializers.count(name)) view.inputs.push_back(std::move(name));
    }
}

/// A model-local function's (domain, name).
std::pair<std::string, std::string> read_function_id(Reader r) {
    std::pair<std::string, std::string> id;
    while (r.next()) {
        if (r.tag() == fields::number(fields::Function::domain) && is_bytes(r)) id.first = r.get_string();
        else if (r.tag() == fields::number(fields::Function::name) && is_bytes(r)) id.second = r.get_string();
        else r.skip();
    }
    return id;
}

}  // namespace

GraphView read_graph(std::string_view model) {
    GraphView view;
    try {
        Reader r(model.data(), model.size());
        while (r.next()) {
            if (r.tag() == field::kModelGraph) read_main_graph(message(r, "ModelProto.graph"), view);
            else if (r.tag() == field::kModelOpsetImport) view.opsets.push_back(read_opset(message(r, "ModelProto.opset_import")));
            else if (r.tag() == fields::number(fields::Model::functions)) view.functions.insert(read_function_id(message(r, "ModelProto.functions")));
            else r.skip();
        }
    } catch (const protozero::exception& e) {
        throw FormatError(std::string("malformed model graph: ") + e.what(), 0);
    }
    return view;
}

}  // namespace onnx_weightless
