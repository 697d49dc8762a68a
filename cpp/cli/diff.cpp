// `onnx-weightless diff`: what differs between two models' structures, weights unread.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "onnx_weightless/format.hpp"
#include "json_figures.hpp"
#include "loaded_model.hpp"
#include "onnx_weightless/diff.hpp"
#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/file_writer.hpp"
#include "onnx_weightless/report.hpp"

namespace onnx_weightless::cli {
namespace {

using nlohmann::json;

json text_changes_json(const std::vector<TextChange>& changes) {
    json out = json::array();
    for (const auto& c : changes) out.push_back({{"name", c.name}, {"before", c.before}, {"after", c.after}});
    return out;
}

json count_changes_json(const std::vector<CountChange>& changes) {
    json out = json::array();
    for (const auto& c : changes) out.push_back({{"name", c.name}, {"before", c.before}, {"after", c.after}});
    return out;
}

json side_json(const LoadedModel& model, const Totals& weights, const PolynomialMax& macs, uint64_t uncosted) {
    return {{"weights", {{"tensors", weights.tensors}, {"elements", weights.elements}, {"bytes", weights.bytes}}},
            {"macs", figure(macs)},
            {"uncosted", uncosted},
            {"shapes_from", model.shapes_from()}};
}

/// MACs, said to be a lower bound when nodes were not costed.
std::string macs_text(const PolynomialMax& macs, uint64_t uncosted) {
    std::string text = human_polynomial(macs);
    if (uncosted) text += " (at least: " + std::to_string(uncosted) + " nodes not costed)";
    return text;
}

json diff_json(const std::string& a, const std::string& b, const StructureDiff& d, const LoadedModel& before,
               const LoadedModel& after) {
    json tensors = json::array();
    for (const auto& t : d.tensors) {
        tensors.push_back({{"name", t.name}, {"change", tensor_change_name(t.kind)},
                           {"before", t.kind == TensorChange::Kind::added ? json(nullptr)
                                                                          : json{{"dtype", dtype_name(t.dtype_before)}, {"dims", t.dims_before}, {"bytes", t.bytes_before}}},
                           {"after", t.kind == TensorChange::Kind::removed ? json(nullptr)
                                                                           : json{{"dtype", dtype_name(t.dtype_after)}, {"dims", t.dims_after}, {"bytes", t.bytes_after}}}});
    }
    json changed = json::array();
    for (const auto& n : d.nodes_changed) {
        changed.push_back({{"before", {{"name", n.name_before}, {"op", n.op_before}, {"inputs", n.inputs_before}}},
                           {"after", {{"name", n.name_after}, {"op", n.op_after}, {"inputs", n.inputs_after}}},
                           {"attributes", text_changes_json(n.attributes)}});
    }
    return {
        {"before", a},
        {"after", b},
        {"identical", d.identical()},
        {"ir_version", {{"before", d.ir_before}, {"after", d.ir_after}}},
        {"opsets", count_changes_json(d.opsets)},
        {"inputs", text_changes_json(d.inputs)},
        {"outputs", text_changes_json(d.outputs)},
        {"ops", count_changes_json(d.ops)},
        {"tensors", tensors},
        {"nodes", {{"before", d.nodes_before}, {"after", d.nodes_after}, {"matched_by_name", d.matched_by_name},
                   {"matched_by_scope", d.matched_by_scope}, {"matched_by_structure", d.matched_by_structure}, {"added", d.nodes_added},
                   {"removed", d.nodes_removed}, {"changed", changed}}},
        {"totals", {{"before", side_json(before, d.weights_before, d.macs_before, d.uncosted_before)},
                    {"after", side_json(after, d.weights_after, d.macs_after, d.uncosted_after)}}},
    };
}

std::string dims_or_none(const std::vector<int64_t>& dims, int32_t dtype, bool present) {
    return present ? dtype_name(dtype) + dims_text(dims) : "-";
}

void print_list(const char* title, const std::vector<std::string>& names, size_t limit) {
    if (names.empty()) return;
    std::printf("\n%s (%zu)\n", title, names.size());
    for (size_t i = 0; i < names.size() && i < limit; ++i) std::printf("  %s\n", names[i].c_str());
    if (names.size() > limit) std::printf("  ... (all of them with --json)\n");
}

void print_diff(const std::string& a, const std::string& b, const StructureDiff& d, size_t limit) {
    std::printf("before       %s\nafter        %s\n", a.c_str(), b.c_str());
    if (d.identical()) {
        std::printf("\nidentical structure: the same graph, types and tensor shapes (weights unread)\n");
        return;
    }
    if (d.ir_before != d.ir_after) std::printf("IR version   %lld -> %lld\n", static_cast<long long>(d.ir_before), static_cast<long long>(d.ir_after));
    for (const auto& o : d.opsets) {
        std::printf("opset        %s: %lld -> %lld\n", o.name.empty() ? "ai.onnx" : o.name.c_str(),
                    static_cast<long long>(o.before), static_cast<long long>(o.after));
    }
    std::printf("weights      %s -> %s elements, %s -> %s\n", human_count(static_cast<double>(d.weights_before.elements)).c_str(),
                human_count(static_cast<double>(d.weights_after.elements)).c_str(),
                human_bytes(static_cast<double>(d.weights_before.bytes)).c_str(), human_bytes(static_cast<double>(d.weights_after.bytes)).c_str());
    std::printf("compute      %s -> %s MACs\n", macs_text(d.macs_before, d.uncosted_before).c_str(),
                macs_text(d.macs_after, d.uncosted_after).c_str());
    std::printf("nodes        %llu -> %llu (main graph; aligned %llu by name, %llu by name scope, %llu by op type)\n",
                static_cast<unsigned long long>(d.nodes_before), static_cast<unsigned long long>(d.nodes_after),
                static_cast<unsigned long long>(d.matched_by_name), static_cast<unsigned long long>(d.matched_by_scope),
                static_cast<unsigned long long>(d.matched_by_structure));
    for (const auto* values : {&d.inputs, &d.outputs}) {
        if (values->empty()) continue;
        std::printf("\n%s\n", values == &d.inputs ? "inputs" : "outputs");
        for (const auto& c : *values) {
            std::printf("  %-36s %s -> %s\n", c.name.c_str(), c.before.empty() ? "-" : c.before.c_str(), c.after.empty() ? "-" : c.after.c_str());
        }
    }
    if (!d.ops.empty()) {
        std::printf("\n%-28s %10s %10s\n", "op", "before", "after");
        for (const auto& o : d.ops) {
            std::printf("%-28s %10lld %10lld\n", o.name.c_str(), static_cast<long long>(o.before), static_cast<long long>(o.after));
        }
    }
    if (!d.tensors.empty()) {
        std::printf("\ntensors (%zu)\n", d.tensors.size());
        for (size_t i = 0; i < d.tensors.size() && i < limit; ++i) {
            const auto& t = d.tensors[i];
            std::printf("  %-22s %-40s %s -> %s\n", tensor_change_name(t.kind), t.name.c_str(),
                        dims_or_none(t.dims_before, t.dtype_before, t.kind != TensorChange::Kind::added).c_str(),
                        dims_or_none(t.dims_after, t.dtype_after, t.kind != TensorChange::Kind::removed).c_str());
        }
        if (d.tensors.size() > limit) std::printf("  ... (all of them with --json)\n");
    }
    print_list("nodes removed", d.nodes_removed, limit);
    print_list("nodes added", d.nodes_added, limit);
    if (!d.nodes_changed.empty()) {
        std::printf("\nnodes changed (%zu)\n", d.nodes_changed.size());
        for (size_t i = 0; i < d.nodes_changed.size() && i < limit; ++i) {
            const auto& n = d.nodes_changed[i];
            std::printf("  %s (%s)", n.name_before.c_str(), n.op_before.c_str());
            if (n.name_after != n.name_before || n.op_after != n.op_before) std::printf(" -> %s (%s)", n.name_after.c_str(), n.op_after.c_str());
            if (n.inputs_before != n.inputs_after) std::printf("; %zu -> %zu inputs", n.inputs_before, n.inputs_after);
            for (const auto& attribute : n.attributes) {
                std::printf("; %s: %s -> %s", attribute.name.c_str(), attribute.before.empty() ? "-" : attribute.before.c_str(),
                            attribute.after.empty() ? "-" : attribute.after.c_str());
            }
            std::printf("\n");
        }
        if (d.nodes_changed.size() > limit) std::printf("  ... (all of them with --json)\n");
    }
}

}  // namespace

int diff(const std::string& a, const std::string& b, bool as_json, size_t limit, const std::map<std::string, int64_t>& dims,
         const std::string& html) {
    const LoadedModel before = load_model(a, dims, 0);
    const LoadedModel after = load_model(b, dims, 0);
    const StructureDiff d = onnx_weightless::diff({before.index, before.graph, before.analysis}, {after.index, after.graph, after.analysis});
    if (!html.empty()) {
        write_file_atomically(html, diff_report_html({a, before.index, before.graph, before.analysis, dims, before.shapes_from()},
                                                     {b, after.index, after.graph, after.analysis, dims, after.shapes_from()}, d));
        std::fprintf(stderr, "wrote %s\n", html.c_str());
    }
    if (as_json) {
        std::cout << diff_json(a, b, d, before, after).dump(2) << "\n";
    } else {
        print_diff(a, b, d, limit);
    }
    return d.identical() ? 0 : 1;
}

}  // namespace onnx_weightless::cli
