#include "onnx_weightless/report.hpp"

#include <algorithm>
#include <sstream>

#include "onnx_weightless/blocks.hpp"
#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/format.hpp"
#include "onnx_weightless/summary.hpp"

namespace onnx_weightless {
namespace {

std::string escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

// Bars of symbolic figures are drawn as if every unbound symbol were 1024 (the figure's text is exact).
constexpr double kUnboundSymbol = 1024.0;

struct Bar {
    std::string label;
    double value = 0;
    std::string text;  ///< the exact figure
};

/// A horizontal bar chart as inline SVG, `bars` largest first, at most `limit`.
std::string bar_chart(const std::string& title, std::vector<Bar> bars, size_t limit) {
    std::stable_sort(bars.begin(), bars.end(), [](const Bar& a, const Bar& b) { return a.value > b.value; });
    bars.erase(std::remove_if(bars.begin(), bars.end(), [](const Bar& b) { return b.value <= 0; }), bars.end());
    if (bars.size() > limit) bars.resize(limit);
    std::ostringstream out;
    out << "<figure class=\"chart\"><figcaption>" << escape(title) << "</figcaption>";
    if (bars.empty()) return out.str() + "<p class=\"none\">nothing to show</p></figure>";
    const double largest = bars.front().value;
    const int row = 22, label_width = 230, bar_width = 260;
    out << "<svg role=\"img\" width=\"" << label_width + bar_width + 170 << "\" height=\"" << row * bars.size() + 4
        << "\" xmlns=\"http://www.w3.org/2000/svg\">";
    for (size_t i = 0; i < bars.size(); ++i) {
        const double width = std::max(1.0, bar_width * bars[i].value / largest);
        const int y = static_cast<int>(i) * row;
        std::string label = bars[i].label;
        if (label.size() > 34) label = label.substr(0, 15) + "…" + label.substr(label.size() - 16);
        out << "<g class=\"bar\"><title>" << escape(bars[i].label) << ": " << escape(bars[i].text) << "</title>"
            << "<text x=\"" << label_width - 6 << "\" y=\"" << y + 15 << "\" text-anchor=\"end\">" << escape(label) << "</text>"
            << "<rect x=\"" << label_width << "\" y=\"" << y + 3 << "\" width=\"" << width << "\" height=\"" << row - 6 << "\"/>"
            << "<text x=\"" << label_width + width + 6 << "\" y=\"" << y + 15 << "\">" << escape(bars[i].text) << "</text></g>";
    }
    return out.str() + "</svg></figure>";
}

std::string count_text(const PolynomialMax& p) { return human_polynomial(p); }

/// The blocks the charts compare: the root's children, the one holding most of the nodes opened
/// into its own children (and a chain of single children joined, `model/layers/0 … 31`), until
/// the largest is a folded block or holds at most half the nodes.
std::vector<std::pair<std::string, const Block*>> chart_blocks(const Block& root) {
    std::vector<std::pair<std::string, const Block*>> entries;
    for (const auto& c : root.children) entries.emplace_back(c.name, &c);
    for (int step = 0; step < 8 && !entries.empty(); ++step) {
        auto largest = std::max_element(entries.begin(), entries.end(),
                                        [](const auto& a, const auto& b) { return a.second->nodes < b.second->nodes; });
        const Block& block = *largest->second;
        if (block.repeat > 1 || block.children.empty()) break;
        if (block.children.size() >= 2 && 2 * block.nodes <= root.nodes) break;
        const std::string prefix = largest->first + "/";
        std::vector<std::pair<std::string, const Block*>> opened;
        for (const auto& c : block.children) opened.emplace_back(prefix + c.name, &c);
        largest = entries.erase(largest);
        entries.insert(largest, opened.begin(), opened.end());
    }
    return entries;
}

void write_block(std::ostringstream& out, const Block& block, const std::map<std::string, int64_t>& dims,
                 double largest_macs, int depth) {
    const double macs = block.macs.estimate(dims, kUnboundSymbol);
    const double share = largest_macs > 0 ? 100.0 * macs / largest_macs : 0;
    out << "<details class=\"block\"" << (depth < 2 ? " open" : "") << "><summary><span class=\"name\">" << escape(block.name)
        << "</span>";
    if (block.repeat > 1) out << " <span class=\"repeat\">×" << block.repeat << "</span>";
    out << "<span class=\"facts\">" << block.nodes << " nodes · " << human_count(static_cast<double>(block.weight_elements))
        << " weights · " << escape(count_text(block.macs)) << " MACs · " << escape(human_polynomial_bytes(block.activation_bytes))
        << " activations";
    if (block.uncosted) out << " · <span class=\"warn\">" << block.uncosted << " not costed</span>";
    out << "</span><span class=\"meter\"><span style=\"width:" << share << "%\"></span></span></summary>";
    if (!block.children.empty()) {
        out << "<div class=\"children\">";
        for (const auto& c : block.children) write_block(out, c, dims, largest_macs, depth + 1);
        out << "</div>";
    } else {
        out << "<p class=\"ops\">";
        bool first = true;
        for (const auto& [op, n] : block.ops) {
            out << (first ? "" : ", ") << escape(op) << (n > 1 ? " ×" + std::to_string(n) : "");
            first = false;
        }
        out << "</p>";
    }
    out << "</details>";
}

void totals_table(std::ostringstream& out, const char* title, const std::map<std::string, Totals>& map) {
    if (map.empty()) return;
    out << "<table><caption>" << title << "</caption><tr><th></th><th>tensors</th><th>elements</th><th>bytes</th></tr>";
    for (const auto& [key, t] : map) {
        out << "<tr><td>" << escape(key) << "</td><td>" << t.tensors << "</td><td>" << human_count(static_cast<double>(t.elements))
            << "</td><td>" << human_bytes(static_cast<double>(t.bytes)) << "</td></tr>";
    }
    out << "</table>";
}

const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#5b6475}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:8px 12px;min-width:140px}
.card b{display:block;font-size:17px}.card span{color:#5b6475;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:18px}.chart{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:8px;margin:0}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:18px}.side{min-width:0;overflow-x:auto}
.chart figcaption{font-weight:600;margin-bottom:4px}.chart rect{fill:#4c78a8}.chart text{font-size:11px;fill:#1d2330}
.block{border-left:3px solid #4c78a8;background:#fff;margin:6px 0 6px 14px;padding:2px 8px;border-radius:0 4px 4px 0;position:relative}
.block::before{content:"";position:absolute;left:-12px;top:-7px;height:7px;border-left:2px solid #b8c2d3}
.block>summary{cursor:pointer;display:flex;flex-wrap:wrap;align-items:center;gap:8px}
.name{font-weight:600}.repeat{background:#e45756;color:#fff;border-radius:8px;padding:0 6px;font-size:12px}
.facts{color:#5b6475;font-size:12px}.warn{color:#b3261e}
.meter{display:inline-block;width:120px;height:6px;background:#e9edf3;border-radius:3px;overflow:hidden}
.meter span{display:block;height:100%;background:#4c78a8}.ops{color:#5b6475;font-size:12px;margin:2px 0 4px 4px}
table{border-collapse:collapse;margin:8px 24px 8px 0;background:#fff;display:inline-table;vertical-align:top}
caption{font-weight:600;text-align:left;padding:4px 0}td,th{border:1px solid #dde2ea;padding:3px 8px;text-align:right}
td:first-child{text-align:left}.none{color:#5b6475}button{margin:0 6px 6px 0}
)";

// Expand or collapse every block; records on <body> that the page rendered, in how many ms from
// navigation, what it holds, and any script error.
const char* kScript = R"(
window.addEventListener('error', function (e) { document.body.dataset.errors = (document.body.dataset.errors || '') + e.message + ';'; });
function setBlocks(open) { document.querySelectorAll('details.block').forEach(function (d) { d.open = open; }); }
document.querySelectorAll('button.expand').forEach(function (b) { b.addEventListener('click', function () { setBlocks(true); }); });
document.querySelectorAll('button.collapse').forEach(function (b) { b.addEventListener('click', function () { setBlocks(false); }); });
document.body.dataset.blocks = String(document.querySelectorAll('details.block').length);
document.body.dataset.charts = String(document.querySelectorAll('figure.chart svg').length);
document.body.dataset.scriptMs = performance.now().toFixed(0);
document.body.dataset.rendered = 'ok';
)";

std::string file_name(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

void write_head(std::ostringstream& out, const std::string& title) {
    out << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << escape(title)
        << " · onnx-weightless</title><style>" << kStyle << "</style></head><body>";
}

/// The model's path, producer, versions and where its shapes came from; its totals as cards; a
/// warning when the analysis is incomplete.
void write_summary(std::ostringstream& out, const ReportInput& input, const char* cards_id) {
    const Analysis& a = input.analysis;
    const ModelSummary& s = input.index.summary;
    const IndexTotals weights = totals(input.index);
    out << "<p class=\"sub\">" << escape(input.title) << " · " << escape(s.producer_name) << " " << escape(s.producer_version)
        << " · IR " << s.ir_version << " · opsets";
    for (const auto& o : s.opsets) out << " " << escape(o.domain.empty() ? "ai.onnx" : o.domain) << ":" << o.version;
    out << " · shapes " << escape(input.shapes_from);
    if (!input.dims.empty()) {
        out << " · sized";
        for (const auto& [name, size] : input.dims) out << " " << escape(name) << "=" << size;
    }
    out << "</p><div class=\"cards\" id=\"" << cards_id << "\">";
    auto card = [&](const std::string& value, const char* what) {
        // A long symbolic figure is cut in the card and whole in its tooltip.
        const std::string shown = value.size() > 90 ? value.substr(0, 87) + "…" : value;
        out << "<div class=\"card\"><b title=\"" << escape(value) << "\">" << escape(shown) << "</b><span>" << what << "</span></div>";
    };
    card(human_count(static_cast<double>(weights.all.elements)), "weights");
    card(human_bytes(static_cast<double>(weights.all.bytes)), "weight bytes");
    card(count_text(a.macs), "MACs");
    card(count_text(a.flops), "FLOPs");
    card(human_polynomial_bytes(a.peak_activation_bytes), "peak activations");
    card(std::to_string(s.node_count), "nodes");
    if (!a.symbols.empty()) {
        std::string names;
        for (const auto& symbol : a.symbols) names += (names.empty() ? "" : ", ") + symbol;
        card(names, "symbols left unsized");
    }
    out << "</div>";
    if (!a.complete()) {
        out << "<p class=\"warn\">Incomplete: " << a.unknown_nodes << " nodes not costed and " << a.activations_unknown
            << " activations not sized; the figures leave them out.</p>";
    }
}

void write_blocks(std::ostringstream& out, const Block& root, const std::map<std::string, int64_t>& dims) {
    out << "<button class=\"expand\" type=\"button\">expand all</button><button class=\"collapse\" type=\"button\">collapse all</button>"
        << "<div class=\"blocks\">";
    write_block(out, root, dims, root.macs.estimate(dims, kUnboundSymbol), 0);
    out << "</div>";
}

/// Bars of one figure for the chart blocks.
std::vector<Bar> block_bars(const Block& root, const std::map<std::string, int64_t>& dims, int figure) {
    std::vector<Bar> bars;
    for (const auto& [name, block] : chart_blocks(root)) {
        const Block& b = *block;
        const std::string label = b.repeat > 1 ? name + " ×" + std::to_string(b.repeat) : name;
        if (figure == 0) bars.push_back({label, static_cast<double>(b.weight_bytes), human_bytes(static_cast<double>(b.weight_bytes))});
        if (figure == 1) bars.push_back({label, b.macs.estimate(dims, kUnboundSymbol), count_text(b.macs)});
        if (figure == 2) bars.push_back({label, b.activation_bytes.estimate(dims, kUnboundSymbol), human_polynomial_bytes(b.activation_bytes)});
    }
    return bars;
}

}  // namespace

std::string report_html(const ReportInput& input) {
    const Analysis& a = input.analysis;
    const IndexTotals weights = totals(input.index);
    const std::string model_name = file_name(input.title);
    const Block root = build_blocks(input.graph, a, input.index, model_name);

    std::ostringstream out;
    write_head(out, model_name);
    out << "<h1>" << escape(model_name) << "</h1>";
    write_summary(out, input, "totals");

    std::vector<Bar> op_macs, op_flops, op_nodes;
    for (const auto& [op, cost] : a.by_op) {
        op_macs.push_back({op, cost.macs.estimate(input.dims, kUnboundSymbol), count_text(cost.macs)});
        op_flops.push_back({op, cost.flops.estimate(input.dims, kUnboundSymbol), count_text(cost.flops)});
        op_nodes.push_back({op, static_cast<double>(cost.nodes), std::to_string(cost.nodes)});
    }
    out << "<h2>By block</h2><div class=\"charts\" id=\"block-charts\">"
        << bar_chart("weight bytes", block_bars(root, input.dims, 0), 20) << bar_chart("MACs", block_bars(root, input.dims, 1), 20)
        << bar_chart("activation bytes", block_bars(root, input.dims, 2), 20) << "</div>";
    out << "<h2>By op type</h2><div class=\"charts\" id=\"op-charts\">" << bar_chart("MACs", op_macs, 20)
        << bar_chart("FLOPs", op_flops, 20) << bar_chart("nodes", op_nodes, 20) << "</div>";
    if (!a.symbols.empty()) {
        out << "<p class=\"sub\">Bars of figures left symbolic are drawn with every unsized symbol at 1024; their text is exact.</p>";
    }

    out << "<h2>Blocks</h2><p class=\"sub\">By the node-name hierarchy the exporter wrote; repeated blocks of one "
           "structure are folded (×count, their figures in all, their children one instance's).</p>";
    write_blocks(out, root, input.dims);

    out << "<h2>Weights</h2><div id=\"weights\">";
    totals_table(out, "by dtype", weights.by_dtype);
    totals_table(out, "by storage", weights.by_storage);
    totals_table(out, "external files", weights.by_external_file);
    out << "</div>";

    if (a.unknown_nodes) {
        out << "<h2>Not costed</h2><table id=\"uncosted\"><tr><th>node</th><th>op</th><th>why</th></tr>";
        size_t shown = 0;
        for (const auto& c : a.nodes) {
            if (c.known) continue;
            if (shown++ == 200) break;
            out << "<tr><td>" << escape(c.name) << "</td><td>" << escape(c.op_type) << "</td><td style=\"text-align:left\">"
                << escape(c.reason) << "</td></tr>";
        }
        out << "</table>";
    }
    out << "<script>" << kScript << "</script></body></html>\n";
    return out.str();
}

namespace {

void change_rows(std::ostringstream& out, const char* title, const std::vector<TextChange>& changes) {
    if (changes.empty()) return;
    out << "<table><caption>" << title << "</caption><tr><th>name</th><th>before</th><th>after</th></tr>";
    for (const auto& c : changes) {
        out << "<tr><td>" << escape(c.name) << "</td><td>" << (c.before.empty() ? "–" : escape(c.before)) << "</td><td>"
            << (c.after.empty() ? "–" : escape(c.after)) << "</td></tr>";
    }
    out << "</table>";
}

void count_rows(std::ostringstream& out, const char* title, const std::vector<CountChange>& changes) {
    if (changes.empty()) return;
    out << "<table><caption>" << title << "</caption><tr><th></th><th>before</th><th>after</th></tr>";
    for (const auto& c : changes) {
        out << "<tr><td>" << escape(c.name.empty() ? "ai.onnx" : c.name) << "</td><td>" << c.before << "</td><td>" << c.after
            << "</td></tr>";
    }
    out << "</table>";
}

constexpr size_t kMostRows = 500;

void list_rows(std::ostringstream& out, const char* title, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out << "<table><caption>" << title << " (" << names.size() << ")</caption>";
    for (size_t i = 0; i < names.size() && i < kMostRows; ++i) out << "<tr><td>" << escape(names[i]) << "</td></tr>";
    if (names.size() > kMostRows) out << "<tr><td>… (all of them with --json)</td></tr>";
    out << "</table>";
}

std::string tensor_text(int32_t dtype, const std::vector<int64_t>& dims) { return dtype_name(dtype) + dims_text(dims); }

}  // namespace

std::string diff_report_html(const ReportInput& before, const ReportInput& after, const StructureDiff& diff) {
    const std::string a_name = file_name(before.title), b_name = file_name(after.title);
    std::ostringstream out;
    write_head(out, a_name + " vs " + b_name);
    out << "<h1>" << escape(a_name) << " ⟷ " << escape(b_name) << "</h1><p class=\"sub\" id=\"verdict\">"
        << (diff.identical() ? "Identical structure: the same graph, types and tensor shapes (weights unread)."
                             : "The structures differ: the changes are below the two models.")
        << "</p><div class=\"sides\">";
    for (const ReportInput* side : {&before, &after}) {
        const Block root = build_blocks(side->graph, side->analysis, side->index, file_name(side->title));
        out << "<section class=\"side\"><h2>" << (side == &before ? "before" : "after") << "</h2>";
        write_summary(out, *side, side == &before ? "before-totals" : "after-totals");
        out << "<div class=\"charts\">" << bar_chart("MACs by block", block_bars(root, side->dims, 1), 12) << "</div>";
        write_blocks(out, root, side->dims);
        out << "</section>";
    }
    out << "</div><h2>Changes</h2><div id=\"changes\">";
    if (diff.ir_before != diff.ir_after) {
        count_rows(out, "IR version", {{"IR", diff.ir_before, diff.ir_after}});
    }
    count_rows(out, "opsets", diff.opsets);
    change_rows(out, "inputs", diff.inputs);
    change_rows(out, "outputs", diff.outputs);
    count_rows(out, "nodes by op type", diff.ops);
    if (!diff.tensors.empty()) {
        out << "<table><caption>tensors (" << diff.tensors.size() << ")</caption><tr><th>name</th><th>change</th><th>before</th><th>after</th></tr>";
        for (size_t i = 0; i < diff.tensors.size() && i < kMostRows; ++i) {
            const auto& t = diff.tensors[i];
            out << "<tr><td>" << escape(t.name) << "</td><td>" << tensor_change_name(t.kind) << "</td><td>"
                << (t.kind == TensorChange::Kind::added ? "–" : escape(tensor_text(t.dtype_before, t.dims_before))) << "</td><td>"
                << (t.kind == TensorChange::Kind::removed ? "–" : escape(tensor_text(t.dtype_after, t.dims_after))) << "</td></tr>";
        }
        out << "</table>";
    }
    if (!diff.nodes_changed.empty()) {
        out << "<table><caption>nodes changed (" << diff.nodes_changed.size()
            << ")</caption><tr><th>before</th><th>after</th><th>what changed</th></tr>";
        for (size_t i = 0; i < diff.nodes_changed.size() && i < kMostRows; ++i) {
            const auto& n = diff.nodes_changed[i];
            std::string what;
            if (n.inputs_before != n.inputs_after) what += std::to_string(n.inputs_before) + " → " + std::to_string(n.inputs_after) + " inputs; ";
            for (const auto& attribute : n.attributes) {
                what += attribute.name + ": " + (attribute.before.empty() ? "–" : attribute.before) + " → " +
                        (attribute.after.empty() ? "–" : attribute.after) + "; ";
            }
            out << "<tr><td>" << escape(n.name_before) << " (" << escape(n.op_before) << ")</td><td>" << escape(n.name_after) << " ("
                << escape(n.op_after) << ")</td><td style=\"text-align:left\">" << escape(what) << "</td></tr>";
        }
        out << "</table>";
    }
    list_rows(out, "nodes removed", diff.nodes_removed);
    list_rows(out, "nodes added", diff.nodes_added);
    out << "</div><script>" << kScript << "</script></body></html>\n";
    return out.str();
}

}  // namespace onnx_weightless
