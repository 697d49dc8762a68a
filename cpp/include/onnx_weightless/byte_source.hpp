// Where model bytes come from. The scan asks only for the regions it needs (field headers, names,
// dims); payload bytes are skipped by offset and never read, so a multi-GB embedded-weights file
// costs neither page cache residency in this process nor downloads on lazily fetched filesystems.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace onnx_weightless {

/// Positioned reads from a byte sequence of known size. Counts the bytes it hands out.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    virtual uint64_t size() const = 0;
    /// Copies [offset, offset + n) into dst. Precondition: offset + n <= size().
    void read_at(uint64_t offset, char* dst, size_t n);
    /// Total bytes read so far through read_at.
    uint64_t bytes_read() const noexcept { return bytes_read_; }
    /// Number of read_at calls so far.
    uint64_t read_calls() const noexcept { return read_calls_; }

protected:
    virtual void do_read(uint64_t offset, char* dst, size_t n) = 0;

private:
    uint64_t bytes_read_ = 0;
    uint64_t read_calls_ = 0;
};

/// A file read with pread(2); never mapped, so untouched regions stay out of this process.
class FileSource final : public ByteSource {
public:
    /// Throws IoError when the path cannot be opened or is not a regular file.
    explicit FileSource(const std::string& path);
    /// Takes ownership of an open descriptor; `name` is used in messages.
    /// Throws IoError when it is not a regular file.
    FileSource(int fd, std::string name);
    ~FileSource() override;
    FileSource(const FileSource&) = delete;
    FileSource& operator=(const FileSource&) = delete;

    uint64_t size() const override { return size_; }
    const std::string& path() const noexcept { return path_; }

protected:
    void do_read(uint64_t offset, char* dst, size_t n) override;

private:
    void adopt(int fd);

    std::string path_;
    int fd_ = -1;
    uint64_t size_ = 0;
};

/// Bytes already in memory (tests, models handed over as bytes). Borrows the buffer: it must
/// outlive the source.
class MemorySource final : public ByteSource {
public:
    explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
    uint64_t size() const override { return bytes_.size(); }

protected:
    void do_read(uint64_t offset, char* dst, size_t n) override;

private:
    std::string_view bytes_;
};

/// A read-ahead window over a ByteSource, so that walking many small field headers costs one
/// read per window rather than one per header. A window starting at a tensor header may cover
/// the first bytes of that tensor's payload; `window_size` bounds that over-read. Reads after a
/// jump start at 4 KiB and double while the walk continues where the last one ended.
class ByteWindow {
public:
    static constexpr size_t default_window_size = 64 * 1024;
    static constexpr size_t kFirstReadAhead = 4 * 1024;

    explicit ByteWindow(ByteSource& source, size_t window_size = default_window_size);

    /// Returns a pointer to [offset, offset + n). Valid until the next call.
    /// Precondition: offset + n <= source.size().
    const char* bytes(uint64_t offset, size_t n);
    /// Copies [offset, offset + n) into a string.
    std::string copy(uint64_t offset, size_t n);

    ByteSource& source() noexcept { return source_; }

private:
    ByteSource& source_;
    size_t window_size_;
    size_t read_ahead_ = kFirstReadAhead;
    std::vector<char> buffer_;
    uint64_t buffer_offset_ = 0;
    size_t buffer_length_ = 0;
};

}  // namespace onnx_weightless
