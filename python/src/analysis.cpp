#include "onnx_weightless/analysis.hpp"

#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"

namespace nb = nanobind;

namespace onnx_weightless::python {

void init_analysis(nb::module_& m) {
    nb::class_<NodeCost>(m, "NodeCost", "Cost of one node (0 and known=False when a shape it needs is unknown).")
        .def_ro("name", &NodeCost::name)
        .def_ro("op_type", &NodeCost::op_type)
        .def_ro("domain", &NodeCost::domain)
        .def_ro("macs", &NodeCost::macs)
        .def_ro("flops", &NodeCost::flops)
        .def_ro("known", &NodeCost::known);
    nb::class_<OpCost>(m, "OpCost", "Nodes and cost of one operator type.")
        .def_ro("nodes", &OpCost::nodes)
        .def_ro("macs", &OpCost::macs)
        .def_ro("flops", &OpCost::flops)
        .def_ro("unknown", &OpCost::unknown);
    nb::class_<SizedValue>(m, "SizedValue", "A value with a known shape: name, elem_type, dims, bytes.")
        .def_ro("name", &SizedValue::name)
        .def_ro("elem_type", &SizedValue::elem_type)
        .def_ro("dims", &SizedValue::dims)
        .def_ro("bytes", &SizedValue::bytes);
    nb::class_<Analysis>(m, "Analysis", "MACs, FLOPs and activation memory of a graph (analysis.hpp).")
        .def_ro("nodes", &Analysis::nodes)
        .def_ro("by_op", &Analysis::by_op)
        .def_ro("macs", &Analysis::macs)
        .def_ro("flops", &Analysis::flops)
        .def_ro("unknown_nodes", &Analysis::unknown_nodes)
        .def_ro("activations_known", &Analysis::activations_known)
        .def_ro("activations_unknown", &Analysis::activations_unknown)
        .def_ro("weight_derived", &Analysis::weight_derived)
        .def_ro("weight_derived_bytes", &Analysis::weight_derived_bytes)
        .def_ro("activation_bytes", &Analysis::activation_bytes)
        .def_ro("peak_activation_bytes", &Analysis::peak_activation_bytes)
        .def_ro("largest_activations", &Analysis::largest_activations);
    m.def(
        "analyze",
        [](nb::bytes model, const std::map<std::string, int64_t>& dims, size_t largest) {
            AnalysisOptions options;
            options.dims = dims;
            options.largest = largest;
            std::string_view bytes(model.c_str(), model.size());
            nb::gil_scoped_release release;
            return analyze(read_graph(bytes), options);
        },
        nb::arg("model"), nb::arg("dims"), nb::arg("largest") = 10,
        "Analysis of the main graph of a serialized ModelProto, symbolic dims sized by `dims`.");
}

}  // namespace onnx_weightless::python
