#include "onnx_weightless/weights.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <memory>

#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>
#include <protozero/varint.hpp>

#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/errors.hpp"

namespace onnx_weightless {
namespace {

/// An owned file descriptor.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    /// Gives up ownership.
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_;
};

/// Why `location` is refused before any file system access, or "" if its form is acceptable.
std::string refuse_reason(const std::string& location) {
    if (location.empty()) return "the location is empty";
    if (location.find('\0') != std::string::npos) return "the location contains a NUL byte";
    if (location.front() == '/') return "the location is an absolute path";
    size_t start = 0;
    while (start <= location.size()) {
        const size_t slash = location.find('/', start);
        const std::string part = location.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (part == "..") return "the location contains '..'";
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return "";
}

std::string real_directory(const std::string& model_dir) {
    char resolved[PATH_MAX];
    const std::string dir = model_dir.empty() ? "." : model_dir;
    if (::realpath(dir.c_str(), resolved) == nullptr) {
        throw ExternalDataError("[external data] model folder '" + dir + "' cannot be resolved: " + std::strerror(errno));
    }
    return resolved;
}

/// Opens `location` beneath `model_dir`, refusing anything that resolves outside it. Returns the
/// descriptor, or -1 with errno set (ENOENT missing, EXDEV/ELOOP escaping).
int open_beneath(const std::string& real_dir, const std::string& location) {
    Fd dir(::open(real_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) return -1;
    open_how how{};
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused as not regular below.
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, dir.get(), location.c_str(), &how, sizeof(how));
    if (fd >= 0 || errno != ENOSYS) return static_cast<int>(fd);
    // Kernels before 5.6: resolve, check containment, then open the resolved path without
    // following a final symlink.
    char resolved[PATH_MAX];
    const std::string joined = real_dir + "/" + location;
    if (::realpath(joined.c_str(), resolved) == nullptr) return -1;
    const std::string target = resolved;
    if (target.compare(0, real_dir.size() + 1, real_dir + "/") != 0) {
        errno = EXDEV;
        return -1;
    }
    return ::open(resolved, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
}

struct Opened {
    ExternalFileStatus status;
    std::unique_ptr<Fd> fd;
};

Opened open_external(const std::string& model_dir, const std::string& location) {
    Opened opened;
    opened.status.state = ExternalFileState::refused;
    opened.status.reason = refuse_reason(location);
    if (!opened.status.reason.empty()) return opened;
    const std::string real_dir = real_directory(model_dir);
    const int fd = open_beneath(real_dir, location);
    if (fd < 0) {
        if (errno == ENOENT) {
            opened.status.state = ExternalFileState::missing;
            opened.status.reason = "no such file in '" + real_dir + "'";
        } else if (errno == EXDEV || errno == ELOOP) {
            opened.status.reason = "it resolves outside the model folder '" + real_dir + "'";
        } else {
            opened.status.reason = std::string("it cannot be opened: ") + std::strerror(errno);
        }
        return opened;
    }
    opened.fd = std::make_unique<Fd>(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        opened.status.reason = "it is not a regular file";
        opened.fd.reset();
        return opened;
    }
    if (st.st_nlink > 1) {
        opened.status.reason = "it is a hard link (" + std::to_string(st.st_nlink) +
                               " names), which could expose a file from outside the model folder";
        opened.fd.reset();
        return opened;
    }
    opened.status.state = ExternalFileState::present;
    opened.status.size = static_cast<uint64_t>(st.st_size);
    opened.status.reason.clear();
    return opened;
}

}  // namespace

ExternalFileStatus probe_external(const std::string& model_dir, const std::string& location) {
    return open_external(model_dir, location).status;
}

namespace {

/// The open file behind `location`, checked to hold [offset, offset + length); throws otherwise.
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

FileSource open_range(const std::string& model_dir, const std::string& location, uint64_t offset,
                      std::optional<uint64_t>& length) {
    Opened opened = open_external(model_dir, location);
    check_range(opened.status, location, offset, length);
    return FileSource(opened.fd->release(), location);
}

}  // namespace

int open_external_range(const std::string& model_dir, const std::string& location, uint64_t offset,
                        std::optional<uint64_t> length) {
    Opened opened = open_external(model_dir, location);
    check_range(opened.status, location, offset, length);
    return opened.fd->release();
}

std::string read_external(const std::string& model_dir, const std::string& location, uint64_t offset,
                          std::optional<uint64_t> length) {
    FileSource source = open_range(model_dir, location, offset, length);
    std::string out(static_cast<size_t>(*length), '\0');
    source.read_at(offset, out.data(), out.size());
    return out;
}

void read_external_chunks(const std::string& model_dir, const std::string& location, uint64_t offset,
                          std::optional<uint64_t> length, size_t chunk,
                          const std::function<void(std::string_view)>& consume) {
    FileSource source = open_range(model_dir, location, offset, length);
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
