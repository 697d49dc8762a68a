// Resolving a tensor's bytes: a slice of an external data file, opened only if it stays inside
// the model's folder, and decoding of inline payload encodings into raw little-endian bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "onnx_weightless/data_folder.hpp"
#include "onnx_weightless/tensor_index.hpp"

namespace onnx_weightless {

/// Looks at the file `location` names in `folder` without reading it, under data_folder.hpp's rules.
ExternalFileStatus probe_external(const DataFolder& folder, const std::string& location);

/// Reads [offset, offset + length) of the file `location` names in `folder`
/// (length nullopt: to the end of the file). Throws ExternalDataError when refused, missing or
/// out of bounds, IoError when reading fails.
std::string read_external(const DataFolder& folder, const std::string& location, uint64_t offset,
                          std::optional<uint64_t> length);

/// Opens the file `location` names under the same rules and checks that it holds [offset, offset +
/// length); returns a read-only descriptor the caller owns and closes (for mapping the range).
/// Throws as read_external does.
int open_external_range(const DataFolder& folder, const std::string& location, uint64_t offset,
                        std::optional<uint64_t> length);

/// As read_external, handing the bytes to `consume` in consecutive pieces of at most `chunk` bytes
/// (memory stays bounded whatever the length).
void read_external_chunks(const DataFolder& folder, const std::string& location, uint64_t offset,
                          std::optional<uint64_t> length, size_t chunk,
                          const std::function<void(std::string_view)>& consume);

/// Converts the bytes of an inline payload field into raw_data form (little-endian, packed
/// sub-byte types) for `elements` elements of `data_type`. raw_data, float_data and double_data
/// are already in that form; varint fields are decoded and narrowed. Throws FormatError on
/// malformed varints or a count mismatch.
std::string payload_to_raw(PayloadField field, int32_t data_type, const std::string& bytes, bool packed,
                           uint64_t elements);

}  // namespace onnx_weightless
