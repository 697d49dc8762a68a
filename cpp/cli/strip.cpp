// `onnx-weightless strip`: the model's skeleton (and manifest) written as new files.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "format.hpp"
#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/digest.hpp"
#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/scan.hpp"
#include "onnx_weightless/skeleton.hpp"

namespace onnx_weightless::cli {
namespace {

namespace ow = onnx_weightless;
using nlohmann::json;

/// Writes `bytes` to `path` through a partial file renamed into place: complete or absent.
void write_file_atomically(const std::filesystem::path& target, const std::string& bytes) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path partial = target.parent_path() / ("." + target.filename().string() + ".partial");
    std::FILE* f = std::fopen(partial.c_str(), "wb");
    if (!f) throw ow::IoError("cannot create " + partial.string());
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !written) {
        fs::remove(partial, ec);
        throw ow::IoError("cannot write " + partial.string());
    }
    fs::rename(partial, target, ec);
    if (ec) {
        fs::remove(partial, ec);
        throw ow::IoError("cannot rename " + partial.string() + " into " + target.string());
    }
}

/// Every tensor of the model: what it is, where its bytes are, and their SHA-256 when present.
json manifest_json(ow::ByteSource& source, const ow::TensorIndex& index, const ow::SkeletonPolicy& policy,
                   const std::string& model_dir, const std::string& skeleton_name, uint64_t skeleton_size) {
    json tensors = json::array();
    for (const auto& t : index.tensors) {
        const bool stripped = ow::strips(t, policy);
        json entry = {{"name", t.name}, {"dtype", ow::dtype_name(t.data_type)}, {"dims", t.dims},
                      {"bytes", t.byte_size ? json(*t.byte_size) : json(nullptr)},
                      {"storage", ow::storage_name(t.storage)}, {"role", ow::tensor_role_name(t.role)},
                      {"stripped", stripped}};
        if (t.storage == ow::Storage::inline_data) {
            entry["location"] = policy.model_location;
            entry["offset"] = t.payload.begin;
            entry["length"] = t.payload.size();
        } else if (t.storage == ow::Storage::external) {
            entry["location"] = t.location();
            try {
                entry["offset"] = t.external_offset().value_or(0);
                auto length = t.external_length();
                entry["length"] = length ? json(*length) : json(nullptr);
            } catch (const ow::FormatError&) {
                entry["offset"] = nullptr;
                entry["length"] = nullptr;
            }
        }
        auto digest = ow::tensor_sha256(source, t, model_dir);
        entry["sha256"] = digest ? json(*digest) : json(nullptr);
        tensors.push_back(std::move(entry));
    }
    return {{"model", policy.model_location}, {"model_size", index.file_size}, {"skeleton", skeleton_name},
            {"skeleton_size", skeleton_size}, {"threshold", policy.threshold_bytes}, {"tensors", tensors}};
}

}  // namespace

/// Writes the skeleton of `path` to `output` (a new file, renamed into place once complete), and
/// its manifest to `manifest` when given.
int strip(const std::string& path, const std::string& output, uint64_t threshold, bool force, const std::string& manifest) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const std::string& target : {output, manifest}) {
        if (target.empty()) continue;
        if (fs::exists(target, ec) && fs::equivalent(path, target, ec)) {
            std::cerr << "onnx-weightless: refusing to overwrite the model itself with its skeleton\n";
            return 1;
        }
        if (fs::exists(target, ec) && !force) {
            std::cerr << "onnx-weightless: " << target << " exists; pass --force to replace it\n";
            return 1;
        }
    }
    ow::FileSource source(path);
    const ow::TensorIndex index = ow::scan(source);
    ow::SkeletonPolicy policy;
    policy.threshold_bytes = threshold;
    policy.model_location = fs::path(path).filename().string();
    const ow::SkeletonResult skeleton = ow::write_skeleton(source, index, policy);
    std::string manifest_text;
    if (!manifest.empty()) {
        const std::string model_dir = fs::absolute(path).parent_path().string();
        manifest_text = manifest_json(source, index, policy, model_dir, fs::path(output).filename().string(),
                                      skeleton.bytes.size()).dump(2) + "\n";
    }
    write_file_atomically(output, skeleton.bytes);
    if (!manifest.empty()) write_file_atomically(manifest, manifest_text);
    std::printf("%s: %s -> %s (%llu tensors stripped, %s of payload left in %s)\n", output.c_str(),
                human_bytes(static_cast<double>(index.file_size)).c_str(),
                human_bytes(static_cast<double>(skeleton.bytes.size())).c_str(),
                static_cast<unsigned long long>(skeleton.stripped_tensors),
                human_bytes(static_cast<double>(skeleton.stripped_bytes)).c_str(), policy.model_location.c_str());
    return 0;
}

}  // namespace onnx_weightless::cli
