// `onnx-weightless inspect`: what a model holds and costs, from its structure alone.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "onnx_weightless/format.hpp"
#include "json_figures.hpp"
#include "loaded_model.hpp"
#include "onnx_weightless/analysis.hpp"
#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/file_writer.hpp"
#include "onnx_weightless/report.hpp"
#include "onnx_weightless/summary.hpp"

namespace onnx_weightless::cli {
namespace {

namespace ow = onnx_weightless;
using nlohmann::json;

json totals_json(const ow::Totals& t) {
    return {{"tensors", t.tensors}, {"elements", t.elements}, {"bytes", t.bytes}};
}

json totals_map_json(const std::map<std::string, ow::Totals>& map) {
    json out = json::object();
    for (const auto& [key, t] : map) out[key] = totals_json(t);
    return out;
}

void print_totals_table(const char* title, const std::map<std::string, ow::Totals>& map) {
    std::printf("\n%-28s %10s %14s %14s\n", title, "tensors", "elements", "bytes");
    for (const auto& [key, t] : map) {
        std::printf("%-28s %10llu %14s %14s\n", key.c_str(), static_cast<unsigned long long>(t.tensors),
                    human_count(static_cast<double>(t.elements)).c_str(),
                    human_bytes(static_cast<double>(t.bytes)).c_str());
    }
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
        by_op[op] = {{"nodes", c.nodes}, {"macs", figure(c.macs)}, {"flops", figure(c.flops)}, {"unknown", c.unknown}};
    }
    json largest = json::array();
    for (const auto& v : a.largest_activations) {
        json shape = json::array();
        for (const auto& d : v.dims) shape.push_back(figure(d));
        largest.push_back({{"name", v.name}, {"dtype", ow::dtype_name(v.elem_type)}, {"dims", shape}, {"bytes", figure(v.bytes)}});
    }
    json uncosted = json::array();
    json subgraphs = json::array();
    for (const auto& c : a.nodes) {
        const std::string op = c.domain.empty() ? c.op_type : c.domain + "::" + c.op_type;
        if (!c.known) uncosted.push_back({{"name", c.name}, {"op", op}, {"reason", c.reason}});
        for (const auto& part : c.subgraphs) {
            subgraphs.push_back({{"name", c.name}, {"op", op}, {"attribute", part.attribute}, {"macs", figure(part.macs)},
                                 {"flops", figure(part.flops)}, {"iterations", figure(part.iterations)},
                                 {"nodes", part.nodes}, {"unknown", part.unknown}});
        }
    }
    return {
        {"dims", dims},
        {"symbols", a.symbols},
        {"complete", a.complete()},
        {"macs", figure(a.macs)},
        {"flops", figure(a.flops)},
        {"unknown_nodes", a.unknown_nodes},
        {"uncosted", uncosted},
        {"subgraphs", subgraphs},
        {"by_op", by_op},
        {"activations", {{"known", a.activations_known}, {"unknown", a.activations_unknown}, {"unsized", a.unsized_activations},
                         {"bytes", figure(a.activation_bytes)}, {"peak_bytes", figure(a.peak_activation_bytes)},
                         {"peak_exact", a.peak_activation_bytes.exact}}},
        {"weight_derived", {{"values", a.weight_derived}, {"bytes", figure(a.weight_derived_bytes)}}},
        {"largest_activations", largest},
    };
}

void print_analysis(const ow::Analysis& a, const std::map<std::string, int64_t>& dims, size_t top_ops) {
    std::printf("\ncompute      %s MACs, %s FLOPs", human_polynomial(a.macs).c_str(), human_polynomial(a.flops).c_str());
    if (!a.symbols.empty()) {
        std::string names;
        for (const auto& symbol : a.symbols) names += (names.empty() ? "" : ", ") + symbol;
        std::printf(" (in %s: size them with --dim NAME=SIZE)", names.c_str());
    }
    if (a.unknown_nodes) {
        std::printf("\nincomplete   %llu nodes not costed, their shapes unknown:", static_cast<unsigned long long>(a.unknown_nodes));
        size_t shown = 0;
        for (const auto& c : a.nodes) {
            if (c.known) continue;
            if (shown++ == 5) {
                std::printf("\n             ... (all of them with --json)");
                break;
            }
            std::printf("\n             %s (%s): %s", c.name.empty() ? "(unnamed)" : c.name.c_str(), c.op_type.c_str(), c.reason.c_str());
        }
    }
    size_t shown_subgraphs = 0;
    for (const auto& c : a.nodes) {
        for (const auto& part : c.subgraphs) {
            if (shown_subgraphs++ == 0) std::printf("\nsubgraphs    an If counts its costliest branch, a body its trip count:");
            if (shown_subgraphs == 7) std::printf("\n             ... (all of them with --json)");
            if (shown_subgraphs >= 7) continue;
            std::printf("\n             %s (%s) %s: %llu nodes, %s MACs", c.name.empty() ? "(unnamed)" : c.name.c_str(),
                        c.op_type.c_str(), part.attribute.c_str(), static_cast<unsigned long long>(part.nodes),
                        human_polynomial(part.macs).c_str());
            if (c.op_type != "If") {
                std::printf(" (%s iterations)", human_polynomial(part.iterations).c_str());
            }
        }
    }
    std::printf("\nactivations  %s in all, %s peak alive; %llu of %llu node outputs sized",
                human_polynomial_bytes(a.activation_bytes).c_str(), human_polynomial_bytes(a.peak_activation_bytes).c_str(),
                static_cast<unsigned long long>(a.activations_known),
                static_cast<unsigned long long>(a.activations_known + a.activations_unknown));
    if (a.weight_derived) {
        std::printf("; %llu weight-derived values (%s) apart", static_cast<unsigned long long>(a.weight_derived),
                    human_polynomial_bytes(a.weight_derived_bytes).c_str());
    }
    // Symbolic figures are ordered as if every unbound symbol were 1024.
    auto size = [&](const ow::PolynomialMax& p) { return p.estimate(dims, 1024.0); };
    std::vector<std::pair<std::string, ow::OpCost>> ops(a.by_op.begin(), a.by_op.end());
    std::sort(ops.begin(), ops.end(), [&](const auto& x, const auto& y) {
        return size(x.second.flops) > size(y.second.flops) || (size(x.second.flops) == size(y.second.flops) && x.first < y.first);
    });
    std::printf("\n");
    if (!ops.empty() && !ops[0].second.flops.is_zero()) std::printf("\n%-28s %10s %14s %14s\n", "op by FLOPs", "nodes", "MACs", "FLOPs");
    for (size_t i = 0; i < ops.size() && i < top_ops && !ops[i].second.flops.is_zero(); ++i) {
        const auto& c = ops[i].second;
        std::printf("%-28s %10llu %s %s\n", ops[i].first.c_str(), static_cast<unsigned long long>(c.nodes),
                    right(human_polynomial(c.macs), 14).c_str(), right(human_polynomial(c.flops), 14).c_str());
    }
    if (!a.largest_activations.empty()) {
        std::printf("\n%-40s %-10s %-24s %12s\n", "largest activations", "dtype", "dims", "bytes");
        for (const auto& v : a.largest_activations) {
            std::printf("%-40s %-10s %-24s %s\n", v.name.c_str(), ow::dtype_name(v.elem_type).c_str(),
                        dims_text(v.dims).c_str(), right(human_polynomial_bytes(v.bytes), 12).c_str());
        }
    }
}

}  // namespace

int inspect(const std::string& path, bool as_json, size_t top_ops, size_t largest,
            const std::map<std::string, int64_t>& dims, const std::string& html) {
    const LoadedModel model = load_model(path, dims, largest);
    if (!html.empty()) {
        ow::write_file_atomically(html, ow::report_html({path, model.index, model.graph, model.analysis, dims, model.shapes_from()}));
        std::fprintf(stderr, "wrote %s\n", html.c_str());
    }
    const ow::TensorIndex& index = model.index;
    const ow::IndexTotals totals = ow::totals(index);
    const ow::ModelSummary& s = index.summary;
    const ow::Analysis& analysis = model.analysis;
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
            {"shapes", {{"from", model.shapes_from()}, {"inference", shape_inference_version()},
                        {"error", model.inferred.error}, {"seconds", model.inference_seconds}}},
            {"scan", {{"seconds", model.scan_seconds}, {"bytes_read", model.scan_bytes_read}, {"reads", model.scan_reads}}},
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
    if (model.inferred.inferred) {
        std::printf("\nshapes       inferred by ONNX %s in %.1f ms", shape_inference_version().c_str(), model.inference_seconds * 1e3);
    } else {
        std::printf("\nshapes       as the file declares them (%s)", model.inferred.error.c_str());
    }
    print_analysis(analysis, dims, top_ops);
    std::printf("\nscanned in %.1f ms, read %s of %s in %llu reads\n", model.scan_seconds * 1e3,
                human_bytes(static_cast<double>(model.scan_bytes_read)).c_str(),
                human_bytes(static_cast<double>(index.file_size)).c_str(),
                static_cast<unsigned long long>(model.scan_reads));
    return 0;
}

}  // namespace onnx_weightless::cli
