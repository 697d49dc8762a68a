#include "onnx_weightless/progress.hpp"

#include <unistd.h>

namespace onnx_weightless {

namespace {
constexpr std::chrono::milliseconds kInterval(100);  // between rewrites
}  // namespace

Progress::Progress(std::string what, uint64_t total, std::string unit, std::FILE* stream, bool always,
                   std::chrono::milliseconds delay)
    : what_(std::move(what)), total_(total), unit_(std::move(unit)), stream_(stream),
      show_(total > 0 && stream != nullptr && (always || isatty(fileno(stream)))), delay_(delay),
      start_(Clock::now()), last_(start_) {}

void Progress::update(uint64_t done) {
    if (!show_ || closed_) return;
    const auto now = Clock::now();
    if (now - start_ < delay_ || (shown_ && now - last_ < kInterval)) return;
    last_ = now;
    shown_ = true;
    std::fprintf(stream_, "\r%s: %llu/%llu %s (%llu%%)", what_.c_str(), static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total_), unit_.c_str(),
                 static_cast<unsigned long long>(done >= total_ ? 100 : done * 100 / total_));
    std::fflush(stream_);
}

void Progress::close() {
    if (closed_) return;
    closed_ = true;
    if (!shown_) return;
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    std::fprintf(stream_, "\r%s: %llu/%llu %s in %.1f s\n", what_.c_str(), static_cast<unsigned long long>(total_),
                 static_cast<unsigned long long>(total_), unit_.c_str(), seconds);
    std::fflush(stream_);
}

}  // namespace onnx_weightless
