// Progress lines: shown on a terminal once the work has run past the delay, silent otherwise.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "onnx_weightless/progress.hpp"

namespace ow = onnx_weightless;

namespace {

std::string contents(std::FILE* f) {
    std::rewind(f);
    std::string text;
    char buffer[256];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
    return text;
}

}  // namespace

TEST(Progress, ShowsTheCountThenTheTotalAndTheTime) {
    std::FILE* f = std::tmpfile();
    {
        ow::Progress progress("hashing", 4, "tensors", f, /*always=*/true, std::chrono::milliseconds(0));
        progress.update(1);
    }
    const std::string text = contents(f);
    EXPECT_EQ(text.rfind("\rhashing: 1/4 tensors (25%)\rhashing: 4/4 tensors in ", 0), 0u) << text;
    EXPECT_EQ(text.back(), '\n');
    std::fclose(f);
}

TEST(Progress, ShortWorkAndAFileThatIsNoTerminalShowNothing) {
    std::FILE* f = std::tmpfile();
    {
        ow::Progress quick("reading", 4, "steps", f, /*always=*/true);  // done well within the half second
        quick.update(4);
        ow::Progress not_a_terminal("reading", 4, "steps", f, /*always=*/false, std::chrono::milliseconds(0));
        not_a_terminal.update(2);
    }
    EXPECT_EQ(contents(f), "");
    std::fclose(f);
}
