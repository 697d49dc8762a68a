// `onnx-weightless strip`: the model's skeleton (and manifest) written as new files.
#include "onnx_weightless/strip.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "commands.hpp"
#include "onnx_weightless/format.hpp"
#include "onnx_weightless/progress.hpp"

namespace onnx_weightless::cli {

int strip(const std::string& path, const std::string& output, uint64_t threshold, bool force, const std::string& manifest) {
    StripOptions options;
    options.threshold_bytes = threshold;
    options.overwrite = force;
    options.manifest = manifest;
    std::optional<Progress> hashing;
    options.on_tensor_hashed = [&hashing](uint64_t done, uint64_t total) {
        if (!hashing) hashing.emplace("hashing the tensors for the manifest", total, "tensors");
        hashing->update(done);
    };
    StripResult result;
    try {
        result = strip_model(path, output, options);
    } catch (const std::invalid_argument& e) {
        std::cerr << "onnx-weightless: " << e.what() << "\n";
        return 1;
    } catch (const OutputExistsError& e) {
        std::cerr << "onnx-weightless: " << e.what() << "; pass --force to replace it\n";
        return 1;
    }
    std::printf("%s: %s -> %s (%llu tensors stripped, %s of payload left in %s)\n", output.c_str(),
                human_bytes(static_cast<double>(result.model_size)).c_str(),
                human_bytes(static_cast<double>(result.skeleton_size)).c_str(),
                static_cast<unsigned long long>(result.stripped_tensors),
                human_bytes(static_cast<double>(result.stripped_bytes)).c_str(),
                std::filesystem::path(path).filename().string().c_str());
    return 0;
}

}  // namespace onnx_weightless::cli
