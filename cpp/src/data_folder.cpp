#include "onnx_weightless/data_folder.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <utility>

#include "onnx_weightless/errors.hpp"

namespace onnx_weightless {
namespace {

namespace fs = std::filesystem;

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
    int release() { return std::exchange(fd_, -1); }

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

std::optional<std::string> real_path(const std::string& path) {
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) == nullptr) return std::nullopt;
    return std::string(resolved);
}

/// `path` relative to `root` if it lies beneath it (both real paths), nullopt otherwise.
std::optional<std::string> beneath(const std::string& path, const std::string& root) {
    const std::string prefix = root == "/" ? root : root + "/";
    if (path.compare(0, prefix.size(), prefix) != 0 || path.size() == prefix.size()) return std::nullopt;
    return path.substr(prefix.size());
}

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

/// openat2 beneath `dir_fd`; -1 with errno ENOSYS on kernels without it.
int open_beneath(int dir_fd, const std::string& relative, uint64_t resolve) {
    open_how how{};
    how.flags = kOpenFlags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | resolve;
    return static_cast<int>(::syscall(SYS_openat2, dir_fd, relative.c_str(), &how, sizeof(how)));
}

/// Opens `relative` beneath the folder `root`, with no symlink anywhere on the way (the caller
/// resolved them and checked the target lies beneath root). Kernels without openat2: the target
/// path is opened without following a final symlink.
int open_resolved_beneath(const std::string& root, const std::string& relative) {
    Fd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) return -1;
    const int fd = open_beneath(dir.get(), relative, RESOLVE_NO_SYMLINKS);
    if (fd >= 0 || errno != ENOSYS) return fd;
    return ::open((root + "/" + relative).c_str(), kOpenFlags | O_NOFOLLOW);
}

}  // namespace

DataFolder::DataFolder(const std::string& dir) {
    if (dir.empty()) {
        throw std::invalid_argument("external data needs the model's folder; an empty folder is not one");
    }
    dir_ = fs::absolute(dir).lexically_normal().string();
    if (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

DataFolder DataFolder::of_model(const std::string& model_path) {
    const fs::path absolute = fs::absolute(model_path);
    DataFolder folder(absolute.parent_path().string());
    const auto real_model = real_path(absolute.string());
    const auto real_dir = real_path(folder.dir_);
    if (real_model) {
        const std::string model_dir = fs::path(*real_model).parent_path().string();
        if (!real_dir || model_dir != *real_dir) folder.model_real_dir_ = model_dir;
    }
    return folder;
}

OpenedFile::OpenedFile(OpenedFile&& other) noexcept
    : status(std::move(other.status)), fd_(std::exchange(other.fd_, -1)) {}

OpenedFile& OpenedFile::operator=(OpenedFile&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        status = std::move(other.status);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

OpenedFile::~OpenedFile() {
    if (fd_ >= 0) ::close(fd_);
}

int OpenedFile::release() { return std::exchange(fd_, -1); }

OpenedFile open_external(const DataFolder& folder, const std::string& location) {
    OpenedFile opened;
    opened.status.state = ExternalFileState::refused;
    opened.status.reason = refuse_reason(location);
    if (!opened.status.reason.empty()) return opened;

    Fd dir(::open(folder.dir().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) {
        throw ExternalDataError("[external data] model folder '" + folder.dir() + "' cannot be opened: " +
                                std::strerror(errno));
    }
    // 1. Beneath the model's folder, symlinks allowed as long as they stay inside it.
    int fd = open_beneath(dir.get(), location, 0);
    if (fd < 0 && (errno == EXDEV || errno == ELOOP || errno == ENOSYS)) {
        // 2. A symlink leaving the folder (or an absolute one), or a kernel without openat2:
        //    resolve it, accept a target beneath one of the allowed real folders, and open it
        //    there with no symlink on the way, so the kernel holds the open to that folder.
        const int first_errno = errno;
        const auto target = real_path(folder.dir() + "/" + location);
        if (!target) {
            fd = -1;  // errno from realpath: ENOENT for a dangling link or missing file
        } else {
            std::optional<std::string> relative;
            std::string root;
            for (const std::string& candidate : {real_path(folder.dir()).value_or(""), folder.model_real_dir()}) {
                if (candidate.empty()) continue;
                if ((relative = beneath(*target, candidate))) {
                    root = candidate;
                    break;
                }
            }
            if (relative) {
                fd = open_resolved_beneath(root, *relative);
            } else {
                opened.status.reason = "it resolves to '" + *target + "', outside the model folder '" + folder.dir() +
                                       "'" +
                                       (folder.model_real_dir().empty()
                                            ? std::string()
                                            : " and the model file's real folder '" + folder.model_real_dir() + "'");
                return opened;
            }
            if (fd < 0 && errno == ENOSYS) errno = first_errno;
        }
    }
    if (fd < 0) {
        if (errno == ENOENT) {
            opened.status.state = ExternalFileState::missing;
            opened.status.reason = "no such file in '" + folder.dir() + "'";
        } else if (errno == EXDEV || errno == ELOOP) {
            opened.status.reason = "it resolves outside the model folder '" + folder.dir() + "'";
        } else {
            opened.status.reason = std::string("it cannot be opened: ") + std::strerror(errno);
        }
        return opened;
    }
    Fd file(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        opened.status.reason = "it is not a regular file";
        return opened;
    }
    if (st.st_nlink > 1) {
        opened.status.reason = "it is a hard link (" + std::to_string(st.st_nlink) +
                               " names), which could expose a file from outside the model folder";
        return opened;
    }
    opened.status.state = ExternalFileState::present;
    opened.status.size = static_cast<uint64_t>(st.st_size);
    opened.status.reason.clear();
    opened.fd_ = file.release();
    return opened;
}

}  // namespace onnx_weightless
