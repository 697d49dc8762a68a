// The shapes of every value of a skeleton, from ONNX's own C++ shape inference with data
// propagation: what Python's inspect gets from the onnx package (onnx.shape_inference), for the
// CLI. Built with ONNX's C++ library when ONNX_WEIGHTLESS_SHAPE_INFERENCE is on (make builds the
// library: scripts/build_onnx_cpp.sh); shape_inference_unavailable.cpp otherwise, which says so.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace onnx_weightless::cli {

struct InferredModel {
    /// The serialized ModelProto, prepared (below) and with the value_info inference gave; when
    /// inference failed, prepared only, with the shapes the file declares.
    std::string model;
    bool inferred = false;
    /// Why inference failed, or why it was not run.
    std::string error;
};

/// The ONNX release whose inference this build carries; empty when it carries none.
std::string shape_inference_version();
bool shape_inference_available();

/// Prepares `skeleton` (a serialized ModelProto) as Python's inspect does, then infers its shapes:
///   - an input dimension neither numbered nor named is named `<input>_<axis>` (as `symbol_name`
///     in python/onnx_weightless/_graphs.py names it), so that inference carries it as a symbol;
///   - the sizes `dims` gives are fixed in the inputs, so that inference follows numbers through
///     Reshapes and shape arithmetic where it would lose symbols;
///   - model-local functions are inlined, so that each call is costed with its own shapes;
///   - a Loop body's carried inputs declared without a shape take the Loop's inputs' shapes, kept
///     when the body hands each back with the same shape (python/onnx_weightless/_loop_shapes.py).
/// Never throws for a model inference refuses: `inferred` is false and `error` says why.
InferredModel infer_shapes(std::string_view skeleton, const std::map<std::string, int64_t>& dims);

}  // namespace onnx_weightless::cli
