// Declarations that keep ONNX shape inference from crashing. onnx hands an operator's inference
// function a null type for an input it cannot type: the output of an operator it has no schema
// for (a custom domain, an onnxruntime contrib op), of one whose inference failed, or a value
// nothing produces. Many of those functions read through it unchecked (ai.onnx.ml's LabelEncoder
// after a custom op), and the process dies. Declared with an empty TypeProto, such a value has a
// type onnx can read (and fills where it can); the declarations left empty are removed after.
// Both work on the serialized ModelProto, every graph at any depth, and copy all else as it is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace onnx_weightless {

/// `model` with every value its graphs compute or read, and no graph input, value_info entry,
/// initializer or enclosing graph types, declared in value_info with an empty type; a graph output
/// without a type gets an empty one. Throws FormatError when `model` is no well-formed ModelProto,
/// or declares a tensor value with a negative dimension (onnx's Slice inference, built with
/// assertions as its wheels are, aborts the process on one).
std::string declare_untyped_values(std::string_view model);

/// `model` without the value_info entries whose type is still empty, and without the empty types
/// of graph outputs; nullopt when it has none.
std::optional<std::string> remove_empty_types(std::string_view model);

}  // namespace onnx_weightless
