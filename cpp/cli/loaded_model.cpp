#include "loaded_model.hpp"

#include <chrono>
#include <filesystem>

#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/progress.hpp"
#include "onnx_weightless/scan.hpp"
#include "onnx_weightless/skeleton.hpp"

namespace onnx_weightless::cli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

LoadedModel load_model(const std::string& path, const std::map<std::string, int64_t>& dims, size_t largest) {
    LoadedModel model;
    Progress steps("reading " + std::filesystem::path(path).filename().string(), 4, "steps");
    auto start = std::chrono::steady_clock::now();
    FileSource source(path);
    model.index = scan(source);
    steps.update(1);
    model.scan_seconds = seconds_since(start);
    model.scan_bytes_read = source.bytes_read();
    model.scan_reads = source.read_calls();
    // The graph is analysed on the skeleton: the same model minus payloads, kilobytes in memory.
    SkeletonPolicy policy;
    policy.model_location = std::filesystem::path(path).filename().string();
    const SkeletonResult skeleton = write_skeleton(source, model.index, policy);
    steps.update(2);
    // Shapes as Python's inspect gets them: ONNX's inference with data propagation, on the skeleton.
    start = std::chrono::steady_clock::now();
    model.inferred = infer_shapes(skeleton.bytes, dims);
    model.inference_seconds = seconds_since(start);
    steps.update(3);
    model.graph = read_graph(model.inferred.model);
    AnalysisOptions options;
    options.dims = dims;
    options.largest = largest;
    model.analysis = analyze(model.graph, options);
    steps.update(4);
    return model;
}

}  // namespace onnx_weightless::cli
