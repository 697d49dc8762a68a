#include "onnx_weightless/diff.hpp"

#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/report.hpp"

namespace nb = nanobind;

namespace onnx_weightless::python {

void init_diff(nb::module_& m) {
    nb::class_<TextChange>(m, "TextChange", "A name on one side or both, as text: `before` empty when added, `after` when removed.")
        .def_ro("name", &TextChange::name)
        .def_ro("before", &TextChange::before)
        .def_ro("after", &TextChange::after)
        .def("__repr__", [](const TextChange& c) { return "TextChange(" + c.name + ": " + c.before + " -> " + c.after + ")"; });
    nb::class_<CountChange>(m, "CountChange", "A count on each side: an op type's nodes, an opset's version (0: not imported).")
        .def_ro("name", &CountChange::name)
        .def_ro("before", &CountChange::before)
        .def_ro("after", &CountChange::after)
        .def("__repr__", [](const CountChange& c) {
            return "CountChange(" + c.name + ": " + std::to_string(c.before) + " -> " + std::to_string(c.after) + ")";
        });
    nb::class_<TensorChange>(m, "TensorChange", "A tensor added, removed, reshaped or retyped (dtypes by name).")
        .def_ro("name", &TensorChange::name)
        .def_prop_ro("change", [](const TensorChange& t) { return tensor_change_name(t.kind); })
        .def_prop_ro("dtype_before", [](const TensorChange& t) { return t.kind == TensorChange::Kind::added ? std::string() : dtype_name(t.dtype_before); })
        .def_prop_ro("dtype_after", [](const TensorChange& t) { return t.kind == TensorChange::Kind::removed ? std::string() : dtype_name(t.dtype_after); })
        .def_ro("dims_before", &TensorChange::dims_before)
        .def_ro("dims_after", &TensorChange::dims_after)
        .def_ro("bytes_before", &TensorChange::bytes_before)
        .def_ro("bytes_after", &TensorChange::bytes_after);
    nb::class_<NodeChange>(m, "NodeChange", "An aligned node whose op type, input count or attributes differ.")
        .def_ro("name_before", &NodeChange::name_before)
        .def_ro("name_after", &NodeChange::name_after)
        .def_ro("op_before", &NodeChange::op_before)
        .def_ro("op_after", &NodeChange::op_after)
        .def_ro("inputs_before", &NodeChange::inputs_before)
        .def_ro("inputs_after", &NodeChange::inputs_after)
        .def_ro("attributes", &NodeChange::attributes);
    nb::class_<StructureDiff>(m, "StructureDiff", "What differs between two models' structures (diff.hpp).")
        .def_prop_ro("identical", &StructureDiff::identical, "No difference of structure (weights unread).")
        .def_ro("ir_before", &StructureDiff::ir_before)
        .def_ro("ir_after", &StructureDiff::ir_after)
        .def_ro("opsets", &StructureDiff::opsets)
        .def_ro("inputs", &StructureDiff::inputs)
        .def_ro("outputs", &StructureDiff::outputs)
        .def_ro("ops", &StructureDiff::ops)
        .def_ro("tensors", &StructureDiff::tensors)
        .def_ro("nodes_before", &StructureDiff::nodes_before)
        .def_ro("nodes_after", &StructureDiff::nodes_after)
        .def_ro("matched_by_name", &StructureDiff::matched_by_name)
        .def_ro("matched_by_scope", &StructureDiff::matched_by_scope)
        .def_ro("matched_by_structure", &StructureDiff::matched_by_structure)
        .def_ro("nodes_added", &StructureDiff::nodes_added)
        .def_ro("nodes_removed", &StructureDiff::nodes_removed)
        .def_ro("nodes_changed", &StructureDiff::nodes_changed)
        .def_ro("weights_before", &StructureDiff::weights_before)
        .def_ro("weights_after", &StructureDiff::weights_after)
        .def_prop_ro("macs_before", [](const StructureDiff& d) { return figure(d.macs_before); })
        .def_prop_ro("macs_after", [](const StructureDiff& d) { return figure(d.macs_after); })
        .def_ro("uncosted_before", &StructureDiff::uncosted_before, "Nodes not costed: the MACs are then a lower bound.")
        .def_ro("uncosted_after", &StructureDiff::uncosted_after);
    m.def(
        "diff",
        [](const TensorIndex& before_index, nb::bytes before_model, const Analysis& before_analysis,
           const TensorIndex& after_index, nb::bytes after_model, const Analysis& after_analysis) {
            const GraphView before_graph = read_graph(std::string_view(before_model.c_str(), before_model.size()));
            const GraphView after_graph = read_graph(std::string_view(after_model.c_str(), after_model.size()));
            return diff({before_index, before_graph, before_analysis}, {after_index, after_graph, after_analysis});
        },
        nb::arg("before_index"), nb::arg("before_model"), nb::arg("before_analysis"), nb::arg("after_index"),
        nb::arg("after_model"), nb::arg("after_analysis"),
        "What differs between two models, each given as its tensor index, serialized skeleton (shapes inferred) and analysis.");
    m.def(
        "diff_report_html",
        [](const std::string& before_title, const TensorIndex& before_index, nb::bytes before_model, const Analysis& before_analysis,
           const std::string& after_title, const TensorIndex& after_index, nb::bytes after_model, const Analysis& after_analysis,
           const std::map<std::string, int64_t>& dims, const std::string& before_shapes, const std::string& after_shapes,
           const StructureDiff& d) {
            const GraphView before_graph = read_graph(std::string_view(before_model.c_str(), before_model.size()));
            const GraphView after_graph = read_graph(std::string_view(after_model.c_str(), after_model.size()));
            return diff_report_html({before_title, before_index, before_graph, before_analysis, dims, before_shapes},
                                    {after_title, after_index, after_graph, after_analysis, dims, after_shapes}, d);
        },
        nb::arg("before_title"), nb::arg("before_index"), nb::arg("before_model"), nb::arg("before_analysis"),
        nb::arg("after_title"), nb::arg("after_index"), nb::arg("after_model"), nb::arg("after_analysis"), nb::arg("dims"),
        nb::arg("before_shapes_from"), nb::arg("after_shapes_from"), nb::arg("diff"),
        "The side-by-side HTML report (report.hpp) of two models and what differs between them.");
}

}  // namespace onnx_weightless::python
