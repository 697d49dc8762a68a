#include "onnx_weightless/value_types.hpp"

#include <set>
#include <vector>

#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>
#include <protozero/pbf_writer.hpp>

#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/graph.hpp"
#include "onnx_weightless/limits.hpp"
#include "onnx_weightless/onnx_fields.hpp"

namespace onnx_weightless {
namespace {

namespace f = fields;
using fields::number;
using Reader = protozero::pbf_reader;

constexpr auto kLengthDelimited = protozero::pbf_wire_type::length_delimited;

Reader reader(std::string_view bytes) { return Reader(bytes.data(), bytes.size()); }
std::string_view view(const protozero::data_view& v) { return {v.data(), v.size()}; }

/// The field `r` just read, tag and value, as it is in the input.
std::string_view raw_field(const char* before, const Reader& r) {
    return {before, static_cast<size_t>(r.data().data() - before)};
}

bool is_message(const Reader& r) { return r.wire_type() == kLengthDelimited; }

/// Whether a serialized ValueInfoProto holds a type field.
bool has_type(std::string_view value_info) {
    Reader r = reader(value_info);
    while (r.next()) {
        if (r.tag() == number(f::ValueInfo::type) && is_message(r)) return true;
        r.skip();
    }
    return false;
}

std::string name_of(std::string_view message, uint32_t field) {
    Reader r = reader(message);
    std::string name;
    while (r.next()) {
        if (r.tag() == field && is_message(r)) name = r.get_string();
        else r.skip();
    }
    return name;
}

/// The first field `field` of a serialized message, if it has one of length-delimited type.
std::optional<std::string_view> submessage(std::string_view message, uint32_t field) {
    Reader r = reader(message);
    while (r.next()) {
        if (r.tag() == field && is_message(r)) return view(r.get_view());
        r.skip();
    }
    return std::nullopt;
}

/// Refuses a tensor value declared with a negative dimension: onnx's Slice inference clamps to
/// bounds computed from it and, built with assertions (as its wheels are), aborts the process.
void check_dims(std::string_view value_info) {
    const auto type = submessage(value_info, number(f::ValueInfo::type));
    const auto tensor = type ? submessage(*type, number(f::Type::tensor_type)) : std::nullopt;
    const auto shape = tensor ? submessage(*tensor, number(f::TensorType::shape)) : std::nullopt;
    if (!shape) return;
    Reader dims = reader(*shape);
    for (size_t axis = 0; dims.next(); ++axis) {
        if (dims.tag() != number(f::TensorShape::dim) || !is_message(dims)) {
            dims.skip();
            continue;
        }
        Reader dim = reader(view(dims.get_view()));
        while (dim.next()) {
            if (dim.tag() == number(f::Dimension::dim_value) && dim.wire_type() == protozero::pbf_wire_type::varint) {
                const int64_t value = dim.get_int64();
                if (value < 0) {
                    throw FormatError("value '" + name_of(value_info, number(f::ValueInfo::name)) + "', dimension " +
                                      std::to_string(axis) + ": is negative (" + std::to_string(value) + ")");
                }
            } else {
                dim.skip();
            }
        }
    }
}

/// Whether a serialized TypeProto holds no value: no tensor, sequence, map, opaque, sparse or
/// optional type.
bool empty_type(std::string_view type) {
    Reader r = reader(type);
    while (r.next()) {
        switch (r.tag()) {
            case number(f::Type::tensor_type):
            case number(f::Type::sequence_type):
            case number(f::Type::map_type):
            case number(f::Type::opaque_type):
            case number(f::Type::sparse_tensor_type):
            case number(f::Type::optional_type): return false;
            default: r.skip();
        }
    }
    return true;
}

void check_depth(uint32_t depth) {
    if (depth > limits::kMaxGraphDepth) {
        throw LimitError("subgraphs nest more than " + std::to_string(limits::kMaxGraphDepth) + " deep");
    }
}

/// `node` with each graph its attributes hold passed through `rewrite` (a graph's bytes to its new
/// bytes, or nullopt to keep it); nullopt when every graph was kept.
template <typename Rewrite>
std::optional<std::string> with_subgraphs_rewritten(std::string_view node, Rewrite rewrite) {
    std::string out;
    protozero::pbf_writer w(out);
    bool changed = false;
    Reader r = reader(node);
    while (true) {
        const char* before = r.data().data();
        if (!r.next()) break;
        if (r.tag() != number(f::Node::attribute) || !is_message(r)) {
            r.skip();
            out.append(raw_field(before, r));
            continue;
        }
        std::string attribute;
        protozero::pbf_writer a(attribute);
        bool attribute_changed = false;
        Reader ar = reader(view(r.get_view()));
        while (true) {
            const char* at = ar.data().data();
            if (!ar.next()) break;
            const uint32_t tag = ar.tag();
            if ((tag != number(f::Attribute::g) && tag != number(f::Attribute::graphs)) || !is_message(ar)) {
                ar.skip();
                attribute.append(raw_field(at, ar));
                continue;
            }
            const std::string_view graph = view(ar.get_view());
            const std::optional<std::string> rewritten = rewrite(graph);
            attribute_changed |= rewritten.has_value();
            if (rewritten) a.add_message(tag, *rewritten);
            else a.add_message(tag, graph.data(), graph.size());
        }
        changed |= attribute_changed;
        if (attribute_changed) w.add_message(number(f::Node::attribute), attribute);
        else out.append(raw_field(before, r));
    }
    if (!changed) return std::nullopt;
    return out;
}

// ------------------------------------------------------------------------------------ declaring

std::string declared_graph(std::string_view graph, const NameScope* outer, uint32_t depth) {
    check_depth(depth);
    NameScope scope{{}, outer};
    std::vector<std::string> read_or_written;  // node inputs and outputs, in order
    Reader r = reader(graph);
    while (r.next()) {
        if (!is_message(r)) {
            r.skip();
            continue;
        }
        const std::string_view value = view(r.get_view());
        switch (r.tag()) {
            case number(f::Graph::input):
            case number(f::Graph::value_info):
                check_dims(value);
                if (has_type(value)) scope.names.insert(name_of(value, number(f::ValueInfo::name)));
                break;
            case number(f::Graph::output):
                check_dims(value);
                scope.names.insert(name_of(value, number(f::ValueInfo::name)));
                break;
            case number(f::Graph::initializer): scope.names.insert(name_of(value, number(f::Tensor::name))); break;
            case number(f::Graph::sparse_initializer): {
                Reader s = reader(value);
                while (s.next()) {
                    if (s.tag() == number(f::SparseTensor::values) && is_message(s)) {
                        scope.names.insert(name_of(view(s.get_view()), number(f::Tensor::name)));
                    } else {
                        s.skip();
                    }
                }
                break;
            }
            case number(f::Graph::node): {
                Reader n = reader(value);
                while (n.next()) {
                    const bool name = (n.tag() == number(f::Node::input) || n.tag() == number(f::Node::output)) && is_message(n);
                    if (name) read_or_written.push_back(n.get_string());
                    else n.skip();
                }
                break;
            }
            default: break;
        }
    }
    std::vector<std::string> untyped;
    for (auto& name : read_or_written) {
        if (!name.empty() && !scope.has(name)) {
            scope.names.insert(name);
            untyped.push_back(std::move(name));
        }
    }
    // Subgraphs see every value of this graph typed (declared now, if not before).
    std::string out;
    protozero::pbf_writer w(out);
    Reader again = reader(graph);
    while (true) {
        const char* before = again.data().data();
        if (!again.next()) break;
        if (again.tag() == number(f::Graph::node) && is_message(again)) {
            const std::string_view node = view(again.get_view());
            const auto declared = with_subgraphs_rewritten(
                node, [&](std::string_view sub) { return std::optional<std::string>(declared_graph(sub, &scope, depth + 1)); });
            if (declared) w.add_message(number(f::Graph::node), *declared);
            else out.append(raw_field(before, again));
        } else if (again.tag() == number(f::Graph::output) && is_message(again)) {
            const std::string_view output = view(again.get_view());
            if (has_type(output)) {
                out.append(raw_field(before, again));
            } else {
                std::string typed(output);
                protozero::pbf_writer(typed).add_message(number(f::ValueInfo::type), std::string());
                w.add_message(number(f::Graph::output), typed);
            }
        } else {
            again.skip();
            out.append(raw_field(before, again));
        }
    }
    for (const auto& name : untyped) {
        std::string value_info;
        protozero::pbf_writer v(value_info);
        v.add_string(number(f::ValueInfo::name), name);
        v.add_message(number(f::ValueInfo::type), std::string());
        w.add_message(number(f::Graph::value_info), value_info);
    }
    return out;
}

// ------------------------------------------------------------------------------------- removing

/// The graph without its empty declarations; nullopt when it (and its subgraphs) has none.
std::optional<std::string> without_empty_graph(std::string_view graph, uint32_t depth) {
    check_depth(depth);
    std::string out;
    protozero::pbf_writer w(out);
    bool changed = false;
    Reader r = reader(graph);
    while (true) {
        const char* before = r.data().data();
        if (!r.next()) break;
        const uint32_t tag = r.tag();
        if (!is_message(r) || (tag != number(f::Graph::value_info) && tag != number(f::Graph::output) &&
                               tag != number(f::Graph::node))) {
            r.skip();
            out.append(raw_field(before, r));
            continue;
        }
        const std::string_view value = view(r.get_view());
        if (tag == number(f::Graph::node)) {
            auto cleaned = with_subgraphs_rewritten(value, [depth](std::string_view sub) { return without_empty_graph(sub, depth + 1); });
            changed |= cleaned.has_value();
            if (cleaned) w.add_message(tag, *cleaned);
            else out.append(raw_field(before, r));
            continue;
        }
        // A value_info entry or a graph output: its type, if empty, goes (and the entry with it).
        std::string kept;
        bool empty = false;
        Reader v = reader(value);
        while (true) {
            const char* at = v.data().data();
            if (!v.next()) break;
            if (v.tag() == number(f::ValueInfo::type) && is_message(v)) {
                if (empty_type(view(v.get_view()))) {
                    empty = true;
                    continue;
                }
            } else {
                v.skip();
            }
            kept.append(raw_field(at, v));
        }
        if (!empty) {
            out.append(raw_field(before, r));
            continue;
        }
        changed = true;
        if (tag == number(f::Graph::output)) w.add_message(tag, kept);
    }
    if (!changed) return std::nullopt;
    return out;
}

template <typename Rewrite>
auto rewrite_graph_field(std::string_view model, Rewrite rewrite) {
    std::string out;
    protozero::pbf_writer w(out);
    bool changed = false;
    Reader r = reader(model);
    while (true) {
        const char* before = r.data().data();
        if (!r.next()) break;
        if (r.tag() == number(f::Model::graph) && is_message(r)) {
            std::optional<std::string> graph = rewrite(view(r.get_view()));
            changed |= graph.has_value();
            if (graph) w.add_message(number(f::Model::graph), *graph);
            else out.append(raw_field(before, r));
        } else {
            r.skip();
            out.append(raw_field(before, r));
        }
    }
    return std::make_pair(changed, out);
}

}  // namespace

std::string declare_untyped_values(std::string_view model) {
    try {
        return rewrite_graph_field(model, [](std::string_view graph) {
                   return std::optional<std::string>(declared_graph(graph, nullptr, 0));
               }).second;
    } catch (const protozero::exception& e) {
        throw FormatError(std::string("the model is no well-formed ModelProto: ") + e.what());
    }
}

std::optional<std::string> remove_empty_types(std::string_view model) {
    try {
        auto [changed, out] = rewrite_graph_field(model, [](std::string_view graph) { return without_empty_graph(graph, 0); });
        if (!changed) return std::nullopt;
        return out;
    } catch (const protozero::exception& e) {
        throw FormatError(std::string("the model is no well-formed ModelProto: ") + e.what());
    }
}

}  // namespace onnx_weightless
