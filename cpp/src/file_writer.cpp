#include "onnx_weightless/file_writer.hpp"

#include <cstdio>
#include <filesystem>

#include "onnx_weightless/errors.hpp"

namespace onnx_weightless {

void write_file_atomically(const std::string& target_path, const std::string& bytes) {
    namespace fs = std::filesystem;
    const fs::path target(target_path);
    std::error_code ec;
    const fs::path partial = target.parent_path() / ("." + target.filename().string() + ".partial");
    std::FILE* f = std::fopen(partial.c_str(), "wb");
    if (!f) throw IoError("cannot create " + partial.string());
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !written) {
        fs::remove(partial, ec);
        throw IoError("cannot write " + partial.string());
    }
    fs::rename(partial, target, ec);
    if (ec) {
        fs::remove(partial, ec);
        throw IoError("cannot rename " + partial.string() + " into " + target.string());
    }
}

}  // namespace onnx_weightless
