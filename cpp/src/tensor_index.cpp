#include "onnx_weightless/tensor_index.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>

#include "onnx_weightless/errors.hpp"

namespace onnx_weightless {
namespace {

constexpr std::array<const char*, 8> kPayloadFieldNames{
    "none", "raw_data", "float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data"};

std::optional<uint64_t> parse_external_number(const TensorInfo& tensor, const char* key) {
    const auto it = tensor.external_data.find(key);
    if (it == tensor.external_data.end()) return std::nullopt;
    const std::string& text = it->second;
    // Digits only: strtoull alone would accept signs, spaces and hexadecimal prefixes.
    bool digits = !text.empty() && text.size() <= 20;
    for (const char c : text) digits = digits && c >= '0' && c <= '9';
    errno = 0;
    const unsigned long long value = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
    if (!digits || errno == ERANGE) {
        throw FormatError("tensor '" + tensor.name + "': external_data " + key + " '" + text +
                              "' is not a non-negative integer",
                          tensor.field.tag_offset);
    }
    return static_cast<uint64_t>(value);
}

}  // namespace

const char* payload_field_name(PayloadField field) { return kPayloadFieldNames[static_cast<size_t>(field)]; }

std::optional<PayloadField> payload_field_from_name(const std::string& name) {
    for (size_t i = 1; i < kPayloadFieldNames.size(); ++i) {
        if (name == kPayloadFieldNames[i]) return static_cast<PayloadField>(i);
    }
    return std::nullopt;
}

const char* storage_name(Storage storage) {
    switch (storage) {
        case Storage::inline_data: return "inline";
        case Storage::external: return "external";
        case Storage::none: return "none";
    }
    return "?";
}

const char* tensor_role_name(TensorRole role) {
    switch (role) {
        case TensorRole::initializer: return "initializer";
        case TensorRole::sparse_initializer: return "sparse_initializer";
        case TensorRole::node_attribute: return "node_attribute";
        case TensorRole::function_attribute: return "function_attribute";
    }
    return "?";
}

std::string TensorInfo::location() const {
    const auto it = external_data.find("location");
    return it == external_data.end() ? std::string() : it->second;
}

std::optional<uint64_t> TensorInfo::external_offset() const { return parse_external_number(*this, "offset"); }

std::optional<uint64_t> TensorInfo::external_length() const { return parse_external_number(*this, "length"); }

}  // namespace onnx_weightless
