// Progress of long work, shown on a terminal only, as Python's progress (python/onnx_weightless/
// _progress.py) shows it: one line on stderr, rewritten at most ten times a second and only once
// the work has run for half a second (short work prints nothing), finished with the total and the
// time taken. Silent when stderr is not a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace onnx_weightless {

class Progress {
public:
    /// `show`: write to `stream` always (true), or only when it is a terminal (false: auto).
    Progress(std::string what, uint64_t total, std::string unit, std::FILE* stream = stderr, bool always = false,
             std::chrono::milliseconds delay = std::chrono::milliseconds(500));
    ~Progress() { close(); }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void update(uint64_t done);
    /// The closing line, if any line was shown.
    void close();

private:
    using Clock = std::chrono::steady_clock;
    std::string what_;
    uint64_t total_;
    std::string unit_;
    std::FILE* stream_;
    bool show_;
    std::chrono::milliseconds delay_;
    Clock::time_point start_;
    Clock::time_point last_;
    bool shown_ = false;
    bool closed_ = false;
};

}  // namespace onnx_weightless
