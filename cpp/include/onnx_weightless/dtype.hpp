// ONNX TensorProto.DataType: names and storage sizes (onnx 1.23: 1..28).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace onnx_weightless {

/// Bits one element occupies in raw_data; 0 for STRING (variable) and for unknown dtypes.
/// Sub-byte types (INT4, UINT4, FLOAT4E2M1: 4 bits; FLOAT6*: 6 bits; INT2, UINT2: 2 bits) are packed,
/// low bits first.
uint32_t dtype_bits(int32_t data_type) noexcept;

/// "FLOAT", "BFLOAT16", ...; "UNDEFINED" for 0 and "<dtype N>" for values onnx does not define.
std::string dtype_name(int32_t data_type);

/// True for the values onnx.proto defines (1..28).
bool dtype_known(int32_t data_type) noexcept;

/// Bytes of raw_data needed for `elements` elements, rounding packed sub-byte types up to a byte;
/// nullopt for STRING/unknown dtypes or on overflow.
std::optional<uint64_t> dtype_storage_bytes(int32_t data_type, uint64_t elements) noexcept;

}  // namespace onnx_weightless
