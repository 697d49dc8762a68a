// onnx-weightless: look at an ONNX model's structure without reading its weights.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "onnx_weightless/analysis.hpp"
#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/check.hpp"
#include "onnx_weightless/digest.hpp"
#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/scan.hpp"
#include "onnx_weightless/skeleton.hpp"
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

std::string dims_text(const std::vector<int64_t>& dims) {
    std::string text = "[";
    for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
    return text + "]";
}

/// The `largest` tensors of the index by bytes, largest first.
std::vector<const ow::TensorInfo*> largest_tensors(const ow::TensorIndex& index, size_t largest) {
    std::vector<const ow::TensorInfo*> tensors;
    for (const auto& t : index.tensors) tensors.push_back(&t);
    auto bytes = [](const ow::TensorInfo* t) { return t->byte_size.value_or(0); };
    const size_t keep = std::min(largest, tensors.size());
    std::partial_sort(tensors.begin(), tensors.begin() + keep, tensors.end(), [&](const auto* a, const auto* b) {
        return bytes(a) > bytes(b) || (bytes(a) == bytes(b) && a->name < b->name);
    });
    tensors.resize(keep);
    return tensors;
}

json largest_weights_json(const std::vector<const ow::TensorInfo*>& weights) {
    json out = json::array();
    for (const auto* t : weights) {
        out.push_back({{"name", t->name}, {"dtype", ow::dtype_name(t->data_type)}, {"dims", t->dims},
                       {"bytes", t->byte_size.value_or(0)}, {"storage", ow::storage_name(t->storage)}});
    }
    return out;
}

json analysis_json(const ow::Analysis& a, const std::map<std::string, int64_t>& dims) {
    json by_op = json::object();
    for (const auto& [op, c] : a.by_op) {
        by_op[op] = {{"nodes", c.nodes}, {"macs", c.macs}, {"flops", c.flops}, {"unknown", c.unknown}};
    }
    json largest = json::array();
    for (const auto& v : a.largest_activations) {
        largest.push_back({{"name", v.name}, {"dtype", ow::dtype_name(v.elem_type)}, {"dims", v.dims}, {"bytes", v.bytes}});
    }
    return {
        {"dims", dims},
        {"macs", a.macs},
        {"flops", a.flops},
        {"unknown_nodes", a.unknown_nodes},
        {"by_op", by_op},
        {"activations", {{"known", a.activations_known}, {"unknown", a.activations_unknown},
                         {"bytes", a.activation_bytes}, {"peak_bytes", a.peak_activation_bytes}}},
        {"weight_derived", {{"values", a.weight_derived}, {"bytes", a.weight_derived_bytes}}},
        {"largest_activations", largest},
    };
}

void print_analysis(const ow::Analysis& a, size_t top_ops) {
    std::printf("\ncompute      %s MACs, %s FLOPs", human_count(static_cast<double>(a.macs)).c_str(),
                human_count(static_cast<double>(a.flops)).c_str());
    if (a.unknown_nodes) {
        std::printf(" (%llu nodes without known shapes not counted: bind symbols with --dim NAME=SIZE)",
                    static_cast<unsigned long long>(a.unknown_nodes));
    }
    std::printf("\nactivations  %s in all, %s peak alive; %llu of %llu node outputs sized",
                human_bytes(static_cast<double>(a.activation_bytes)).c_str(),
                human_bytes(static_cast<double>(a.peak_activation_bytes)).c_str(),
                static_cast<unsigned long long>(a.activations_known),
                static_cast<unsigned long long>(a.activations_known + a.activations_unknown));
    if (a.weight_derived) {
        std::printf("; %llu weight-derived values (%s) apart", static_cast<unsigned long long>(a.weight_derived),
                    human_bytes(static_cast<double>(a.weight_derived_bytes)).c_str());
    }
    std::vector<std::pair<std::string, ow::OpCost>> ops(a.by_op.begin(), a.by_op.end());
    std::sort(ops.begin(), ops.end(), [](const auto& x, const auto& y) {
        return x.second.flops > y.second.flops || (x.second.flops == y.second.flops && x.first < y.first);
    });
    std::printf("\n");
    if (!ops.empty() && ops[0].second.flops > 0) std::printf("\n%-28s %10s %14s %14s\n", "op by FLOPs", "nodes", "MACs", "FLOPs");
    for (size_t i = 0; i < ops.size() && i < top_ops && ops[i].second.flops > 0; ++i) {
        const auto& c = ops[i].second;
        std::printf("%-28s %10llu %14s %14s\n", ops[i].first.c_str(), static_cast<unsigned long long>(c.nodes),
                    human_count(static_cast<double>(c.macs)).c_str(), human_count(static_cast<double>(c.flops)).c_str());
    }
    if (!a.largest_activations.empty()) {
        std::printf("\n%-40s %-10s %-24s %12s\n", "largest activations", "dtype", "dims", "bytes");
        for (const auto& v : a.largest_activations) {
            std::printf("%-40s %-10s %-24s %12s\n", v.name.c_str(), ow::dtype_name(v.elem_type).c_str(),
                        dims_text(v.dims).c_str(), human_bytes(static_cast<double>(v.bytes)).c_str());
        }
    }
}

int inspect(const std::string& path, bool as_json, size_t top_ops, size_t largest,
            const std::map<std::string, int64_t>& dims) {
    const auto start = std::chrono::steady_clock::now();
    ow::FileSource source(path);
    ow::TensorIndex index = ow::scan(source);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const uint64_t scan_bytes_read = source.bytes_read();
    const uint64_t scan_reads = source.read_calls();
    const ow::IndexTotals totals = ow::totals(index);
    const ow::ModelSummary& s = index.summary;
    // The graph is analysed on the skeleton: the same model minus payloads, kilobytes in memory.
    ow::SkeletonPolicy policy;
    policy.model_location = std::filesystem::path(path).filename().string();
    const ow::SkeletonResult skeleton = ow::write_skeleton(source, index, policy);
    ow::AnalysisOptions options;
    options.dims = dims;
    options.largest = largest;
    const ow::Analysis analysis = ow::analyze(ow::read_graph(skeleton.bytes), options);
    const auto weights = largest_tensors(index, largest);

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
            {"largest_weights", largest_weights_json(weights)},
            {"analysis", analysis_json(analysis, dims)},
            {"scan", {{"seconds", seconds}, {"bytes_read", scan_bytes_read}, {"reads", scan_reads}}},
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
    if (!weights.empty()) {
        std::printf("\n%-40s %-10s %-24s %12s\n", "largest weights", "dtype", "dims", "bytes");
        for (const auto* t : weights) {
            std::printf("%-40s %-10s %-24s %12s\n", t->name.c_str(), ow::dtype_name(t->data_type).c_str(),
                        dims_text(t->dims).c_str(), human_bytes(static_cast<double>(t->byte_size.value_or(0))).c_str());
        }
    }
    print_analysis(analysis, top_ops);
    std::printf("\nscanned in %.1f ms, read %s of %s in %llu reads\n", seconds * 1e3,
                human_bytes(static_cast<double>(scan_bytes_read)).c_str(),
                human_bytes(static_cast<double>(index.file_size)).c_str(),
                static_cast<unsigned long long>(scan_reads));
    return 0;
}

const char* state_name(ow::ExternalFileState state) {
    switch (state) {
        case ow::ExternalFileState::present: return "present";
        case ow::ExternalFileState::missing: return "missing";
        case ow::ExternalFileState::refused: return "refused";
    }
    return "?";
}

/// Exit status: 0 when every referenced file is present, safe and large enough; 1 otherwise.
int check(const std::string& path, bool as_json) {
    ow::FileSource source(path);
    const ow::TensorIndex index = ow::scan(source);
    const std::string model_dir = std::filesystem::absolute(path).parent_path().string();
    const ow::ExternalDataCheck report = ow::check_external_data(index, model_dir);
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

/// Writes `bytes` to `path` through a partial file renamed into place: complete or absent.
void write_file_atomically(const std::filesystem::path& target, const std::string& bytes) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path partial = target.parent_path() / ("." + target.filename().string() + ".partial");
    std::FILE* f = std::fopen(partial.c_str(), "wb");
    if (!f) throw ow::IoError("cannot create " + partial.string());
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !written) {
        fs::remove(partial, ec);
        throw ow::IoError("cannot write " + partial.string());
    }
    fs::rename(partial, target, ec);
    if (ec) {
        fs::remove(partial, ec);
        throw ow::IoError("cannot rename " + partial.string() + " into " + target.string());
    }
}

/// Every tensor of the model: what it is, where its bytes are, and their SHA-256 when present.
json manifest_json(ow::ByteSource& source, const ow::TensorIndex& index, const ow::SkeletonPolicy& policy,
                   const std::string& model_dir, const std::string& skeleton_name, uint64_t skeleton_size) {
    json tensors = json::array();
    for (const auto& t : index.tensors) {
        const bool stripped = ow::strips(t, policy);
        json entry = {{"name", t.name}, {"dtype", ow::dtype_name(t.data_type)}, {"dims", t.dims},
                      {"bytes", t.byte_size ? json(*t.byte_size) : json(nullptr)},
                      {"storage", ow::storage_name(t.storage)}, {"role", ow::tensor_role_name(t.role)},
                      {"stripped", stripped}};
        if (t.storage == ow::Storage::inline_data) {
            entry["location"] = policy.model_location;
            entry["offset"] = t.payload.begin;
            entry["length"] = t.payload.size();
        } else if (t.storage == ow::Storage::external) {
            entry["location"] = t.location();
            try {
                entry["offset"] = t.external_offset().value_or(0);
                auto length = t.external_length();
                entry["length"] = length ? json(*length) : json(nullptr);
            } catch (const ow::FormatError&) {
                entry["offset"] = nullptr;
                entry["length"] = nullptr;
            }
        }
        auto digest = ow::tensor_sha256(source, t, model_dir);
        entry["sha256"] = digest ? json(*digest) : json(nullptr);
        tensors.push_back(std::move(entry));
    }
    return {{"model", policy.model_location}, {"model_size", index.file_size}, {"skeleton", skeleton_name},
            {"skeleton_size", skeleton_size}, {"threshold", policy.threshold_bytes}, {"tensors", tensors}};
}

/// Writes the skeleton of `path` to `output` (a new file, renamed into place once complete), and
/// its manifest to `manifest` when given.
int strip(const std::string& path, const std::string& output, uint64_t threshold, bool force, const std::string& manifest) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const std::string& target : {output, manifest}) {
        if (target.empty()) continue;
        if (fs::exists(target, ec) && fs::equivalent(path, target, ec)) {
            std::cerr << "onnx-weightless: refusing to overwrite the model itself with its skeleton\n";
            return 1;
        }
        if (fs::exists(target, ec) && !force) {
            std::cerr << "onnx-weightless: " << target << " exists; pass --force to replace it\n";
            return 1;
        }
    }
    ow::FileSource source(path);
    const ow::TensorIndex index = ow::scan(source);
    ow::SkeletonPolicy policy;
    policy.threshold_bytes = threshold;
    policy.model_location = fs::path(path).filename().string();
    const ow::SkeletonResult skeleton = ow::write_skeleton(source, index, policy);
    std::string manifest_text;
    if (!manifest.empty()) {
        const std::string model_dir = fs::absolute(path).parent_path().string();
        manifest_text = manifest_json(source, index, policy, model_dir, fs::path(output).filename().string(),
                                      skeleton.bytes.size()).dump(2) + "\n";
    }
    write_file_atomically(output, skeleton.bytes);
    if (!manifest.empty()) write_file_atomically(manifest, manifest_text);
    std::printf("%s: %s -> %s (%llu tensors stripped, %s of payload left in %s)\n", output.c_str(),
                human_bytes(static_cast<double>(index.file_size)).c_str(),
                human_bytes(static_cast<double>(skeleton.bytes.size())).c_str(),
                static_cast<unsigned long long>(skeleton.stripped_tensors),
                human_bytes(static_cast<double>(skeleton.stripped_bytes)).c_str(), policy.model_location.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"onnx-weightless: an ONNX model's structure without its weights"};
    app.require_subcommand(1);
    std::string path;
    bool as_json = false;
    size_t top_ops = 15;
    size_t largest = 10;
    std::vector<std::string> dim_args;
    CLI::App* inspect_cmd = app.add_subcommand(
        "inspect", "Summarise a model: graph, op types, weights by dtype and storage, MACs/FLOPs and activation memory");
    inspect_cmd->add_option("model", path, "Path to the .onnx file")->required();
    inspect_cmd->add_flag("--json", as_json, "Print JSON instead of tables");
    inspect_cmd->add_option("--top-ops", top_ops, "Op types to list in the tables (default 15)");
    inspect_cmd->add_option("--largest", largest, "Largest weights and activations to list (default 10)");
    inspect_cmd->add_option("--dim", dim_args,
                            "Size of a symbolic dimension, NAME=SIZE (repeatable), e.g. --dim batch=1 --dim sequence=128");
    CLI::App* check_cmd = app.add_subcommand(
        "check", "Which external data files the model references, and whether each is present, safe to open and large enough");
    check_cmd->add_option("model", path, "Path to the .onnx file")->required();
    check_cmd->add_flag("--json", as_json, "Print JSON instead of a table");
    std::string output;
    uint64_t threshold = 1024;
    bool force = false;
    CLI::App* strip_cmd = app.add_subcommand(
        "strip", "Write the model's skeleton: the same model with every payload over the threshold left in the original file");
    strip_cmd->add_option("model", path, "Path to the .onnx file")->required();
    strip_cmd->add_option("-o,--output", output, "Skeleton file to write")->required();
    strip_cmd->add_option("--threshold", threshold, "Payloads of more bytes than this are stripped (default 1024)");
    strip_cmd->add_flag("--force", force, "Replace the output (and manifest) files if they exist");
    std::string manifest;
    strip_cmd->add_option("--manifest", manifest,
                          "Also write a JSON manifest: every tensor's dtype, dims, size, where its bytes are, SHA-256 of those present");
    CLI11_PARSE(app, argc, argv);
    try {
        if (check_cmd->parsed()) return check(path, as_json);
        if (strip_cmd->parsed()) return strip(path, output, threshold, force, manifest);
    } catch (const ow::Error& e) {
        std::cerr << "onnx-weightless: " << e.what() << "\n";
        return 2;
    }
    std::map<std::string, int64_t> dims;
    for (const auto& arg : dim_args) {
        const auto eq = arg.find('=');
        int64_t size = -1;
        try {
            if (eq != std::string::npos && eq > 0) size = std::stoll(arg.substr(eq + 1));
        } catch (const std::exception&) {
        }
        if (size < 0) {
            std::cerr << "onnx-weightless: --dim expects NAME=SIZE with a non-negative SIZE, got '" << arg << "'\n";
            return 1;
        }
        dims[arg.substr(0, eq)] = size;
    }
    try {
        return inspect(path, as_json, top_ops, largest, dims);
    } catch (const ow::Error& e) {
        std::cerr << "onnx-weightless: " << e.what() << "\n";
        return 2;
    }
}
