#include "onnx_weightless/graph.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>
#include <protozero/varint.hpp>

#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/limits.hpp"
#include "onnx_weightless/onnx_fields.hpp"

namespace onnx_weightless {
namespace {

namespace f = fields;
using fields::number;
using limits::kMaxRank;

constexpr int32_t kInt32 = 6, kInt64 = 7;  // TensorProto.DataType

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
        if (r.tag() == number(f::OperatorSetId::domain) && is_bytes(r)) opset.domain = r.get_string();
        else if (r.tag() == number(f::OperatorSetId::version) && is_varint(r)) opset.version = r.get_int64();
        else r.skip();
    }
    return opset;
}

/// A TensorProto's name, dims and element type, and its value when it is one int32/int64 element
/// held inline (a constant a Loop's trip count may be).
struct TensorHead {
    std::string name;
    int32_t elem_type = 0;
    std::vector<int64_t> dims;
    std::optional<int64_t> scalar;
};

TensorHead read_tensor(Reader r) {
    TensorHead tensor;
    std::vector<int64_t> numbers;
    std::string raw;
    while (r.next()) {
        switch (r.tag()) {
            case number(f::Tensor::dims): read_ints(r, tensor.dims); break;
            case number(f::Tensor::data_type):
                if (is_varint(r)) tensor.elem_type = r.get_int32();
                else r.skip();
                break;
            case number(f::Tensor::name): tensor.name = text(r, "TensorProto.name"); break;
            case number(f::Tensor::int32_data):
            case number(f::Tensor::int64_data):
                if (is_varint(r) && numbers.size() < 2) {
                    numbers.push_back(r.get_int64());
                } else if (is_bytes(r)) {
                    // Packed numbers are payload, which the scan does not decode and a skeleton
                    // may strip: only a short run is decoded, and one that does not decode is no
                    // scalar, so that a model and its skeleton read alike.
                    auto view = r.get_view();
                    if (view.size() <= 20) {
                        try {
                            const char* at = view.data();
                            const char* end = at + view.size();
                            while (at != end) numbers.push_back(static_cast<int64_t>(protozero::decode_varint(&at, end)));
                        } catch (const protozero::exception&) {
                            numbers.assign(2, 0);
                        }
                    } else {
                        numbers.assign(2, 0);  // more than one number
                    }
                } else {
                    r.skip();
                }
                break;
            case number(f::Tensor::raw_data):
                if (is_bytes(r)) {
                    auto view = r.get_view();
                    if (view.size() <= 8) raw.assign(view.data(), view.size());
                } else {
                    r.skip();
                }
                break;
            default: r.skip();
        }
    }
    const bool one_element = std::all_of(tensor.dims.begin(), tensor.dims.end(), [](int64_t d) { return d == 1; });
    const size_t width = tensor.elem_type == kInt64 ? 8 : tensor.elem_type == kInt32 ? 4 : 0;
    if (one_element && width != 0) {
        if (raw.size() == width) {
            // raw_data is little-endian; the machines built for are too.
            if (width == 8) {
                int64_t v;
                std::memcpy(&v, raw.data(), 8);
                tensor.scalar = v;
            } else {
                int32_t v;
                std::memcpy(&v, raw.data(), 4);
                tensor.scalar = v;
            }
        } else if (raw.empty() && numbers.size() == 1) {
            tensor.scalar = width == 4 ? static_cast<int32_t>(numbers[0]) : numbers[0];
        }
    }
    return tensor;
}

void read_graph_body(Reader r, GraphView& view, uint32_t depth);

/// Reads the subgraph of a `g` or `graphs` attribute, one level deeper than the graph holding it.
GraphView read_subgraph(Reader r, uint32_t depth) {
    if (depth > limits::kMaxGraphDepth) {
        throw LimitError("subgraphs nested deeper than " + std::to_string(limits::kMaxGraphDepth) + " levels", 0);
    }
    GraphView graph;
    read_graph_body(r, graph, depth);
    return graph;
}

struct NamedAttribute {
    std::string name;
    AttributeValue value;
    std::optional<int64_t> scalar;  ///< a tensor attribute holding one integer (Constant's value)
};

NamedAttribute read_attribute(Reader r, uint32_t depth) {
    NamedAttribute attribute;
    AttributeValue& value = attribute.value;
    while (r.next()) {
        const uint32_t tag = r.tag();
        constexpr uint32_t kDocString = 13;
        if (tag >= number(f::Attribute::f) && tag <= number(f::Attribute::sparse_tensors) && tag != number(f::Attribute::type) &&
            tag != number(f::Attribute::ref_attr_name) && tag != kDocString) {
            value.fields |= 1u << tag;
        }
        switch (tag) {
            case number(f::Attribute::name): attribute.name = text(r, "AttributeProto.name"); break;
            case number(f::Attribute::f):
                if (r.wire_type() == protozero::pbf_wire_type::fixed32) value.f = r.get_float();
                else r.skip();
                break;
            case number(f::Attribute::i):
                if (is_varint(r)) value.i = r.get_int64();
                else r.skip();
                break;
            case number(f::Attribute::s):
                if (is_bytes(r)) value.s = r.get_string();
                else r.skip();
                break;
            case number(f::Attribute::strings):
                if (is_bytes(r)) value.strings.push_back(r.get_string());
                else r.skip();
                break;
            case number(f::Attribute::ints): read_ints(r, value.ints); break;
            case number(f::Attribute::t): attribute.scalar = read_tensor(message(r, "AttributeProto.t")).scalar; break;
            case number(f::Attribute::g):
            case number(f::Attribute::graphs):
                value.graphs.push_back(read_subgraph(message(r, "AttributeProto.g"), depth + 1));
                break;
            case number(f::Attribute::type):
                if (is_varint(r)) value.type = r.get_int32();
                else r.skip();
                break;
            case number(f::Attribute::ref_attr_name):
                value.reference = true;
                r.skip();
                break;
            default: r.skip();
        }
    }
    return attribute;
}

GraphNode read_node(Reader r, uint32_t depth, GraphView& graph) {
    GraphNode node;
    std::optional<int64_t> value;  // a Constant's, when it is one integer
    while (r.next()) {
        switch (r.tag()) {
            case number(f::Node::input): node.inputs.push_back(text(r, "NodeProto.input")); break;
            case number(f::Node::output): node.outputs.push_back(text(r, "NodeProto.output")); break;
            case number(f::Node::name): node.name = text(r, "NodeProto.name"); break;
            case number(f::Node::op_type): node.op_type = text(r, "NodeProto.op_type"); break;
            case number(f::Node::domain): node.domain = text(r, "NodeProto.domain"); break;
            case number(f::Node::attribute): {
                NamedAttribute attribute = read_attribute(message(r, "NodeProto.attribute"), depth);
                if (attribute.name == "value") value = attribute.scalar;
                else if (attribute.name == "value_int") value = attribute.value.i;
                node.attributes.try_emplace(std::move(attribute.name), std::move(attribute.value));
                break;
            }
            default: r.skip();
        }
    }
    if (node.domain == "ai.onnx") node.domain.clear();
    if (node.op_type == "Constant" && node.domain.empty() && value && node.outputs.size() == 1) {
        graph.scalars[node.outputs[0]] = *value;
    }
    return node;
}

Dim read_dim(Reader r) {
    Dim dim;
    while (r.next()) {
        if (r.tag() == number(f::Dimension::dim_value) && is_varint(r)) {
            dim.value = r.get_int64();
            dim.negative = dim.value < 0;
        } else if (r.tag() == number(f::Dimension::dim_param) && is_bytes(r)) {
            dim.symbol = r.get_string();
        } else {
            r.skip();
        }
    }
    if (dim.value < 0) dim.value = -1;  // a negative dim_value is no size
    return dim;
}

void read_tensor_type(Reader r, ValueType& type) {
    while (r.next()) {
        if (r.tag() == number(f::TensorType::elem_type) && is_varint(r)) {
            type.elem_type = r.get_int32();
        } else if (r.tag() == number(f::TensorType::shape) && is_bytes(r)) {
            type.has_shape = true;
            Reader shape = r.get_message();
            while (shape.next()) {
                if (shape.tag() == number(f::TensorShape::dim) && is_bytes(shape)) {
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
        if (r.tag() == number(f::ValueInfo::name) && is_bytes(r)) {
            name = r.get_string();
        } else if (r.tag() == number(f::ValueInfo::type) && is_bytes(r)) {
            Reader type_proto = r.get_message();
            while (type_proto.next()) {
                if (type_proto.tag() == number(f::Type::tensor_type) && is_bytes(type_proto)) {
                    read_tensor_type(type_proto.get_message(), type);
                } else {
                    // A sequence, map, optional or sparse tensor: no dense size to count.
                    if (type_proto.tag() != number(f::Type::denotation)) type.tensor = false;
                    type_proto.skip();
                }
            }
        } else {
            r.skip();
        }
    }
    return {std::move(name), std::move(type)};
}

void read_graph_body(Reader r, GraphView& view, uint32_t depth) {
    std::vector<std::string> declared_inputs;
    while (r.next()) {
        switch (r.tag()) {
            case number(f::Graph::node): view.nodes.push_back(read_node(message(r, "GraphProto.node"), depth, view)); break;
            case number(f::Graph::initializer): {
                TensorHead tensor = read_tensor(message(r, "GraphProto.initializer"));
                ValueType type;
                type.has_shape = true;
                type.elem_type = tensor.elem_type;
                for (int64_t d : tensor.dims) type.dims.push_back(Dim{d < 0 ? -1 : d, {}});
                view.initializers.insert(tensor.name);
                if (tensor.scalar) view.scalars[tensor.name] = *tensor.scalar;
                view.values[tensor.name] = std::move(type);
                break;
            }
            case number(f::Graph::input): {
                auto [name, type] = read_value_info(message(r, "GraphProto.input"));
                declared_inputs.push_back(name);
                view.values.emplace(name, std::move(type));  // an initializer's own type wins
                break;
            }
            case number(f::Graph::output):
            case number(f::Graph::value_info): {
                const bool output = r.tag() == number(f::Graph::output);
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
        if (r.tag() == number(f::Function::domain) && is_bytes(r)) id.first = r.get_string();
        else if (r.tag() == number(f::Function::name) && is_bytes(r)) id.second = r.get_string();
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
            if (r.tag() == number(f::Model::graph)) read_graph_body(message(r, "ModelProto.graph"), view, 0);
            else if (r.tag() == number(f::Model::opset_import)) view.opsets.push_back(read_opset(message(r, "ModelProto.opset_import")));
            else if (r.tag() == number(f::Model::functions)) view.functions.insert(read_function_id(message(r, "ModelProto.functions")));
            else r.skip();
        }
    } catch (const protozero::exception& e) {
        throw FormatError(std::string("malformed model graph: ") + e.what(), 0);
    }
    return view;
}

}  // namespace onnx_weightless
