#include "shape_inference.hpp"

#include <climits>
#include <exception>
#include <set>

#include <onnx/common/version.h>
#include <onnx/defs/schema.h>
#include <onnx/inliner/inliner.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

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
    onnx::ModelProto prepared = model;
    try {
        const onnx::ShapeInferenceOptions options(/*check_type=*/false, /*strict_mode=*/0, /*data_prop=*/true);
        onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
        result.inferred = true;
    } catch (const std::exception& e) {
        model = std::move(prepared);  // the declared shapes remain
        result.error = e.what();
    }
    model.SerializeToString(&result.model);
    return result;
}

}  // namespace onnx_weightless::cli
