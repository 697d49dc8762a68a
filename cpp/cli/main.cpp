// onnx-weightless: look at an ONNX model's structure without reading its weights.
// This file parses the arguments; each subcommand lives in its own file (commands.hpp).
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "onnx_weightless/errors.hpp"

namespace ow = onnx_weightless;

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
    std::string html;
    inspect_cmd->add_option("--html", html, "Also write the report as one self-contained HTML file (block graph and charts)");
    inspect_cmd->add_option("--dim", dim_args,
                            "Size of a symbolic dimension, NAME=SIZE (repeatable), e.g. --dim batch=1 --dim sequence=128");
    std::string other;
    size_t limit = 20;
    CLI::App* diff_cmd = app.add_subcommand(
        "diff", "What differs between two models' structures (weights unread): exit status 0 when nothing, 1 otherwise");
    diff_cmd->add_option("before", path, "Path to the first .onnx file")->required();
    diff_cmd->add_option("after", other, "Path to the second .onnx file")->required();
    diff_cmd->add_flag("--json", as_json, "Print JSON instead of tables");
    diff_cmd->add_option("--limit", limit, "Entries of each list the tables show (default 20; --json shows all)");
    diff_cmd->add_option("--dim", dim_args, "Size of a symbolic dimension, NAME=SIZE (repeatable), for the MAC totals");
    diff_cmd->add_option("--html", html, "Also write the two models side by side, and the changes, as one HTML file");
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
        if (check_cmd->parsed()) return ow::cli::check(path, as_json);
        if (strip_cmd->parsed()) return ow::cli::strip(path, output, threshold, force, manifest);
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
        if (diff_cmd->parsed()) return ow::cli::diff(path, other, as_json, limit, dims, html);
        return ow::cli::inspect(path, as_json, top_ops, largest, dims, html);
    } catch (const ow::Error& e) {
        std::cerr << "onnx-weightless: " << e.what() << "\n";
        return 2;
    }
}
