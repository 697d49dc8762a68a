#include "onnx_weightless/scan.hpp"

#include <limits>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <utility>

#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>
#include <protozero/varint.hpp>

#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/limits.hpp"
#include "onnx_weightless/onnx_fields.hpp"
#include "onnx_weightless/wire.hpp"

namespace onnx_weightless {
namespace {

namespace f = fields;

using limits::kMaxCopiedBase;
using limits::kMaxCopiedPerFileByte;
using limits::kMaxRank;
using limits::kMaxSmallMessageBytes;
using limits::kMaxStringBytes;

/// How many numbers a tensor's float_data or double_data fields hold, counted from their headers.
struct FixedCount {
    uint64_t numbers = 0;
    bool partial = false;  ///< a packed field whose length is not a multiple of the number's width
};

/// Where the walk currently is; copied into each TensorInfo. The names are views of strings owned
/// by the frames of the walk that read them (graph(), function(), node(), attribute()), so passing a
/// Context down to every node and attribute costs the same whatever the names' length.
struct Context {
    std::string_view graph_name;
    std::string_view function_name;
    std::string_view node_name;
    std::string_view op_type;
    std::string_view attribute_name;
    uint32_t depth = 0;
    TensorRole role = TensorRole::initializer;
};

class Scanner {
public:
    Scanner(ByteSource& source, const ScanOptions& options)
        : window_(source, options.window_size), options_(options) {}

    TensorIndex run() {
        index_.file_size = window_.source().size();
        copy_limit_ = index_.file_size > (UINT64_MAX - kMaxCopiedBase) / kMaxCopiedPerFileByte
                          ? UINT64_MAX
                          : kMaxCopiedBase + kMaxCopiedPerFileByte * index_.file_size;
        model(0, index_.file_size);
        return std::move(index_);
    }

private:
    /// Counts `bytes` copied into the index; LimitError past the bound (see kMaxCopiedBase).
    void charge_copy(uint64_t bytes, uint64_t offset) {
        copied_ += bytes;
        if (copied_ > copy_limit_) {
            throw LimitError("names and enclosing fields copied into the tensor index exceed " +
                                 std::to_string(copy_limit_) + " bytes (64 MiB + 16 x the file size): long graph, "
                                 "node or attribute names over too many tensors",
                             offset);
        }
    }

    /// to = from, counted.
    void copy_name(std::string& to, std::string_view from, uint64_t offset) {
        charge_copy(from.size(), offset);
        to = from;
    }

    std::string read_string(const Field& field, const char* what) {
        if (field.length > kMaxStringBytes) {
            throw LimitError(std::string(what) + " is " + std::to_string(field.length) + " bytes long (limit " +
                                 std::to_string(kMaxStringBytes) + ")",
                             field.value_offset);
        }
        return window_.copy(field.value_offset, static_cast<size_t>(field.length));
    }

    // RAII push of an enclosing length-delimited field onto the ancestor chain.
    class Enter {
    public:
        Enter(Scanner& scanner, const Field& field) : scanner_(scanner) {
            scanner_.ancestors_.push_back({field.tag_offset, field.value_offset, field.end()});
        }
        ~Enter() { scanner_.ancestors_.pop_back(); }
        Enter(const Enter&) = delete;
        Enter& operator=(const Enter&) = delete;

    private:
        Scanner& scanner_;
    };

    void model(uint64_t begin, uint64_t end) {
        ModelSummary& summary = index_.summary;
        FieldCursor cursor(window_, begin, end, "ModelProto");
        Field field;
        while (cursor.next(field)) {
            switch (field.number) {
                case f::number(f::Model::ir_version):
                    cursor.expect(field, WireType::varint, "ir_version");
                    summary.ir_version = static_cast<int64_t>(field.varint);
                    break;
                case f::number(f::Model::producer_name):
                    cursor.expect(field, WireType::length_delimited, "producer_name");
                    summary.producer_name = read_string(field, "ModelProto.producer_name");
                    break;
                case f::number(f::Model::producer_version):
                    cursor.expect(field, WireType::length_delimited, "producer_version");
                    summary.producer_version = read_string(field, "ModelProto.producer_version");
                    break;
                case f::number(f::Model::opset_import):
                    cursor.expect(field, WireType::length_delimited, "opset_import");
                    summary.opsets.push_back(opset_import(field));
                    break;
                case f::number(f::Model::graph): {
                    cursor.expect(field, WireType::length_delimited, "graph");
                    Context context;
                    graph(field, context);
                    break;
                }
                case f::number(f::Model::training_info):
                    cursor.expect(field, WireType::length_delimited, "training_info");
                    training_info(field);
                    break;
                case f::number(f::Model::functions):
                    cursor.expect(field, WireType::length_delimited, "functions");
                    function(field);
                    break;
                default:
                    break;
            }
        }
    }

    OpsetImport opset_import(const Field& field) {
        if (field.length > kMaxSmallMessageBytes) {
            throw LimitError("OperatorSetIdProto is " + std::to_string(field.length) + " bytes long", field.value_offset);
        }
        const std::string bytes = window_.copy(field.value_offset, static_cast<size_t>(field.length));
        OpsetImport opset;
        try {
            protozero::pbf_reader reader(bytes);
            while (reader.next()) {
                if (reader.tag() == f::number(f::OperatorSetId::domain) &&
                    reader.wire_type() == protozero::pbf_wire_type::length_delimited) {
                    opset.domain = reader.get_string();
                } else if (reader.tag() == f::number(f::OperatorSetId::version) &&
                           reader.wire_type() == protozero::pbf_wire_type::varint) {
                    opset.version = reader.get_int64();
                } else {
                    reader.skip();
                }
            }
        } catch (const protozero::exception& e) {
            throw FormatError(std::string("malformed OperatorSetIdProto: ") + e.what(), field.value_offset);
        }
        return opset;
    }

    void training_info(const Field& outer) {
        Enter enter(*this, outer);
        FieldCursor cursor(window_, outer.value_offset, outer.end(), "TrainingInfoProto");
        Field field;
        while (cursor.next(field)) {
            if (field.number == f::number(f::TrainingInfo::initialization) ||
                field.number == f::number(f::TrainingInfo::algorithm)) {
                cursor.expect(field, WireType::length_delimited, "graph");
                Context context;
                graph(field, context);
            }
        }
    }

    void graph(const Field& outer, Context context) {
        if (context.depth > options_.max_depth) {
            throw LimitError("subgraphs nested deeper than " + std::to_string(options_.max_depth) + " levels",
                             outer.tag_offset);
        }
        ++index_.summary.graph_count;
        if (context.depth > index_.summary.max_depth) index_.summary.max_depth = context.depth;
        Enter enter(*this, outer);
        const size_t first_tensor = index_.tensors.size();
        std::string graph_name;
        // ONNX rule: initializer names (dense and sparse) are unique within a graph; with two of
        // one name, which one a reader takes is arbitrary.
        std::unordered_set<std::string> initializer_names;
        auto unique_name = [&](size_t first, const Field& at) {
            for (size_t i = first; i < index_.tensors.size(); ++i) {
                const TensorInfo& t = index_.tensors[i];
                if (t.depth != context.depth || t.sparse_indices || t.name.empty()) continue;
                if (!initializer_names.insert(t.name).second) {
                    throw FormatError("initializer name '" + t.name + "' is not unique in graph '" +
                                          std::string(context.graph_name) + "'",
                                      at.tag_offset);
                }
            }
        };
        Field field;
        FieldCursor cursor(window_, outer.value_offset, outer.end(), "GraphProto");
        while (cursor.next(field)) {
            switch (field.number) {
                case f::number(f::Graph::name):
                    cursor.expect(field, WireType::length_delimited, "name");
                    graph_name = read_string(field, "GraphProto.name");
                    context.graph_name = graph_name;
                    break;
                case f::number(f::Graph::node):
                    cursor.expect(field, WireType::length_delimited, "node");
                    node(field, context);
                    break;
                case f::number(f::Graph::initializer): {
                    cursor.expect(field, WireType::length_delimited, "initializer");
                    Context tensor_context = context;
                    tensor_context.role = TensorRole::initializer;
                    const size_t first = index_.tensors.size();
                    tensor(field, tensor_context, false);
                    unique_name(first, field);
                    break;
                }
                case f::number(f::Graph::sparse_initializer): {
                    cursor.expect(field, WireType::length_delimited, "sparse_initializer");
                    Context tensor_context = context;
                    tensor_context.role = TensorRole::sparse_initializer;
                    const size_t first = index_.tensors.size();
                    sparse_tensor(field, tensor_context);
                    unique_name(first, field);
                    break;
                }
                default:
                    break;
            }
        }
        // The name (field 2) is written after the nodes (field 1): give it to this graph's own
        // tensors (same depth) once known. One pass, so no field header is read twice.
        for_own_tensors(first_tensor, context.depth,
                        [&](TensorInfo& t) { copy_name(t.graph_name, graph_name, outer.tag_offset); });
    }

    template <typename Fn>
    void for_own_tensors(size_t first, uint32_t depth, Fn&& fn) {
        for (size_t i = first; i < index_.tensors.size(); ++i) {
            if (index_.tensors[i].depth == depth) fn(index_.tensors[i]);
        }
    }

    void function(const Field& outer) {
        ++index_.summary.function_count;
        Enter enter(*this, outer);
        const size_t first_tensor = index_.tensors.size();
        Context context;
        std::string function_name;
        Field field;
        FieldCursor cursor(window_, outer.value_offset, outer.end(), "FunctionProto");
        while (cursor.next(field)) {
            if (field.number == f::number(f::Function::name)) {
                cursor.expect(field, WireType::length_delimited, "name");
                function_name = read_string(field, "FunctionProto.name");
                context.function_name = function_name;
            } else if (field.number == f::number(f::Function::node)) {
                cursor.expect(field, WireType::length_delimited, "node");
                node(field, context);
            } else if (field.number == f::number(f::Function::attribute_proto)) {
                cursor.expect(field, WireType::length_delimited, "attribute_proto");
                Context attribute_context = context;
                attribute_context.role = TensorRole::function_attribute;
                attribute(field, attribute_context);
            }
        }
        // Every tensor inside the function, subgraphs included, belongs to it.
        for (size_t i = first_tensor; i < index_.tensors.size(); ++i) {
            copy_name(index_.tensors[i].function_name, function_name, outer.tag_offset);
        }
    }

    void node(const Field& outer, Context context) {
        ++index_.summary.node_count;
        Enter enter(*this, outer);
        const size_t first_tensor = index_.tensors.size();
        std::string node_name;
        std::string op_type;
        std::string domain;
        context.role = TensorRole::node_attribute;
        Field field;
        FieldCursor cursor(window_, outer.value_offset, outer.end(), "NodeProto");
        while (cursor.next(field)) {
            if (field.number == f::number(f::Node::name)) {
                cursor.expect(field, WireType::length_delimited, "name");
                node_name = read_string(field, "NodeProto.name");
                context.node_name = node_name;
            } else if (field.number == f::number(f::Node::op_type)) {
                cursor.expect(field, WireType::length_delimited, "op_type");
                op_type = read_string(field, "NodeProto.op_type");
                context.op_type = op_type;
            } else if (field.number == f::number(f::Node::domain)) {
                cursor.expect(field, WireType::length_delimited, "domain");
                domain = read_string(field, "NodeProto.domain");
            } else if (field.number == f::number(f::Node::attribute)) {
                cursor.expect(field, WireType::length_delimited, "attribute");
                attribute(field, context);
            }
        }
        const bool default_domain = domain.empty() || domain == "ai.onnx";
        ++index_.summary.op_histogram[default_domain ? op_type : domain + "::" + op_type];
        // name and op_type usually precede the attributes; if not, attribute tensors get them now.
        for_own_tensors(first_tensor, context.depth, [&](TensorInfo& t) {
            copy_name(t.node_name, node_name, outer.tag_offset);
            copy_name(t.op_type, op_type, outer.tag_offset);
        });
    }

    void attribute(const Field& outer, Context context) {
        Enter enter(*this, outer);
        const size_t first_tensor = index_.tensors.size();
        std::string attribute_name;
        Field field;
        FieldCursor cursor(window_, outer.value_offset, outer.end(), "AttributeProto");
        while (cursor.next(field)) {
            switch (field.number) {
                case f::number(f::Attribute::name):
                    cursor.expect(field, WireType::length_delimited, "name");
                    attribute_name = read_string(field, "AttributeProto.name");
                    context.attribute_name = attribute_name;
                    break;
                case f::number(f::Attribute::t):
                case f::number(f::Attribute::tensors):
                    cursor.expect(field, WireType::length_delimited, "t/tensors");
                    tensor(field, context, false);
                    break;
                case f::number(f::Attribute::sparse_tensor):
                case f::number(f::Attribute::sparse_tensors):
                    cursor.expect(field, WireType::length_delimited, "sparse_tensor(s)");
                    sparse_tensor(field, context);
                    break;
                case f::number(f::Attribute::g):
                case f::number(f::Attribute::graphs): {
                    cursor.expect(field, WireType::length_delimited, "g/graphs");
                    Context sub;
                    sub.depth = context.depth + 1;
                    graph(field, sub);
                    break;
                }
                default:
                    break;
            }
        }
        for_own_tensors(first_tensor, context.depth,
                        [&](TensorInfo& t) { copy_name(t.attribute_name, attribute_name, outer.tag_offset); });
    }

    void sparse_tensor(const Field& outer, const Context& context) {
        Enter enter(*this, outer);
        FieldCursor cursor(window_, outer.value_offset, outer.end(), "SparseTensorProto");
        Field field;
        while (cursor.next(field)) {
            if (field.number == f::number(f::SparseTensor::values) ||
                field.number == f::number(f::SparseTensor::indices)) {
                cursor.expect(field, WireType::length_delimited, "values/indices");
                tensor(field, context, field.number == f::number(f::SparseTensor::indices));
            }
        }
    }

    static std::optional<PayloadField> payload_field_of(uint32_t number) {
        switch (number) {
            case f::number(f::Tensor::raw_data): return PayloadField::raw_data;
            case f::number(f::Tensor::float_data): return PayloadField::float_data;
            case f::number(f::Tensor::int32_data): return PayloadField::int32_data;
            case f::number(f::Tensor::string_data): return PayloadField::string_data;
            case f::number(f::Tensor::int64_data): return PayloadField::int64_data;
            case f::number(f::Tensor::double_data): return PayloadField::double_data;
            case f::number(f::Tensor::uint64_data): return PayloadField::uint64_data;
            default: return std::nullopt;
        }
    }

    // Wire type of one element when a repeated numeric payload field is written unpacked.
    static WireType unpacked_wire_type(PayloadField field) {
        switch (field) {
            case PayloadField::float_data: return WireType::fixed32;
            case PayloadField::double_data: return WireType::fixed64;
            default: return WireType::varint;
        }
    }

    void add_strip_range(TensorInfo& info, uint64_t begin, uint64_t end) {
        if (!info.strip_ranges.empty() && info.strip_ranges.back().end == begin) {
            info.strip_ranges.back().end = end;
        } else {
            info.strip_ranges.push_back({begin, end});
        }
    }

    void read_dims(TensorInfo& info, const Field& field) {
        auto push = [&](uint64_t raw, uint64_t offset) {
            const auto dim = static_cast<int64_t>(raw);
            if (dim < 0 && !negative_dim_) negative_dim_ = std::make_pair(dim, offset);
            if (info.dims.size() >= kMaxRank) {
                throw LimitError("tensor has more than " + std::to_string(kMaxRank) + " dims", offset);
            }
            info.dims.push_back(dim);
        };
        if (field.type == WireType::varint) {
            push(field.varint, field.value_offset);
            return;
        }
        if (field.type != WireType::length_delimited) {
            throw FormatError("TensorProto.dims has wire type " + std::string(wire_type_name(field.type)) +
                                  ", expected varint or packed",
                              field.tag_offset);
        }
        if (field.length > kMaxRank * 10) {
            throw LimitError("packed TensorProto.dims is " + std::to_string(field.length) + " bytes long",
                             field.value_offset);
        }
        const std::string bytes = window_.copy(field.value_offset, static_cast<size_t>(field.length));
        const char* p = bytes.data();
        const char* end = p + bytes.size();
        while (p < end) {
            const char* start = p;
            const uint64_t offset = field.value_offset + static_cast<uint64_t>(start - bytes.data());
            uint64_t dim = 0;
            try {
                dim = protozero::decode_varint(&p, end);
            } catch (const protozero::exception&) {
                throw FormatError("malformed varint in packed TensorProto.dims", offset);
            }
            if (p - start == 10 && static_cast<uint8_t>(start[9]) > 1) {
                throw FormatError("varint overflows 64 bits in packed TensorProto.dims", offset);
            }
            push(dim, offset);
        }
    }

    void read_external_entry(TensorInfo& info, const Field& field) {
        if (field.length > kMaxSmallMessageBytes) {
            throw LimitError("external_data entry is " + std::to_string(field.length) + " bytes long",
                             field.value_offset);
        }
        const std::string bytes = window_.copy(field.value_offset, static_cast<size_t>(field.length));
        std::string key;
        std::string value;
        try {
            protozero::pbf_reader reader(bytes);
            while (reader.next()) {
                if (reader.wire_type() != protozero::pbf_wire_type::length_delimited) {
                    reader.skip();
                } else if (reader.tag() == f::number(f::StringStringEntry::key)) {
                    key = reader.get_string();
                } else if (reader.tag() == f::number(f::StringStringEntry::value)) {
                    value = reader.get_string();
                } else {
                    reader.skip();
                }
            }
        } catch (const protozero::exception& e) {
            throw FormatError(std::string("malformed external_data entry: ") + e.what(), field.value_offset);
        }
        info.external_data[key] = value;
    }

    void tensor(const Field& outer, const Context& context, bool sparse_indices) {
        TensorInfo info;
        info.role = context.role;
        copy_name(info.graph_name, context.graph_name, outer.tag_offset);
        copy_name(info.function_name, context.function_name, outer.tag_offset);
        copy_name(info.node_name, context.node_name, outer.tag_offset);
        copy_name(info.op_type, context.op_type, outer.tag_offset);
        copy_name(info.attribute_name, context.attribute_name, outer.tag_offset);
        info.depth = context.depth;
        info.sparse_indices = sparse_indices;
        info.field = {outer.tag_offset, outer.value_offset, outer.end()};
        charge_copy(ancestors_.size() * sizeof(FieldSpan), outer.tag_offset);
        info.ancestors = ancestors_;

        bool has_data_type = false;
        int64_t data_location = 0;
        uint32_t payload_occurrences = 0;
        FixedCount fixed;  // numbers in float_data / double_data, packed or not
        uint64_t first_payload_tag = 0;
        std::optional<std::string> conflict;
        uint64_t conflict_offset = 0;
        negative_dim_.reset();
        FieldCursor cursor(window_, outer.value_offset, outer.end(), "TensorProto");
        Field field;
        while (cursor.next(field)) {
            const uint32_t n = field.number;
            if (n == f::number(f::Tensor::dims)) {
                read_dims(info, field);
            } else if (n == f::number(f::Tensor::data_type)) {
                cursor.expect(field, WireType::varint, "data_type");
                info.data_type = static_cast<int32_t>(field.varint);
                has_data_type = true;
            } else if (n == f::number(f::Tensor::name)) {
                cursor.expect(field, WireType::length_delimited, "name");
                info.name = read_string(field, "TensorProto.name");
            } else if (n == f::number(f::Tensor::data_location)) {
                cursor.expect(field, WireType::varint, "data_location");
                data_location = static_cast<int64_t>(field.varint);
                add_strip_range(info, field.tag_offset, field.end());
            } else if (n == f::number(f::Tensor::external_data)) {
                cursor.expect(field, WireType::length_delimited, "external_data");
                read_external_entry(info, field);
                add_strip_range(info, field.tag_offset, field.end());
            } else if (const auto payload = payload_field_of(n)) {
                const bool bytes_field = *payload == PayloadField::raw_data || *payload == PayloadField::string_data;
                if (info.payload_field != PayloadField::none && info.payload_field != *payload && !conflict) {
                    conflict = std::string(payload_field_name(info.payload_field)) + " and " +
                               payload_field_name(*payload);
                    conflict_offset = field.tag_offset;
                }
                // Payload fields must be adjacent: the skeleton references them as one byte range.
                if (payload_occurrences > 0 && field.tag_offset != info.payload.end && !conflict) {
                    conflict = std::string(payload_field_name(*payload)) + " split by other fields";
                    conflict_offset = field.tag_offset;
                }
                if (bytes_field || field.type == WireType::length_delimited) {
                    cursor.expect(field, WireType::length_delimited, payload_field_name(*payload));
                } else {
                    cursor.expect(field, unpacked_wire_type(*payload), payload_field_name(*payload));
                }
                if (*payload == PayloadField::float_data || *payload == PayloadField::double_data) {
                    const uint64_t width = *payload == PayloadField::float_data ? 4 : 8;
                    const bool packed_field = field.type == WireType::length_delimited;
                    fixed.numbers += packed_field ? field.length / width : 1;
                    fixed.partial = fixed.partial || (packed_field && field.length % width != 0);
                }
                if (payload_occurrences == 0) {
                    info.payload = {field.value_offset, field.end()};
                    first_payload_tag = field.tag_offset;
                } else {
                    info.payload.end = field.end();
                }
                // One length-delimited field is a contiguous payload; anything else (repeated
                // string_data, unpacked numbers, a packed field split in several) is not.
                ++payload_occurrences;
                info.packed = payload_occurrences == 1 && field.type == WireType::length_delimited &&
                              *payload != PayloadField::string_data;
                info.payload_field = *payload;
                add_strip_range(info, field.tag_offset, field.end());
            }
        }
        // Checked once the whole message is read, so that the error can name the tensor (the name,
        // field 8, is written after dims and the typed payload fields).
        if (negative_dim_) {
            throw FormatError("tensor '" + info.name + "' has negative dim " + std::to_string(negative_dim_->first),
                              negative_dim_->second);
        }
        if (conflict) throw FormatError("tensor '" + info.name + "' has " + *conflict, conflict_offset);
        if (payload_occurrences > 1 && info.payload_field == PayloadField::raw_data) {
            throw FormatError("tensor '" + info.name + "' has raw_data more than once", outer.value_offset);
        }
        // A payload that is not one packed field is kept as whole fields, tags included, so a
        // reader can walk it again.
        if (payload_occurrences > 0 && !info.packed) info.payload.begin = first_payload_tag;
        finish_tensor(info, outer, has_data_type, data_location, fixed);
        index_.tensors.push_back(std::move(info));
    }

    void finish_tensor(TensorInfo& info, const Field& outer, bool has_data_type, int64_t data_location,
                       const FixedCount& fixed) {
        const std::string label = "tensor '" + info.name + "'";
        if (!has_data_type || !dtype_known(info.data_type)) {
            throw FormatError(label + " has " + (has_data_type ? "unknown data_type " + dtype_name(info.data_type)
                                                               : std::string("no data_type")),
                              outer.value_offset);
        }
        uint64_t count = 1;
        for (const int64_t dim : info.dims) {
            const auto d = static_cast<uint64_t>(dim);
            if (d != 0 && count > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / d) {
                throw LimitError(label + ": element count of dims overflows int64", outer.value_offset);
            }
            count *= d;
        }
        info.element_count = count;
        info.byte_size = dtype_storage_bytes(info.data_type, count);
        const bool fixed_size = dtype_bits(info.data_type) != 0;
        if (fixed_size && (!info.byte_size ||
                           *info.byte_size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
            throw LimitError(label + ": byte size of dims overflows int64", outer.value_offset);
        }

        if (data_location == static_cast<int64_t>(f::DataLocation::external)) {
            if (info.payload_field != PayloadField::none) {
                throw FormatError(label + " is EXTERNAL but also holds inline " +
                                      payload_field_name(info.payload_field),
                                  info.payload.begin);
            }
            if (info.location().empty()) {
                throw FormatError(label + " is EXTERNAL but external_data has no location", outer.value_offset);
            }
            const auto length = info.external_length();
            info.external_offset();  // validates the text
            // A stripped typed payload (varints, unpacked fields) is referenced in its encoded form.
            const bool encoded = info.external_data.count(kPayloadFieldKey) != 0;
            if (length && info.byte_size && *length != *info.byte_size && !encoded) {
                throw FormatError(label + ": external_data length " + std::to_string(*length) + " but dims x " +
                                      dtype_name(info.data_type) + " need " + std::to_string(*info.byte_size) +
                                      " bytes",
                                  outer.value_offset);
            }
            info.storage = Storage::external;
            return;
        }
        if (data_location != static_cast<int64_t>(f::DataLocation::default_location)) {
            throw FormatError(label + " has unknown data_location " + std::to_string(data_location),
                              outer.value_offset);
        }
        if (info.payload_field == PayloadField::none) {
            info.storage = Storage::none;
            return;
        }
        info.storage = Storage::inline_data;
        check_inline_size(info, label, fixed);
    }

    // ONNX rule: an inline payload holds exactly the elements the dims promise. Checked where
    // the encoding has a fixed width; varint and string payloads would have to be read.
    static void check_inline_size(const TensorInfo& info, const std::string& label, const FixedCount& fixed) {
        std::optional<uint64_t> expected;
        const bool complex = info.data_type == 14 || info.data_type == 15;
        // Unpacked (or split) float_data / double_data: one number per fixed-width field, so the
        // count is known from the field headers alone.
        if (!info.packed && (info.payload_field == PayloadField::float_data ||
                             info.payload_field == PayloadField::double_data)) {
            const uint64_t per_element = complex ? 2 : 1;
            const bool fits = info.element_count <= UINT64_MAX / per_element;
            if (fixed.partial || !fits || fixed.numbers != info.element_count * per_element) {
                throw FormatError(label + ": " + payload_field_name(info.payload_field) + " holds " +
                                      (fixed.partial ? "a partial number" : std::to_string(fixed.numbers) + " values") +
                                      " but dims x " + dtype_name(info.data_type) + " need " +
                                      (fits ? std::to_string(info.element_count * per_element) : "more"),
                                  info.payload.begin);
            }
            return;
        }
        if (info.payload_field == PayloadField::raw_data) {
            expected = info.byte_size;
        } else if (info.packed && (info.payload_field == PayloadField::float_data ||
                                   info.payload_field == PayloadField::double_data)) {
            const uint64_t width = info.payload_field == PayloadField::float_data ? 4 : 8;
            const uint64_t per_element = width * (complex ? 2 : 1);
            if (info.element_count <= UINT64_MAX / per_element) expected = info.element_count * per_element;
        }
        if (expected && info.payload.size() != *expected) {
            throw FormatError(label + ": " + payload_field_name(info.payload_field) + " holds " +
                                  std::to_string(info.payload.size()) + " bytes but dims x " +
                                  dtype_name(info.data_type) + " need " + std::to_string(*expected),
                              info.payload.begin);
        }
    }

    ByteWindow window_;
    ScanOptions options_;
    TensorIndex index_;
    std::vector<FieldSpan> ancestors_;
    uint64_t copied_ = 0;      // bytes of names and ancestors copied into the index so far
    uint64_t copy_limit_ = 0;  // bound on copied_, from the file size
    std::optional<std::pair<int64_t, uint64_t>> negative_dim_;  // first negative dim of the current tensor
};

}  // namespace

TensorIndex scan(ByteSource& source, const ScanOptions& options) { return Scanner(source, options).run(); }

TensorIndex scan_file(const std::string& path, const ScanOptions& options) {
    FileSource source(path);
    TensorIndex index = scan(source, options);
    index.model_path = path;
    return index;
}

}  // namespace onnx_weightless
