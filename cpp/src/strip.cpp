#include "onnx_weightless/strip.hpp"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/digest.hpp"
#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/file_writer.hpp"
#include "onnx_weightless/scan.hpp"
#include "onnx_weightless/skeleton.hpp"

namespace onnx_weightless {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// Every tensor of the model: what it is, where its bytes are, and their SHA-256 when present.
json manifest_json(ByteSource& source, const TensorIndex& index, const SkeletonPolicy& policy,
                   const DataFolder& folder, const std::string& skeleton_name, uint64_t skeleton_size,
                   const std::function<void(uint64_t, uint64_t)>& on_hashed) {
    json tensors = json::array();
    for (const auto& t : index.tensors) {
        json entry = {{"name", t.name}, {"dtype", dtype_name(t.data_type)}, {"dims", t.dims},
                      {"bytes", t.byte_size ? json(*t.byte_size) : json(nullptr)},
                      {"storage", storage_name(t.storage)}, {"role", tensor_role_name(t.role)},
                      {"stripped", strips(t, policy)}};
        if (t.storage == Storage::inline_data) {
            entry["location"] = policy.model_location;
            entry["offset"] = t.payload.begin;
            entry["length"] = t.payload.size();
        } else if (t.storage == Storage::external) {
            entry["location"] = t.location();
            try {
                entry["offset"] = t.external_offset().value_or(0);
                auto length = t.external_length();
                entry["length"] = length ? json(*length) : json(nullptr);
            } catch (const FormatError&) {
                entry["offset"] = nullptr;
                entry["length"] = nullptr;
            }
        }
        auto digest = tensor_sha256(source, t, folder);
        entry["sha256"] = digest ? json(*digest) : json(nullptr);
        tensors.push_back(std::move(entry));
        if (on_hashed) on_hashed(tensors.size(), index.tensors.size());
    }
    return {{"model", policy.model_location}, {"model_size", index.file_size}, {"skeleton", skeleton_name},
            {"skeleton_size", skeleton_size}, {"threshold", policy.threshold_bytes}, {"tensors", tensors}};
}

}  // namespace

StripResult strip_model(const std::string& model, const std::string& skeleton, const StripOptions& options) {
    std::error_code ec;
    for (const std::string& target : {skeleton, options.manifest}) {
        if (target.empty() || !fs::exists(target, ec)) continue;
        if (fs::equivalent(model, target, ec)) {
            throw std::invalid_argument("refusing to replace the model itself (" + model + ") with its skeleton or manifest");
        }
        if (!options.overwrite) throw OutputExistsError(target + " exists");
    }
    FileSource source(model);
    const TensorIndex index = scan(source);
    SkeletonPolicy policy;
    policy.threshold_bytes = options.threshold_bytes;
    policy.model_location = fs::path(model).filename().string();
    const SkeletonResult written = write_skeleton(source, index, policy);
    std::string manifest_text;
    if (!options.manifest.empty()) {
        manifest_text = manifest_json(source, index, policy, DataFolder::of_model(model), fs::path(skeleton).filename().string(),
                                      written.bytes.size(), options.on_tensor_hashed).dump(2) + "\n";
    }
    write_file_atomically(skeleton, written.bytes);
    if (!options.manifest.empty()) write_file_atomically(options.manifest, manifest_text);
    return {index.file_size, written.bytes.size(), written.stripped_tensors, written.stripped_bytes};
}

}  // namespace onnx_weightless
