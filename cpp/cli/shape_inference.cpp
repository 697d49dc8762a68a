#include "shape_inference.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <optional>
#include <exception>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include <onnx/common/version.h>
#include <onnx/defs/schema.h>
#include <onnx/inliner/inliner.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "onnx_weightless/value_types.hpp"

namespace onnx_weightless::cli {
namespace {

void name_unnamed_dims(onnx::GraphProto& graph) {
    std::set<std::string> initializers;
    for (const auto& initializer : graph.initializer()) initializers.insert(initializer.name());
    for (auto& value : *graph.mutable_input()) {
        if (initializers.count(value.name()) || !value.type().has_tensor_type() || !value.type().tensor_type().has_shape()) continue;
        auto* shape = value.mutable_type()->mutable_tensor_type()->mutable_shape();
        for (int axis = 0; axis < shape->dim_size(); ++axis) {
            auto* dim = shape->mutable_dim(axis);
            if (!dim->has_dim_value() && dim->dim_param().empty()) dim->set_dim_param(value.name() + "_" + std::to_string(axis));
        }
    }
}

void fix_input_sizes(onnx::GraphProto& graph, const std::map<std::string, int64_t>& dims) {
    for (auto& value : *graph.mutable_input()) {
        if (!value.type().has_tensor_type()) continue;
        auto* shape = value.mutable_type()->mutable_tensor_type()->mutable_shape();
        for (auto& dim : *shape->mutable_dim()) {
            if (!dim.has_dim_param()) continue;
            auto size = dims.find(dim.dim_param());
            if (size != dims.end()) dim.set_dim_value(size->second);
        }
    }
}

/// A scalar constant's value, when it is one of the plain number types stored as raw_data or in
/// its typed field.
std::optional<double> scalar_value(const onnx::TensorProto& t) {
    int64_t count = 1;
    for (int64_t d : t.dims()) count *= d;
    if (count != 1) return std::nullopt;
    const std::string& raw = t.raw_data();
    auto from_raw = [&raw](auto zero) -> std::optional<double> {
        if (raw.size() != sizeof(zero)) return std::nullopt;
        std::memcpy(&zero, raw.data(), sizeof(zero));
        return static_cast<double>(zero);
    };
    switch (t.data_type()) {
        case onnx::TensorProto::INT64:
            return t.has_raw_data() ? from_raw(int64_t{}) : t.int64_data_size() == 1 ? std::optional<double>(t.int64_data(0)) : std::nullopt;
        case onnx::TensorProto::INT32:
            return t.has_raw_data() ? from_raw(int32_t{}) : t.int32_data_size() == 1 ? std::optional<double>(t.int32_data(0)) : std::nullopt;
        case onnx::TensorProto::FLOAT:
            return t.has_raw_data() ? from_raw(float{}) : t.float_data_size() == 1 ? std::optional<double>(t.float_data(0)) : std::nullopt;
        case onnx::TensorProto::DOUBLE:
            return t.has_raw_data() ? from_raw(double{}) : t.double_data_size() == 1 ? std::optional<double>(t.double_data(0)) : std::nullopt;
        default: return std::nullopt;
    }
}

// A Range of more elements than this, from constant bounds, is not propagated as data.
constexpr double kMostPropagated = 1 << 20;

/// python/onnx_weightless/_inspect.py's _propagation_is_bounded: ONNX's data propagation computes
/// a Range of constant bounds element by element, so a hostile one would never end.
bool propagation_is_bounded(const onnx::GraphProto& graph) {
    std::map<std::string, const onnx::TensorProto*> constants;
    for (const auto& t : graph.initializer()) constants[t.name()] = &t;
    for (const auto& node : graph.node()) {
        if (node.op_type() != "Constant" || node.output_size() == 0) continue;
        for (const auto& a : node.attribute()) {
            if (a.name() == "value" && a.has_t()) constants[node.output(0)] = &a.t();
        }
    }
    for (const auto& node : graph.node()) {
        for (const auto& a : node.attribute()) {
            if (a.has_g() && !propagation_is_bounded(a.g())) return false;
            for (const auto& g : a.graphs()) {
                if (!propagation_is_bounded(g)) return false;
            }
        }
        if (node.op_type() != "Range" || node.input_size() != 3) continue;
        std::optional<double> bounds[3];
        for (int i = 0; i < 3; ++i) {
            auto it = constants.find(node.input(i));
            if (it != constants.end()) bounds[i] = scalar_value(*it->second);
        }
        if (bounds[0] && bounds[1] && bounds[2] && *bounds[2] != 0 && (*bounds[1] - *bounds[0]) / *bounds[2] > kMostPropagated) {
            return false;
        }
    }
    return true;
}

/// Where a node leaves empty an input its operator's schema requires: onnx's inference functions
/// read such an input's type unchecked (ai.onnx.ml's LabelEncoder), and the process dies; "" when
/// no node does. python/onnx_weightless/_shape_inference.py, the same test.
std::string empty_required_input(const onnx::GraphProto& graph, const std::map<std::string, int>& opsets) {
    for (int index = 0; index < graph.node_size(); ++index) {
        const onnx::NodeProto& node = graph.node(index);
        for (const auto& attribute : node.attribute()) {
            if (attribute.has_g()) {
                if (auto found = empty_required_input(attribute.g(), opsets); !found.empty()) return found;
            }
            for (const auto& subgraph : attribute.graphs()) {
                if (auto found = empty_required_input(subgraph, opsets); !found.empty()) return found;
            }
        }
        const std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
        const auto version = opsets.find(domain);
        if (version == opsets.end()) continue;
        const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), version->second, domain);
        if (!schema || schema->inputs().empty()) continue;
        const auto& formal = schema->inputs();
        for (int position = 0; position < node.input_size(); ++position) {
            if (!node.input(position).empty()) continue;
            const auto& parameter = formal[std::min<size_t>(position, formal.size() - 1)];
            const bool variadic = parameter.GetOption() == onnx::OpSchema::Variadic;
            if (static_cast<size_t>(position) >= formal.size() && !variadic) break;  // past what the schema reads
            if (parameter.GetOption() != onnx::OpSchema::Optional) {
                return "node " + std::to_string(index) + " ('" + node.name() + "', " + (domain.empty() ? "ai.onnx" : domain) + "::" +
                       node.op_type() + "), input " + std::to_string(position) + ": is empty, but " + node.op_type() + "-" +
                       std::to_string(schema->since_version()) + " requires it ('' leaves out an optional input only)";
            }
        }
    }
    return "";
}

/// ONNX shape inference on `model`, its untyped values declared first so that no operator's
/// inference reads a null type (value_types.hpp, as python/onnx_weightless/_shape_inference.py).
/// `model` is left as it was when inference throws.
void infer(onnx::ModelProto& model) {
    const onnx::ShapeInferenceOptions options(/*check_type=*/false, /*strict_mode=*/0,
                                              /*data_prop=*/propagation_is_bounded(model.graph()));
    std::map<std::string, int> opsets;
    for (const auto& opset : model.opset_import()) {
        if (opset.version() >= 0 && opset.version() <= INT_MAX) opsets[opset.domain() == "ai.onnx" ? "" : opset.domain()] = static_cast<int>(opset.version());
    }
    if (const std::string empty = empty_required_input(model.graph(), opsets); !empty.empty()) {
        throw std::runtime_error("ONNX shape inference cannot run: " + empty);
    }
    std::string bytes;
    model.SerializeToString(&bytes);
    onnx::ModelProto declared;
    const std::string declared_bytes = declare_untyped_values(bytes);
    if (declared_bytes.size() > INT_MAX || !declared.ParseFromArray(declared_bytes.data(), static_cast<int>(declared_bytes.size()))) {
        throw std::runtime_error("the model with its untyped values declared could not be parsed");
    }
    onnx::shape_inference::InferShapes(declared, onnx::OpSchemaRegistry::Instance(), options);
    declared.SerializeToString(&bytes);
    const std::optional<std::string> cleaned = remove_empty_types(bytes);
    if (!cleaned) {
        model = std::move(declared);
    } else if (!model.ParseFromString(*cleaned)) {
        throw std::runtime_error("the inferred model could not be parsed");
    }
}

std::set<std::string> input_symbols(const onnx::GraphProto& graph) {
    std::set<std::string> symbols;
    for (const auto& value : graph.input()) {
        for (const auto& dim : value.type().tensor_type().shape().dim()) {
            if (!dim.dim_param().empty()) symbols.insert(dim.dim_param());
        }
    }
    return symbols;
}

bool sized(const onnx::ValueInfoProto& value, const std::set<std::string>& symbols) {
    if (!value.type().has_tensor_type() || !value.type().tensor_type().has_shape()) return false;
    for (const auto& dim : value.type().tensor_type().shape().dim()) {
        if (!dim.has_dim_value() && !symbols.count(dim.dim_param())) return false;
    }
    return true;
}

bool same_shape(const onnx::ValueInfoProto& a, const onnx::ValueInfoProto& b) {
    const auto& x = a.type().tensor_type();
    const auto& y = b.type().tensor_type();
    if (!x.has_shape() || !y.has_shape() || x.shape().dim_size() != y.shape().dim_size()) return false;
    for (int i = 0; i < x.shape().dim_size(); ++i) {
        const auto& p = x.shape().dim(i);
        const auto& q = y.shape().dim(i);
        const bool values = p.has_dim_value() && q.has_dim_value() && p.dim_value() == q.dim_value();
        const bool params = !p.dim_param().empty() && p.dim_param() == q.dim_param();
        if (!values && !params) return false;
    }
    return true;
}

onnx::GraphProto* body_of(onnx::NodeProto& node) {
    for (auto& attribute : *node.mutable_attribute()) {
        if (attribute.name() == "body" && attribute.has_g()) return attribute.mutable_g();
    }
    return nullptr;
}

/// python/onnx_weightless/_loop_shapes.py, the same steps: the shapes of the values Loops carry,
/// given to their bodies where the exporter left them out, kept when every one holds.
void with_loop_shapes(const onnx::ModelProto& model, onnx::ModelProto& inferred) {
    const std::set<std::string> symbols = input_symbols(inferred.graph());
    std::map<std::string, const onnx::ValueInfoProto*> types;
    for (const auto* list : {&inferred.graph().input(), &inferred.graph().value_info(), &inferred.graph().output()}) {
        for (const auto& value : *list) types.emplace(value.name(), &value);
    }
    onnx::ModelProto seeded = model;
    std::vector<std::pair<int, int>> seeds;
    for (int index = 0; index < seeded.graph().node_size(); ++index) {
        onnx::NodeProto& node = *seeded.mutable_graph()->mutable_node(index);
        onnx::GraphProto* body = node.op_type() == "Loop" && (node.domain().empty() || node.domain() == "ai.onnx") ? body_of(node) : nullptr;
        if (!body) continue;
        const size_t before = seeds.size();
        for (int k = 0; k + 2 < node.input_size(); ++k) {
            auto outer = types.find(node.input(k + 2));
            if (k + 2 >= body->input_size() || outer == types.end()) continue;
            onnx::ValueInfoProto& inner = *body->mutable_input(k + 2);
            if (sized(*outer->second, symbols) && !sized(inner, symbols)) {
                *inner.mutable_type() = outer->second->type();
                seeds.emplace_back(index, k);
            }
        }
        if (seeds.size() == before) continue;
        // What the exporter declared inside the body is inferred again from the seeded inputs.
        body->clear_value_info();
        for (auto& output : *body->mutable_output()) {
            if (!output.type().has_tensor_type() || !output.type().tensor_type().has_shape()) continue;  // nothing to forget
            for (auto& dim : *output.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim()) {
                if (!dim.dim_param().empty() && !symbols.count(dim.dim_param())) dim.Clear();
            }
        }
    }
    if (seeds.empty()) return;
    try {
        infer(seeded);
    } catch (const std::exception&) {
        return;  // the first inference stands
    }
    for (const auto& [index, k] : seeds) {
        onnx::GraphProto* body = body_of(*seeded.mutable_graph()->mutable_node(index));
        if (!body || k + 1 >= body->output_size() || !same_shape(body->input(k + 2), body->output(k + 1))) return;
    }
    inferred = std::move(seeded);
}

}  // namespace

std::string shape_inference_version() { return ONNX_VERSION_STRING; }

bool shape_inference_available() { return true; }

InferredModel infer_shapes(std::string_view skeleton, const std::map<std::string, int64_t>& dims) {
    InferredModel result;
    onnx::ModelProto model;
    if (skeleton.size() > INT_MAX || !model.ParseFromArray(skeleton.data(), static_cast<int>(skeleton.size()))) {
        result.model = std::string(skeleton);
        result.error = "protobuf could not parse the skeleton";
        return result;
    }
    name_unnamed_dims(*model.mutable_graph());
    fix_input_sizes(*model.mutable_graph(), dims);
    if (model.functions_size() > 0) {
        onnx::ModelProto inlined = model;
        try {
            onnx::inliner::InlineLocalFunctions(inlined, false);
            model = std::move(inlined);
        } catch (const std::exception&) {
            // The calls stay, uncosted with the reason.
        }
    }
    onnx::ModelProto inferred = model;
    try {
        infer(inferred);
        result.inferred = true;
    } catch (const std::exception& e) {
        result.error = e.what();
    }
    if (result.inferred) {
        with_loop_shapes(model, inferred);
        inferred.SerializeToString(&result.model);
    } else {
        model.SerializeToString(&result.model);  // the declared shapes remain
    }
    return result;
}

}  // namespace onnx_weightless::cli
