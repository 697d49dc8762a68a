// Protobuf wire format read field by field through a ByteWindow: tags and lengths are decoded,
// length-delimited values are located (offset, length) but not read. This is what lets the scan
// walk a ModelProto whose graph message is gigabytes long without holding or touching it.
#pragma once

#include <cstdint>
#include <string>

#include "onnx_weightless/byte_source.hpp"

namespace onnx_weightless {

enum class WireType : uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

const char* wire_type_name(WireType type);

/// One field of a message, located in the source.
struct Field {
    uint32_t number = 0;
    WireType type = WireType::varint;
    uint64_t tag_offset = 0;    ///< first byte of the tag
    uint64_t value_offset = 0;  ///< first byte of the value (after the length prefix, if any)
    uint64_t length = 0;        ///< bytes of the value (for varints: bytes of the encoding)
    uint64_t varint = 0;        ///< decoded value of a varint field

    uint64_t end() const noexcept { return value_offset + length; }
};

/// Iterates the fields of one message occupying [begin, end) of the source.
class FieldCursor {
public:
    FieldCursor(ByteWindow& window, uint64_t begin, uint64_t end, const char* message_name);

    /// Reads the next field header; false at the end of the message.
    /// Throws FormatError for truncation, bad tags, unknown wire types, or lengths past `end`.
    bool next(Field& field);

    /// Throws FormatError unless `field` has wire type `expected`.
    void expect(const Field& field, WireType expected, const char* field_name) const;

private:
    uint64_t read_varint(uint64_t& offset, const char* what);

    ByteWindow& window_;
    uint64_t position_;
    uint64_t end_;
    const char* message_name_;
};

}  // namespace onnx_weightless
