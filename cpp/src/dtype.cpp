#include "onnx_weightless/dtype.hpp"

#include <array>

namespace onnx_weightless {
namespace {

struct DtypeEntry {
    const char* name;
    uint32_t bits;
};

// Indexed by TensorProto.DataType value.
constexpr std::array<DtypeEntry, 29> kDtypes{{
    {"UNDEFINED", 0},     {"FLOAT", 32},         {"UINT8", 8},         {"INT8", 8},
    {"UINT16", 16},       {"INT16", 16},         {"INT32", 32},        {"INT64", 64},
    {"STRING", 0},        {"BOOL", 8},           {"FLOAT16", 16},      {"DOUBLE", 64},
    {"UINT32", 32},       {"UINT64", 64},        {"COMPLEX64", 64},    {"COMPLEX128", 128},
    {"BFLOAT16", 16},     {"FLOAT8E4M3FN", 8},   {"FLOAT8E4M3FNUZ", 8}, {"FLOAT8E5M2", 8},
    {"FLOAT8E5M2FNUZ", 8}, {"UINT4", 4},         {"INT4", 4},          {"FLOAT4E2M1", 4},
    {"FLOAT8E8M0", 8},    {"UINT2", 2},          {"INT2", 2},          {"FLOAT6E2M3", 6},
    {"FLOAT6E3M2", 6},
}};

}  // namespace

bool dtype_known(int32_t data_type) noexcept {
    return data_type >= 1 && data_type < static_cast<int32_t>(kDtypes.size());
}

uint32_t dtype_bits(int32_t data_type) noexcept {
    return dtype_known(data_type) ? kDtypes[static_cast<size_t>(data_type)].bits : 0;
}

std::string dtype_name(int32_t data_type) {
    if (data_type >= 0 && data_type < static_cast<int32_t>(kDtypes.size())) {
        return kDtypes[static_cast<size_t>(data_type)].name;
    }
    return "<dtype " + std::to_string(data_type) + ">";
}

std::optional<uint64_t> dtype_storage_bytes(int32_t data_type, uint64_t elements) noexcept {
    const uint64_t bits = dtype_bits(data_type);
    if (bits == 0) return std::nullopt;
    if (bits >= 8) {
        const uint64_t size = bits / 8;
        if (elements > UINT64_MAX / size) return std::nullopt;
        return elements * size;
    }
    // Packed sub-byte types: ceil(elements * bits / 8), computed without overflowing.
    return elements / 8 * bits + ((elements % 8) * bits + 7) / 8;
}

}  // namespace onnx_weightless
