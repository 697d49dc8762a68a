#include "proto_builder.hpp"

#include <cstring>

#include <protozero/pbf_writer.hpp>
#include <protozero/varint.hpp>

#include "onnx_weightless/onnx_fields.hpp"
#include "onnx_weightless/scan.hpp"

namespace pb {
namespace f = onnx_weightless::fields;
using f::number;

namespace {

// AttributeProto fields and types the library does not name.
constexpr uint32_t kAttributeI = 3;
constexpr uint32_t kAttributeType = 20;
enum AttributeType : int32_t { INT = 2, TENSOR = 4, GRAPH = 5, TENSORS = 9, SPARSE_TENSOR = 11 };

std::string attribute(const std::string& name, AttributeType type,
                      const std::vector<std::pair<uint32_t, std::string>>& messages, const std::string& extra) {
    std::string out;
    protozero::pbf_writer w(out);
    w.add_string(number(f::Attribute::name), name);
    for (const auto& [field, bytes] : messages) w.add_message(field, bytes);
    w.add_enum(kAttributeType, type);
    out += extra;
    return out;
}

}  // namespace

std::string varint(uint64_t value) {
    std::string out;
    protozero::add_varint_to_buffer(&out, value);
    return out;
}

std::string packed_varints(const std::vector<int64_t>& values) {
    std::string out;
    for (const int64_t v : values) out += varint(static_cast<uint64_t>(v));
    return out;
}

std::string tag(uint32_t number, uint32_t wire_type) { return varint((uint64_t{number} << 3) | wire_type); }

std::string field_varint(uint32_t number, uint64_t value) { return tag(number, 0) + varint(value); }

std::string field_bytes(uint32_t number, const std::string& bytes) {
    return tag(number, 2) + varint(bytes.size()) + bytes;
}

std::string field_fixed32(uint32_t number, uint32_t value) {
    std::string out = tag(number, 5);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return out;
}

std::string field_fixed64(uint32_t number, uint64_t value) {
    std::string out = tag(number, 1);
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return out;
}

std::string unknown_fields(const std::string& label) { return field_varint(999, 4242) + field_bytes(1000, label); }

std::string float_bytes(const std::vector<float>& values) {
    std::string out;
    for (const float v : values) {
        uint32_t bits = 0;
        std::memcpy(&bits, &v, 4);
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
    }
    return out;
}

std::string filler(size_t n, uint8_t seed) {
    std::string out(n, '\0');
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 7 + seed) & 0xff);
    return out;
}

std::string tensor(const Tensor& t) {
    std::string out;
    protozero::pbf_writer w(out);
    if (t.packed_dims) {
        w.add_packed_int64(number(f::Tensor::dims), t.dims.begin(), t.dims.end());
    } else {
        for (const int64_t d : t.dims) w.add_int64(number(f::Tensor::dims), d);
    }
    if (t.data_type) w.add_int32(number(f::Tensor::data_type), *t.data_type);
    if (!t.float_data.empty()) {
        if (t.float_packed) {
            w.add_packed_float(number(f::Tensor::float_data), t.float_data.begin(), t.float_data.end());
        } else {
            for (const float v : t.float_data) w.add_float(number(f::Tensor::float_data), v);
        }
    }
    if (!t.int32_data.empty()) {
        w.add_packed_int32(number(f::Tensor::int32_data), t.int32_data.begin(), t.int32_data.end());
    }
    for (const std::string& s : t.string_data) w.add_bytes(number(f::Tensor::string_data), s);
    if (!t.int64_data.empty()) {
        w.add_packed_int64(number(f::Tensor::int64_data), t.int64_data.begin(), t.int64_data.end());
    }
    w.add_string(number(f::Tensor::name), t.name);
    if (t.raw_data) w.add_bytes(number(f::Tensor::raw_data), *t.raw_data);
    for (const auto& [key, value] : t.external_data) {
        w.add_message(number(f::Tensor::external_data), string_entry(key, value));
    }
    if (t.data_location) w.add_enum(number(f::Tensor::data_location), *t.data_location);
    out += t.extra;
    return out;
}

std::string raw_float_tensor(const std::string& name, std::vector<int64_t> dims, const std::string& raw,
                             const std::string& extra) {
    Tensor t;
    t.name = name;
    t.dims = std::move(dims);
    t.raw_data = raw;
    t.extra = extra;
    return tensor(t);
}

std::string string_entry(const std::string& key, const std::string& value, const std::string& extra) {
    std::string out;
    protozero::pbf_writer w(out);
    w.add_string(number(f::StringStringEntry::key), key);
    w.add_string(number(f::StringStringEntry::value), value);
    out += extra;
    return out;
}

std::string sparse_tensor(const std::string& values, const std::string& indices, std::vector<int64_t> dims,
                          const std::string& extra) {
    std::string out;
    protozero::pbf_writer w(out);
    w.add_message(number(f::SparseTensor::values), values);
    w.add_message(number(f::SparseTensor::indices), indices);
    for (const int64_t d : dims) w.add_int64(number(f::SparseTensor::dims), d);
    out += extra;
    return out;
}

std::string attr_int(const std::string& name, int64_t value, const std::string& extra) {
    std::string out;
    protozero::pbf_writer w(out);
    w.add_string(number(f::Attribute::name), name);
    w.add_int64(kAttributeI, value);
    w.add_enum(kAttributeType, INT);
    out += extra;
    return out;
}

std::string attr_tensor(const std::string& name, const std::string& tensor, const std::string& extra) {
    return attribute(name, TENSOR, {{number(f::Attribute::t), tensor}}, extra);
}

std::string attr_tensors(const std::string& name, const std::vector<std::string>& tensors, const std::string& extra) {
    std::vector<std::pair<uint32_t, std::string>> messages;
    for (const std::string& t : tensors) messages.emplace_back(number(f::Attribute::tensors), t);
    return attribute(name, TENSORS, messages, extra);
}

std::string attr_sparse(const std::string& name, const std::string& sparse, const std::string& extra) {
    return attribute(name, SPARSE_TENSOR, {{number(f::Attribute::sparse_tensor), sparse}}, extra);
}

std::string attr_graph(const std::string& name, const std::string& graph, const std::string& extra) {
    return attribute(name, GRAPH, {{number(f::Attribute::g), graph}}, extra);
}

std::string node(const Node& n) {
    std::string out;
    protozero::pbf_writer w(out);
    for (const std::string& s : n.inputs) w.add_string(number(f::Node::input), s);
    for (const std::string& s : n.outputs) w.add_string(number(f::Node::output), s);
    if (!n.name.empty()) w.add_string(number(f::Node::name), n.name);
    w.add_string(number(f::Node::op_type), n.op_type);
    for (const std::string& a : n.attributes) w.add_message(number(f::Node::attribute), a);
    if (!n.domain.empty()) w.add_string(number(f::Node::domain), n.domain);
    out += n.extra;
    return out;
}

std::string graph(const Graph& g) {
    std::string out;
    protozero::pbf_writer w(out);
    for (const std::string& n : g.nodes) w.add_message(number(f::Graph::node), n);
    w.add_string(number(f::Graph::name), g.name);
    for (const std::string& t : g.initializers) w.add_message(number(f::Graph::initializer), t);
    for (const std::string& s : g.sparse_initializers) w.add_message(number(f::Graph::sparse_initializer), s);
    out += g.extra;
    return out;
}

std::string function(const Function& fn) {
    std::string out;
    protozero::pbf_writer w(out);
    w.add_string(number(f::Function::name), fn.name);
    for (const std::string& n : fn.nodes) w.add_message(number(f::Function::node), n);
    w.add_string(number(f::Function::domain), fn.domain);
    for (const std::string& a : fn.attribute_protos) w.add_message(number(f::Function::attribute_proto), a);
    out += fn.extra;
    return out;
}

std::string training_info(const std::string& initialization, const std::string& algorithm) {
    std::string out;
    protozero::pbf_writer w(out);
    w.add_message(number(f::TrainingInfo::initialization), initialization);
    if (!algorithm.empty()) w.add_message(number(f::TrainingInfo::algorithm), algorithm);
    return out;
}

std::vector<std::string> model_fields(const Model& m) {
    std::vector<std::string> fields;
    if (m.ir_version) fields.push_back(field_varint(number(f::Model::ir_version), static_cast<uint64_t>(*m.ir_version)));
    if (!m.producer_name.empty()) fields.push_back(field_bytes(number(f::Model::producer_name), m.producer_name));
    if (m.graph) fields.push_back(field_bytes(number(f::Model::graph), *m.graph));
    for (const auto& [domain, version] : m.opsets) {
        std::string opset;
        protozero::pbf_writer w(opset);
        w.add_string(number(f::OperatorSetId::domain), domain);
        w.add_int64(number(f::OperatorSetId::version), version);
        fields.push_back(field_bytes(number(f::Model::opset_import), opset));
    }
    for (const auto& [key, value] : m.metadata) {
        fields.push_back(field_bytes(number(f::Model::metadata_props), string_entry(key, value)));
    }
    for (const std::string& t : m.training_infos) fields.push_back(field_bytes(number(f::Model::training_info), t));
    for (const std::string& fn : m.functions) fields.push_back(field_bytes(number(f::Model::functions), fn));
    if (!m.extra.empty()) fields.push_back(m.extra);
    return fields;
}

std::string model(const Model& m) {
    std::string out;
    for (const std::string& field : model_fields(m)) out += field;
    return out;
}

std::string model_of(const std::vector<std::string>& nodes, const std::vector<std::string>& initializers) {
    Graph g;
    g.nodes = nodes;
    g.initializers = initializers;
    return model_of(g);
}

std::string model_of(const Graph& g) {
    Model m;
    m.graph = graph(g);
    return model(m);
}

std::string model_with_initializers(const std::vector<std::string>& initializers) {
    Model m;
    Graph g;
    g.name = "main";
    g.initializers = initializers;
    m.graph = graph(g);
    return model(m);
}

void RecordingSource::do_read(uint64_t offset, char* dst, size_t n) {
    if (offset > bytes_.size() || n > bytes_.size() - offset) {
        throw std::logic_error("read of [" + std::to_string(offset) + ", +" + std::to_string(n) +
                               ") past the end of a " + std::to_string(bytes_.size()) + "-byte source");
    }
    std::memcpy(dst, bytes_.data() + offset, n);
    reads_.push_back({offset, offset + n});
}

onnx_weightless::TensorIndex scan_bytes(const std::string& bytes) {
    RecordingSource source(bytes);
    return onnx_weightless::scan(source);
}

onnx_weightless::TensorInfo find_tensor(const onnx_weightless::TensorIndex& index, const std::string& name) {
    for (const auto& t : index.tensors) {
        if (t.name == name) return t;
    }
    throw std::out_of_range("no tensor named '" + name + "' in the index");
}

}  // namespace pb
