#include "onnx_weightless/validate.hpp"

#include <map>
#include <set>

#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/limits.hpp"
#include "onnx_weightless/onnx_fields.hpp"

namespace onnx_weightless {
namespace {

namespace f = fields;
using fields::number;

/// The field AttributeProto.type says holds the value (AttributeProto.AttributeType).
uint32_t field_of_type(int32_t type) {
    switch (type) {
        case 1: return number(f::Attribute::f);
        case 2: return number(f::Attribute::i);
        case 3: return number(f::Attribute::s);
        case 4: return number(f::Attribute::t);
        case 5: return number(f::Attribute::g);
        case 6: return number(f::Attribute::floats);
        case 7: return number(f::Attribute::ints);
        case 8: return number(f::Attribute::strings);
        case 9: return number(f::Attribute::tensors);
        case 10: return number(f::Attribute::graphs);
        case 11: return number(f::Attribute::sparse_tensor);
        case 12: return number(f::Attribute::sparse_tensors);
        case 13: return number(f::Attribute::tp);
        case 14: return number(f::Attribute::type_protos);
        default: return 0;
    }
}

bool is_list_type(int32_t type) { return type >= 6 && type <= 10 ? true : type == 12 || type == 14; }

class Validator {
public:
    void graph(const GraphView& g, const NameScope* outer, const std::string& where) {
        NameScope visible{{}, outer};
        std::map<std::string, size_t> producers;  // every node output of this graph, to say which comes too late
        for (size_t i = 0; i < g.nodes.size(); ++i) {
            for (const auto& output : g.nodes[i].outputs) producers.emplace(output, i);
        }
        for (const auto& [name, type] : g.values) value(name, type, where);
        for (const auto& name : g.inputs) visible.names.insert(name);
        for (const auto& name : g.initializers) visible.names.insert(name);
        for (size_t i = 0; i < g.nodes.size(); ++i) {
            const GraphNode& n = g.nodes[i];
            const std::string label = where + "node " + std::to_string(i) + " ('" + printable(n.name) + "', " +
                                      printable(n.domain.empty() ? "ai.onnx" : n.domain) + "::" + printable(n.op_type) + ")";
            text(n.name, label, "name");
            text(n.op_type, label, "op_type");
            text(n.domain, label, "domain");
            if (n.op_type.empty()) fail(label, "op_type", "is empty");
            for (size_t k = 0; k < n.inputs.size(); ++k) {
                const std::string& input = n.inputs[k];
                text(input, label, "input " + std::to_string(k));
                if (!input.empty() && !visible.has(input)) {
                    auto later = producers.find(input);
                    if (later != producers.end()) {
                        const GraphNode& p = g.nodes[later->second];
                        fail(label, "input " + std::to_string(k),
                             "value '" + printable(input) + "' is read before node '" + printable(p.name) + "' (" + printable(p.op_type) +
                                 ") produces it: an ONNX graph lists its nodes in topological order");
                    }
                    fail(label, "input " + std::to_string(k),
                         "'" + printable(input) + "' is produced by no graph input, initializer, earlier node or enclosing graph");
                }
            }
            for (const auto& [name, attribute] : n.attributes) {
                text(name, label, "attribute name");
                this->attribute(name, attribute, label);
                for (size_t k = 0; k < attribute.graphs.size(); ++k) {
                    graph(attribute.graphs[k], &visible, label + ", attribute '" + printable(name) + "': ");
                }
            }
            for (size_t k = 0; k < n.outputs.size(); ++k) {
                text(n.outputs[k], label, "output " + std::to_string(k));
                if (!n.outputs[k].empty()) visible.names.insert(n.outputs[k]);
            }
        }
        for (const auto& name : g.outputs) {
            if (!visible.has(name)) {
                fail(where + "graph output '" + printable(name) + "'", "name", "is produced by no node, graph input or initializer");
            }
        }
    }

    void opsets(const std::vector<OpsetImport>& imports) {
        for (const auto& opset : imports) {
            const std::string what = "opset_import '" + printable(opset.domain.empty() ? "ai.onnx" : opset.domain) + "'";
            text(opset.domain, what, "domain");
            if (opset.version < 0 || opset.version > limits::kMaxOpsetVersion) {
                fail(what, "version", std::to_string(opset.version) + " is out of range (0 to " +
                                          std::to_string(limits::kMaxOpsetVersion) + ")");
            }
        }
    }

private:
    static std::string printable(const std::string& s) {
        if (valid_utf8(s)) return s.size() > 200 ? s.substr(0, 200) + "…" : s;
        return "(not UTF-8)";
    }
    [[noreturn]] static void fail(const std::string& what, const std::string& field, const std::string& why) {
        throw FormatError("[validate] " + what + ", " + field + ": " + why);
    }
    static void text(const std::string& s, const std::string& what, const std::string& field) {
        if (!valid_utf8(s)) fail(what, field, "is not valid UTF-8");
    }
    static void value(const std::string& name, const ValueType& type, const std::string& where) {
        const std::string what = where + "value '" + printable(name) + "'";
        text(name, what, "name");
        for (size_t k = 0; k < type.dims.size(); ++k) {
            if (type.dims[k].negative) fail(what, "dimension " + std::to_string(k), "is negative");
            text(type.dims[k].symbol, what, "dimension " + std::to_string(k));
        }
    }
    void attribute(const std::string& name, const AttributeValue& value, const std::string& label) {
        const std::string field = "attribute '" + printable(name) + "'";
        // ONNX's STRING and STRINGS attributes are UTF-8 text; converters decode them.
        text(value.s, label, field);
        for (size_t k = 0; k < value.strings.size(); ++k) text(value.strings[k], label, field + ", string " + std::to_string(k));
        if (value.reference || value.type == 0) return;  // a function's reference; or an old file's untyped one
        const uint32_t expected = field_of_type(value.type);
        if (expected == 0) fail(label, field, "has the unknown type " + std::to_string(value.type));
        const uint32_t others = value.fields & ~(1u << expected);
        if (others != 0) fail(label, field, "of type " + std::to_string(value.type) + " holds a value in another field");
        if (!is_list_type(value.type) && !(value.fields & (1u << expected))) {
            fail(label, field, "of type " + std::to_string(value.type) + " holds no value");
        }
    }
};

}  // namespace

bool valid_utf8(const std::string& text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    for (size_t i = 0; i < n;) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t length;
        uint32_t point;
        if ((c & 0xE0) == 0xC0) length = 2, point = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) length = 3, point = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) length = 4, point = c & 0x07;
        else return false;
        if (i + length > n) return false;
        for (size_t k = 1; k < length; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            point = (point << 6) | (s[i + k] & 0x3F);
        }
        static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (point < kSmallest[length] || point > 0x10FFFF || (point >= 0xD800 && point <= 0xDFFF)) return false;
        i += length;
    }
    return true;
}

void validate_graph(const GraphView& graph) {
    Validator validator;
    validator.opsets(graph.opsets);
    validator.graph(graph, nullptr, "");
}

}  // namespace onnx_weightless
