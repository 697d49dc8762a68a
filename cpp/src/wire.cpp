#include "onnx_weightless/wire.hpp"

#include <algorithm>

#include <protozero/exception.hpp>
#include <protozero/varint.hpp>

#include "onnx_weightless/errors.hpp"

namespace onnx_weightless {

const char* wire_type_name(WireType type) {
    switch (type) {
        case WireType::varint: return "varint";
        case WireType::fixed64: return "fixed64";
        case WireType::length_delimited: return "length-delimited";
        case WireType::fixed32: return "fixed32";
    }
    return "unknown";
}

FieldCursor::FieldCursor(ByteWindow& window, uint64_t begin, uint64_t end, const char* message_name)
    : window_(window), position_(begin), end_(end), message_name_(message_name) {}

uint64_t FieldCursor::read_varint(uint64_t& offset, const char* what) {
    // Decoded against this message's bounds, so truncation is reported where it happens.
    const size_t avail = static_cast<size_t>(std::min<uint64_t>(10, end_ - offset));
    const char* begin = window_.bytes(offset, avail);
    const char* p = begin;
    try {
        const uint64_t value = protozero::decode_varint(&p, begin + avail);
        // protozero keeps only the lowest bit of a tenth byte: a larger one means the value needs
        // more than 64 bits, and would silently wrap (a length or dim read as another number).
        if (p - begin == 10 && static_cast<uint8_t>(begin[9]) > 1) {
            throw FormatError(std::string("varint overflows 64 bits (") + what + ") in " + message_name_, offset);
        }
        offset += static_cast<uint64_t>(p - begin);
        return value;
    } catch (const protozero::end_of_buffer_exception&) {
        throw FormatError(std::string("truncated ") + what + " in " + message_name_, offset);
    } catch (const protozero::varint_too_long_exception&) {
        throw FormatError(std::string("over-long varint (") + what + ") in " + message_name_, offset);
    }
}

bool FieldCursor::next(Field& field) {
    if (position_ >= end_) return false;
    field.tag_offset = position_;
    uint64_t offset = position_;
    const uint64_t tag = read_varint(offset, "field tag");
    field.number = static_cast<uint32_t>(tag >> 3);
    if (field.number == 0 || (tag >> 3) > 0x1fffffff) {
        throw FormatError(std::string("invalid field number ") + std::to_string(tag >> 3) + " in " + message_name_,
                          field.tag_offset);
    }
    switch (tag & 7) {
        case 0:
            field.type = WireType::varint;
            field.value_offset = offset;
            field.varint = read_varint(offset, "varint value");
            field.length = offset - field.value_offset;
            break;
        case 1:
        case 5: {
            field.type = (tag & 7) == 1 ? WireType::fixed64 : WireType::fixed32;
            field.length = (tag & 7) == 1 ? 8 : 4;
            field.value_offset = offset;
            if (end_ - offset < field.length) {
                throw FormatError(std::string("truncated fixed-width value of field ") + std::to_string(field.number) +
                                      " in " + message_name_,
                                  offset);
            }
            offset += field.length;
            break;
        }
        case 2: {
            field.type = WireType::length_delimited;
            const uint64_t length_offset = offset;
            field.length = read_varint(offset, "length");
            field.value_offset = offset;
            if (field.length > end_ - offset) {
                throw FormatError("length " + std::to_string(field.length) + " of field " +
                                      std::to_string(field.number) + " in " + message_name_ + " runs past its end (" +
                                      std::to_string(end_ - offset) + " bytes left)",
                                  length_offset);
            }
            offset += field.length;
            break;
        }
        default:
            throw FormatError("unsupported wire type " + std::to_string(tag & 7) + " of field " +
                                  std::to_string(field.number) + " in " + message_name_,
                              field.tag_offset);
    }
    position_ = offset;
    return true;
}

void FieldCursor::expect(const Field& field, WireType expected, const char* field_name) const {
    if (field.type != expected) {
        throw FormatError(std::string(message_name_) + "." + field_name + " (field " + std::to_string(field.number) +
                              ") has wire type " + wire_type_name(field.type) + ", expected " +
                              wire_type_name(expected),
                          field.tag_offset);
    }
}

}  // namespace onnx_weightless
