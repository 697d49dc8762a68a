// Where a model's external data may be opened from, and the one way it is opened.
//
// The rules (docs/security.md has a runnable case for each):
// - a location must be relative, without '..' components and without NUL bytes;
// - it resolves against the model's folder as an absolute path, never against an empty base;
// - the file it resolves to must lie beneath the model's folder, or beneath the real folder of
//   the model file when the model file is itself a symlink (the Hugging Face hub cache stores
//   snapshots/<rev>/model.onnx and model.onnx_data as symlinks into blobs/);
// - it must be a regular file with a single name (a hard link could expose any file of the volume);
// - the kernel enforces containment at open time (openat2 with RESOLVE_BENEATH), so nothing can
//   swap a path component between a check and the open. Kernels older than 5.6 lack openat2: there
//   the path is resolved, checked and then opened without following a final symlink.
#pragma once

#include <cstdint>
#include <string>

namespace onnx_weightless {

enum class ExternalFileState : uint8_t { present, missing, refused };

struct ExternalFileStatus {
    ExternalFileState state = ExternalFileState::missing;
    uint64_t size = 0;       ///< file size when present
    std::string reason;      ///< why it is missing or refused
};

/// The folders a model's external data may come from.
class DataFolder {
public:
    /// A folder named directly (no model file known): data must lie beneath it. Relative folders
    /// are made absolute against the working directory now; an empty folder is refused
    /// (std::invalid_argument), never read as "anywhere".
    DataFolder(const std::string& dir);  // NOLINT(google-explicit-constructor): a folder is a DataFolder
    DataFolder(const char* dir) : DataFolder(std::string(dir)) {}  // NOLINT(google-explicit-constructor)

    /// The folder of the model file at `model_path`, and the real folder of the file it resolves
    /// to when that is elsewhere (the model file is a symlink).
    static DataFolder of_model(const std::string& model_path);

    /// The model's folder as its path names it (absolute, symlinks in it not resolved).
    const std::string& dir() const { return dir_; }
    /// The real folder of the resolved model file when it differs from dir()'s real path; "" otherwise.
    const std::string& model_real_dir() const { return model_real_dir_; }

private:
    std::string dir_;
    std::string model_real_dir_;
};

/// An open external data file: the descriptor is -1 unless status.state is present.
class OpenedFile {
public:
    OpenedFile() = default;
    OpenedFile(OpenedFile&& other) noexcept;
    OpenedFile& operator=(OpenedFile&& other) noexcept;
    OpenedFile(const OpenedFile&) = delete;
    OpenedFile& operator=(const OpenedFile&) = delete;
    ~OpenedFile();

    ExternalFileStatus status;
    int fd() const { return fd_; }
    /// Hands the descriptor to the caller, who closes it.
    int release();

private:
    friend OpenedFile open_external(const DataFolder& folder, const std::string& location);
    int fd_ = -1;
};

/// Opens the file `location` names under the rules above, read-only and without blocking (a FIFO
/// is refused, not waited on). Never throws for a missing or refused file: the status says why.
/// Throws ExternalDataError if the model's folder itself cannot be opened.
OpenedFile open_external(const DataFolder& folder, const std::string& location);

}  // namespace onnx_weightless
