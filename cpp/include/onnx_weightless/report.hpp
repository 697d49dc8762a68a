// The HTML reports: one self-contained file each, nothing fetched when it is viewed.
//   - A model's (`onnx-weightless inspect --html`, `ModelReport.to_html()`): totals, the model as a
//     collapsible block graph (blocks.hpp: repeated blocks folded with a count), bar charts of
//     weights, MACs and activation memory by block and by op type, the weights by dtype, storage
//     and external file, and the nodes left uncosted with the reason.
//   - A diff's (`onnx-weightless diff --html`, `diff(..., html=)`): the two models side by side,
//     their totals, op counts and MACs by block, and every change diff.hpp reports.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "onnx_weightless/analysis.hpp"
#include "onnx_weightless/diff.hpp"
#include "onnx_weightless/graph.hpp"
#include "onnx_weightless/tensor_index.hpp"

namespace onnx_weightless {

struct ReportInput {
    std::string title;  ///< the model's path or name
    const TensorIndex& index;
    const GraphView& graph;  ///< the graph analysed (shapes inferred)
    const Analysis& analysis;
    std::map<std::string, int64_t> dims;  ///< the sizes the analysis was given
    std::string shapes_from;              ///< "onnx", "declared", "onnx+torch"
};

std::string report_html(const ReportInput& input);

std::string diff_report_html(const ReportInput& before, const ReportInput& after, const StructureDiff& diff);

}  // namespace onnx_weightless
