// Errors for bad input. Every message says what is wrong, where (tensor, field, byte offset or
// file) and, where it helps, what to do. API misuse is not reported through these classes.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace onnx_weightless {

/// Base of every error the library raises for bad input or an unreadable file.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The bytes are not a well-formed ONNX ModelProto: truncated, a wrong wire type, a length that
/// runs past its enclosing message, a tensor whose payload does not match its dims and dtype.
class FormatError : public Error {
public:
    FormatError(const std::string& what, uint64_t offset)
        : Error(what + " (at byte offset " + std::to_string(offset) + ")"), offset_(offset) {}
    /// A fault of the graph's structure, which the message locates by node or value rather than
    /// by byte (validate.hpp); offset() is then 0.
    explicit FormatError(const std::string& what) : Error(what), offset_(0) {}
    /// Byte offset in the model file where the problem was found.
    uint64_t offset() const noexcept { return offset_; }

private:
    uint64_t offset_;
};

/// Well-formed, but beyond what the library accepts: nesting too deep, sizes that overflow int64.
class LimitError : public FormatError {
public:
    using FormatError::FormatError;
};

/// A file could not be opened or read (the model itself or a data file).
class IoError : public Error {
public:
    using Error::Error;
};

/// An external-data reference that is refused (escapes the model folder, not a regular file,
/// out of the file's bounds) or whose file is missing.
class ExternalDataError : public Error {
public:
    using Error::Error;
};

}  // namespace onnx_weightless
