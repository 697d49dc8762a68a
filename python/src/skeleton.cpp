#include "onnx_weightless/skeleton.hpp"

#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include "bindings.hpp"
#include "onnx_weightless/scan.hpp"
#include "onnx_weightless/strip.hpp"

namespace nb = nanobind;

namespace onnx_weightless::python {
namespace {

/// Scan + skeleton in one pass over the source. Returns (skeleton bytes, stripped tensors,
/// stripped payload bytes, bytes read from the source, the scan's TensorIndex).
std::tuple<nb::bytes, uint64_t, uint64_t, uint64_t, TensorIndex> skeleton_of(ByteSource& source, uint64_t threshold,
                                                                              const std::string& model_location) {
    SkeletonResult result;
    TensorIndex index;
    {
        nb::gil_scoped_release release;
        index = scan(source);
        SkeletonPolicy policy;
        policy.threshold_bytes = threshold;
        policy.model_location = model_location;
        result = write_skeleton(source, index, policy);
    }
    return {nb::bytes(result.bytes.data(), result.bytes.size()), result.stripped_tensors, result.stripped_bytes,
            source.bytes_read(), std::move(index)};
}

}  // namespace

void init_skeleton(nb::module_& m) {
    m.attr("PAYLOAD_FIELD_KEY") = kPayloadFieldKey;
    m.attr("PACKED_KEY") = kPackedKey;
    m.def(
        "skeleton_file",
        [](const std::string& path, uint64_t threshold, const std::string& model_location) {
            FileSource source(path);
            return skeleton_of(source, threshold, model_location);
        },
        nb::arg("path"), nb::arg("threshold"), nb::arg("model_location"),
        "Skeleton of the model at `path`: (bytes, stripped tensors, stripped bytes, bytes read, TensorIndex).");
    m.def(
        "skeleton_bytes",
        [](nb::bytes data, uint64_t threshold, const std::string& model_location) {
            MemorySource source(std::string_view(data.c_str(), data.size()));
            return skeleton_of(source, threshold, model_location);
        },
        nb::arg("data"), nb::arg("threshold"), nb::arg("model_location"),
        "Skeleton of a serialized ModelProto: (bytes, stripped tensors, stripped bytes, bytes read, TensorIndex).");
    m.def(
        "strip_model",
        [](const std::string& model, const std::string& skeleton, uint64_t threshold, bool overwrite,
           const std::string& manifest) {
            StripOptions options;
            options.threshold_bytes = threshold;
            options.overwrite = overwrite;
            options.manifest = manifest;
            StripResult result;
            {
                nb::gil_scoped_release release;
                result = strip_model(model, skeleton, options);
            }
            return result.skeleton_size;
        },
        nb::arg("model"), nb::arg("skeleton"), nb::arg("threshold"), nb::arg("overwrite"), nb::arg("manifest"),
        "Writes the skeleton (and the manifest, unless empty) as new files; returns the skeleton's size.");
}

}  // namespace onnx_weightless::python
