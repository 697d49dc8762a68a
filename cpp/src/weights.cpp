#include "onnx_weightless/weights.hpp"

#include <algorithm>

#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>
#include <protozero/varint.hpp>

#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/errors.hpp"

namespace onnx_weightless {

ExternalFileStatus probe_external(const DataFolder& folder, const std::string& location) {
    return open_external(folder, location).status;
}

namespace {

/// Throws unless the file is present and holds [offset, offset + length); fills a missing length
/// with the rest of the file.
void check_range(const ExternalFileStatus& status, const std::string& location, uint64_t offset,
                 std::optional<uint64_t>& length) {
    if (status.state != ExternalFileState::present) {
        throw ExternalDataError("[external data] '" + location + "' is " +
                                (status.state == ExternalFileState::missing ? "missing" : "refused") + ": " +
                                status.reason);
    }
    if (offset > status.size || (length && *length > status.size - offset)) {
        throw ExternalDataError("[external data] '" + location + "': offset " + std::to_string(offset) + " + length " +
                                std::to_string(length.value_or(0)) + " is beyond the file's " +
                                std::to_string(status.size) + " bytes");
    }
    length = length.value_or(status.size - offset);
}

FileSource open_range(const DataFolder& folder, const std::string& location, uint64_t offset,
                      std::optional<uint64_t>& length) {
    OpenedFile opened = open_external(folder, location);
    check_range(opened.status, location, offset, length);
    return FileSource(opened.release(), location);
}

}  // namespace

int open_external_range(const DataFolder& folder, const std::string& location, uint64_t offset,
                        std::optional<uint64_t> length) {
    OpenedFile opened = open_external(folder, location);
    check_range(opened.status, location, offset, length);
    return opened.release();
}

std::string read_external(const DataFolder& folder, const std::string& location, uint64_t offset,
                          std::optional<uint64_t> length) {
    FileSource source = open_range(folder, location, offset, length);
    std::string out(static_cast<size_t>(*length), '\0');
    source.read_at(offset, out.data(), out.size());
    return out;
}

void read_external_chunks(const DataFolder& folder, const std::string& location, uint64_t offset,
                          std::optional<uint64_t> length, size_t chunk,
                          const std::function<void(std::string_view)>& consume) {
    FileSource source = open_range(folder, location, offset, length);
    std::string buffer(std::max<size_t>(chunk, 1), '\0');
    for (uint64_t done = 0; done < *length;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), *length - done));
        source.read_at(offset + done, buffer.data(), n);
        consume(std::string_view(buffer.data(), n));
        done += n;
    }
}

std::string payload_to_raw(PayloadField field, int32_t data_type, const std::string& bytes, bool packed,
                           uint64_t elements) {
    const std::optional<uint64_t> raw_size = dtype_storage_bytes(data_type, elements);
    if (!raw_size) {
        throw FormatError("[payload] " + dtype_name(data_type) + " tensors have no fixed-size raw form", 0);
    }
    if (field == PayloadField::raw_data || ((field == PayloadField::float_data || field == PayloadField::double_data) && packed)) {
        if (bytes.size() != *raw_size) {
            throw FormatError("[payload] " + std::string(payload_field_name(field)) + " holds " +
                                  std::to_string(bytes.size()) + " bytes, expected " + std::to_string(*raw_size),
                              0);
        }
        return bytes;
    }
    // Numbers one by one: from packed bytes, or from the fields themselves when unpacked.
    std::vector<uint64_t> values;
    const bool fixed32 = field == PayloadField::float_data;
    const bool fixed64 = field == PayloadField::double_data;
    try {
        if (packed) {
            const char* p = bytes.data();
            const char* end = p + bytes.size();
            while (p < end) values.push_back(protozero::decode_varint(&p, end));
        } else {
            const auto expected = fixed32 ? protozero::pbf_wire_type::fixed32
                                  : fixed64 ? protozero::pbf_wire_type::fixed64
                                            : protozero::pbf_wire_type::varint;
            protozero::pbf_reader reader(bytes);
            while (reader.next()) {
                if (reader.wire_type() != expected) {
                    throw FormatError(std::string("[payload] unpacked ") + payload_field_name(field) +
                                          " holds a field of another wire type",
                                      0);
                }
                if (fixed32) {
                    values.push_back(reader.get_fixed32());
                } else if (fixed64) {
                    values.push_back(reader.get_fixed64());
                } else {
                    values.push_back(reader.get_uint64());
                }
            }
        }
    } catch (const protozero::exception& e) {
        throw FormatError(std::string("[payload] malformed ") + payload_field_name(field) + ": " + e.what(), 0);
    }
    const uint32_t bits = dtype_bits(data_type);
    if (bits == 6) {
        throw FormatError("[payload] " + dtype_name(data_type) + " in " + payload_field_name(field) +
                              " (one element per value) is not supported; store it as raw_data",
                          0);
    }
    // Varint fields hold one element each (sub-byte types: one packed byte each); float_data and
    // double_data hold one number each, two per element for the complex types.
    const uint32_t value_bytes = fixed32 ? 4 : fixed64 ? 8 : std::max<uint32_t>(1, bits / 8);
    if (static_cast<uint64_t>(values.size()) * value_bytes != *raw_size) {
        throw FormatError("[payload] " + std::string(payload_field_name(field)) + " holds " +
                              std::to_string(values.size()) + " values, dims x " + dtype_name(data_type) + " need " +
                              std::to_string(*raw_size / value_bytes),
                          0);
    }
    std::string raw;
    raw.reserve(static_cast<size_t>(*raw_size));
    for (const uint64_t value : values) {
        for (uint32_t i = 0; i < value_bytes; ++i) raw.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    }
    return raw;
}

}  // namespace onnx_weightless
