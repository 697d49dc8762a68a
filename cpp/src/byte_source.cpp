#include "onnx_weightless/byte_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "onnx_weightless/errors.hpp"

namespace onnx_weightless {

void ByteSource::read_at(uint64_t offset, char* dst, size_t n) {
    do_read(offset, dst, n);
    bytes_read_ += n;
    ++read_calls_;
}

FileSource::FileSource(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw IoError("[open] cannot open '" + path + "': " + std::strerror(errno));
    }
    adopt(fd);
}

FileSource::FileSource(int fd, std::string name) : path_(std::move(name)) { adopt(fd); }

void FileSource::adopt(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw IoError("[open] '" + path_ + "' is not a regular file");
    }
    fd_ = fd;
    size_ = static_cast<uint64_t>(st.st_size);
}

FileSource::~FileSource() {
    if (fd_ >= 0) ::close(fd_);
}

void FileSource::do_read(uint64_t offset, char* dst, size_t n) {
    while (n > 0) {
        const ssize_t got = ::pread(fd_, dst, n, static_cast<off_t>(offset));
        if (got < 0) {
            if (errno == EINTR) continue;
            throw IoError("[read] reading '" + path_ + "' at offset " + std::to_string(offset) + ": " +
                          std::strerror(errno));
        }
        if (got == 0) {
            throw IoError("[read] '" + path_ + "' shrank while being read (offset " + std::to_string(offset) + ")");
        }
        dst += got;
        offset += static_cast<uint64_t>(got);
        n -= static_cast<size_t>(got);
    }
}

void MemorySource::do_read(uint64_t offset, char* dst, size_t n) {
    std::memcpy(dst, bytes_.data() + offset, n);
}

ByteWindow::ByteWindow(ByteSource& source, size_t window_size)
    : source_(source), window_size_(std::max<size_t>(window_size, 64)) {}

const char* ByteWindow::bytes(uint64_t offset, size_t n) {
    if (offset >= buffer_offset_ && offset + n <= buffer_offset_ + buffer_length_) {
        return buffer_.data() + (offset - buffer_offset_);
    }
    // Refill starting at `offset`, never past the end. A walk continuing where the window ended
    // reads ahead twice as far each time, up to the window size; a jump (past a payload) starts
    // again small, since a tensor header is followed by its payload, not by more structure.
    const bool continues = buffer_length_ > 0 && offset >= buffer_offset_ && offset <= buffer_offset_ + buffer_length_;
    read_ahead_ = continues ? std::min(window_size_, read_ahead_ * 2) : std::min(window_size_, kFirstReadAhead);
    const uint64_t available = source_.size() - offset;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(available, std::max(n, read_ahead_)));
    buffer_.resize(want);
    source_.read_at(offset, buffer_.data(), want);
    buffer_offset_ = offset;
    buffer_length_ = want;
    return buffer_.data();
}

std::string ByteWindow::copy(uint64_t offset, size_t n) {
    if (n > window_size_) {
        std::string out(n, '\0');
        source_.read_at(offset, out.data(), n);
        return out;
    }
    return std::string(bytes(offset, n), n);
}

}  // namespace onnx_weightless
