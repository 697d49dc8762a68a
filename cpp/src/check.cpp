#include "onnx_weightless/check.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include "onnx_weightless/errors.hpp"

namespace onnx_weightless {

bool ExternalDataCheck::ok() const {
    return malformed.empty() && std::all_of(files.begin(), files.end(), [](const ExternalFileCheck& f) { return f.ok(); });
}

ExternalDataCheck check_external_data(const TensorIndex& index, const DataFolder& folder) {
    ExternalDataCheck result;
    std::map<std::string, ExternalFileCheck> files;
    // (tensor, offset, length) per file, bounds-checked once the file's size is known.
    std::map<std::string, std::vector<std::tuple<const TensorInfo*, uint64_t, uint64_t>>> spans;
    for (const TensorInfo& tensor : index.tensors) {
        if (tensor.storage != Storage::external) continue;
        const std::string location = tensor.location();
        if (location.empty()) {
            result.malformed.push_back({tensor.name, "is EXTERNAL but names no location"});
            continue;
        }
        uint64_t offset = 0;
        std::optional<uint64_t> length;
        try {
            offset = tensor.external_offset().value_or(0);
            length = tensor.external_length();
        } catch (const FormatError& e) {
            result.malformed.push_back({tensor.name, e.what()});
            continue;
        }
        ExternalFileCheck& file = files[location];
        file.location = location;
        const uint64_t size = length.value_or(tensor.byte_size.value_or(0));
        if (length && tensor.byte_size && *length != *tensor.byte_size) {
            file.problems.push_back({tensor.name, "declares length " + std::to_string(*length) + " but its dims x dtype need " +
                                                      std::to_string(*tensor.byte_size) + " bytes"});
        }
        file.tensors += 1;
        file.bytes += size;
        const uint64_t end = offset > UINT64_MAX - size ? UINT64_MAX : offset + size;
        file.required_size = std::max(file.required_size, end);
        spans[location].emplace_back(&tensor, offset, end);
    }
    for (auto& [location, file] : files) {
        file.status = probe_external(folder, location);
        if (file.status.state == ExternalFileState::present) {
            for (const auto& [tensor, offset, end] : spans[location]) {
                if (end > file.status.size) {
                    file.problems.push_back({tensor->name, "ends at byte " + std::to_string(end) + " (offset " +
                                                               std::to_string(offset) + "), beyond the file's " +
                                                               std::to_string(file.status.size) + " bytes"});
                }
            }
        }
        result.files.push_back(std::move(file));
    }
    return result;
}

}  // namespace onnx_weightless
