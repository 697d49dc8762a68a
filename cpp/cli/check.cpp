// `onnx-weightless check`: the model's external data files, checked without reading them.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "onnx_weightless/format.hpp"
#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/check.hpp"
#include "onnx_weightless/scan.hpp"

namespace onnx_weightless::cli {
namespace {

namespace ow = onnx_weightless;
using nlohmann::json;

const char* state_name(ow::ExternalFileState state) {
    switch (state) {
        case ow::ExternalFileState::present: return "present";
        case ow::ExternalFileState::missing: return "missing";
        case ow::ExternalFileState::refused: return "refused";
    }
    return "?";
}

}  // namespace

/// Exit status: 0 when every referenced file is present, safe and large enough; 1 otherwise.
int check(const std::string& path, bool as_json) {
    ow::FileSource source(path);
    const ow::TensorIndex index = ow::scan(source);
    const ow::ExternalDataCheck report = ow::check_external_data(index, ow::DataFolder::of_model(path));
    if (as_json) {
        json files = json::array();
        for (const auto& f : report.files) {
            json problems = json::array();
            for (const auto& p : f.problems) problems.push_back({{"tensor", p.tensor}, {"problem", p.problem}});
            files.push_back({{"location", f.location}, {"state", state_name(f.status.state)}, {"size", f.status.size},
                             {"reason", f.status.reason}, {"tensors", f.tensors}, {"bytes", f.bytes},
                             {"required_size", f.required_size}, {"problems", problems}, {"ok", f.ok()}});
        }
        json malformed = json::array();
        for (const auto& p : report.malformed) malformed.push_back({{"tensor", p.tensor}, {"problem", p.problem}});
        std::cout << json{{"path", path}, {"ok", report.ok()}, {"files", files}, {"malformed", malformed}}.dump(2) << "\n";
        return report.ok() ? 0 : 1;
    }
    if (report.files.empty() && report.malformed.empty()) {
        std::printf("%s: no external data (every tensor is in the model file)\n", path.c_str());
        return 0;
    }
    std::printf("%-40s %-8s %12s %12s %8s\n", "external file", "state", "size", "needed", "tensors");
    for (const auto& f : report.files) {
        std::printf("%-40s %-8s %12s %12s %8llu\n", f.location.c_str(), state_name(f.status.state),
                    f.status.state == ow::ExternalFileState::present ? human_bytes(static_cast<double>(f.status.size)).c_str() : "-",
                    human_bytes(static_cast<double>(f.required_size)).c_str(), static_cast<unsigned long long>(f.tensors));
        if (!f.status.reason.empty()) std::printf("    %s\n", f.status.reason.c_str());
        for (const auto& p : f.problems) std::printf("    %s: %s\n", p.tensor.c_str(), p.problem.c_str());
    }
    for (const auto& p : report.malformed) std::printf("malformed reference: %s %s\n", p.tensor.c_str(), p.problem.c_str());
    std::printf("%s\n", report.ok() ? "ok: every referenced file is present, safe to open and large enough"
                                      : "problems found");
    return report.ok() ? 0 : 1;
}

}  // namespace onnx_weightless::cli
