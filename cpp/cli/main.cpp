// onnx-weightless: look at an ONNX model's structure without reading its weights.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/scan.hpp"
#include "onnx_weightless/summary.hpp"

namespace ow = onnx_weightless;
using nlohmann::json;

namespace {

json totals_json(const ow::Totals& t) {
    return {{"tensors", t.tensors}, {"elements", t.elements}, {"bytes", t.bytes}};
}

json totals_map_json(const std::map<std::string, ow::Totals>& map) {
    json out = json::object();
    for (const auto& [key, t] : map) out[key] = totals_json(t);
    return out;
}

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (bytes >= 1024 && unit < 4) {
        bytes /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.2f %s", bytes, units[unit]);
    return text;
}

std::string human_count(double count) {
    const char* units[] = {"", "K", "M", "B", "T"};
    int unit = 0;
    while (count >= 1000 && unit < 4) {
        count /= 1000;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f%s" : "%.2f%s", count, units[unit]);
    return text;
}

void print_totals_table(const char* title, const std::map<std::string, ow::Totals>& map) {
    std::printf("\n%-28s %10s %14s %14s\n", title, "tensors", "elements", "bytes");
    for (const auto& [key, t] : map) {
        std::printf("%-28s %10llu %14s %14s\n", key.c_str(), static_cast<unsigned long long>(t.tensors),
                    human_count(static_cast<double>(t.elements)).c_str(),
                    human_bytes(static_cast<double>(t.bytes)).c_str());
    }
}

int inspect(const std::string& path, bool as_json, size_t top_ops) {
    const auto start = std::chrono::steady_clock::now();
    ow::FileSource source(path);
    ow::TensorIndex index = ow::scan(source);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const ow::IndexTotals totals = ow::totals(index);
    const ow::ModelSummary& s = index.summary;

    if (as_json) {
        json opsets = json::array();
        for (const auto& o : s.opsets) opsets.push_back({{"domain", o.domain}, {"version", o.version}});
        json out = {
            {"path", path},
            {"file_size", index.file_size},
            {"ir_version", s.ir_version},
            {"producer", {{"name", s.producer_name}, {"version", s.producer_version}}},
            {"opsets", opsets},
            {"graphs", s.graph_count},
            {"functions", s.function_count},
            {"nodes", s.node_count},
            {"max_subgraph_depth", s.max_depth},
            {"op_histogram", s.op_histogram},
            {"tensors", totals_json(totals.all)},
            {"by_dtype", totals_map_json(totals.by_dtype)},
            {"by_storage", totals_map_json(totals.by_storage)},
            {"external_files", totals_map_json(totals.by_external_file)},
            {"scan", {{"seconds", seconds}, {"bytes_read", source.bytes_read()}, {"reads", source.read_calls()}}},
        };
        std::cout << out.dump(2) << "\n";
        return 0;
    }

    std::printf("model        %s (%s)\n", path.c_str(), human_bytes(static_cast<double>(index.file_size)).c_str());
    std::printf("producer     %s %s, IR version %lld\n", s.producer_name.c_str(), s.producer_version.c_str(),
                static_cast<long long>(s.ir_version));
    std::printf("opsets      ");
    for (const auto& o : s.opsets) {
        std::printf(" %s:%lld", o.domain.empty() ? "ai.onnx" : o.domain.c_str(), static_cast<long long>(o.version));
    }
    std::printf("\ngraph        %llu nodes, %llu graphs (subgraph depth %llu), %llu functions\n",
                static_cast<unsigned long long>(s.node_count), static_cast<unsigned long long>(s.graph_count),
                static_cast<unsigned long long>(s.max_depth), static_cast<unsigned long long>(s.function_count));
    std::printf("weights      %llu tensors, %s elements, %s\n", static_cast<unsigned long long>(totals.all.tensors),
                human_count(static_cast<double>(totals.all.elements)).c_str(),
                human_bytes(static_cast<double>(totals.all.bytes)).c_str());
    print_totals_table("by dtype", totals.by_dtype);
    print_totals_table("by storage", totals.by_storage);
    if (!totals.by_external_file.empty()) print_totals_table("external files", totals.by_external_file);

    std::vector<std::pair<uint64_t, std::string>> ops;
    for (const auto& [op, count] : s.op_histogram) ops.emplace_back(count, op);
    std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    std::printf("\n%-28s %10s\n", "op", "nodes");
    for (size_t i = 0; i < ops.size() && i < top_ops; ++i) {
        std::printf("%-28s %10llu\n", ops[i].second.c_str(), static_cast<unsigned long long>(ops[i].first));
    }
    if (ops.size() > top_ops) std::printf("%-28s %10zu\n", "(other op types)", ops.size() - top_ops);
    std::printf("\nscanned in %.1f ms, read %s of %s in %llu reads\n", seconds * 1e3,
                human_bytes(static_cast<double>(source.bytes_read())).c_str(),
                human_bytes(static_cast<double>(index.file_size)).c_str(),
                static_cast<unsigned long long>(source.read_calls()));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"onnx-weightless: an ONNX model's structure without its weights"};
    app.require_subcommand(1);
    std::string path;
    bool as_json = false;
    size_t top_ops = 15;
    CLI::App* inspect_cmd = app.add_subcommand("inspect", "Summarise a model: graph, op types, weights by dtype and storage");
    inspect_cmd->add_option("model", path, "Path to the .onnx file")->required();
    inspect_cmd->add_flag("--json", as_json, "Print JSON instead of tables");
    inspect_cmd->add_option("--top-ops", top_ops, "Op types to list in the table (default 15)");
    CLI11_PARSE(app, argc, argv);
    try {
        return inspect(path, as_json, top_ops);
    } catch (const ow::Error& e) {
        std::cerr << "onnx-weightless: " << e.what() << "\n";
        return 2;
    }
}
