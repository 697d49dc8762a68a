// shape_inference.hpp in a build without ONNX's C++ library: the declared shapes only.
#include "shape_inference.hpp"

namespace onnx_weightless::cli {

std::string shape_inference_version() { return {}; }

bool shape_inference_available() { return false; }

InferredModel infer_shapes(std::string_view skeleton, const std::map<std::string, int64_t>&) {
    return {std::string(skeleton), false,
            "this build has no shape inference: build it with ONNX's C++ library (make cpp does; see the README)"};
}

}  // namespace onnx_weightless::cli
