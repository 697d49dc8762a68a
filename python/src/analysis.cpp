#include "onnx_weightless/analysis.hpp"

#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/set.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "onnx_weightless/report.hpp"
#include "onnx_weightless/validate.hpp"
#include "onnx_weightless/value_types.hpp"

namespace nb = nanobind;

namespace onnx_weightless::python {

namespace {

/// Python's comparison of a figure with a number: equal only when it has no symbol left.
bool equals_number(const Polynomial& p, nb::handle other) {
    if (!nb::isinstance<nb::int_>(other)) return false;
    auto value = p.value();
    return value && nb::cast<long long>(other) >= 0 && *value == static_cast<uint64_t>(nb::cast<long long>(other));
}

template <typename Figure>
uint64_t as_int(const Figure& p) {
    auto value = p.value();
    if (!value) throw nb::value_error(("the figure is symbolic: " + p.text() + "; evaluate(dims) sizes its symbols").c_str());
    return *value;
}

template <typename Owner, typename Figure>
auto figure_of(Figure Owner::*member) {
    return [member](const Owner& owner) { return figure(owner.*member); };
}

}  // namespace

/// A figure as Python sees it: an int when no symbol is left in it, else the Polynomial.
nb::object figure(const Polynomial& p) {
    if (auto value = p.value()) return nb::int_(*value);
    return nb::cast(p);
}

/// A maximum: an int, the Polynomial when it has one candidate, else the PolynomialMax.
nb::object figure(const PolynomialMax& p) {
    if (auto value = p.value()) return nb::int_(*value);
    if (p.candidates.size() == 1 && p.exact) return nb::cast(p.candidates[0]);
    return nb::cast(p);
}

void init_analysis(nb::module_& m) {
    nb::class_<Polynomial>(m, "Polynomial",
                           "An exact count in the model's symbols (non-negative integer coefficients): a cost or a "
                           "size where some dimension is symbolic. Equal to an int when no symbol is left in it.")
        .def_prop_ro("symbols", &Polynomial::symbols, "The symbols it is a polynomial in.")
        .def_prop_ro("is_constant", [](const Polynomial& p) { return p.value().has_value(); })
        .def_prop_ro("terms",
                     [](const Polynomial& p) {
                         std::vector<std::pair<uint64_t, std::map<std::string, uint32_t>>> terms;
                         for (const auto& [monomial, coefficient] : p.terms()) {
                             terms.emplace_back(coefficient, std::map<std::string, uint32_t>(monomial.begin(), monomial.end()));
                         }
                         return terms;
                     },
                     "(coefficient, {symbol: power}) per term.")
        .def("evaluate", &Polynomial::evaluate, nb::arg("dims"),
             "Its value with every symbol sized by `dims`; None if one is not.")
        .def("__int__", &as_int<Polynomial>)
        .def("__index__", &as_int<Polynomial>)
        .def("__float__", [](const Polynomial& p) { return static_cast<double>(as_int(p)); })
        .def("__bool__", [](const Polynomial& p) { return !p.is_zero(); })
        .def("__eq__", [](const Polynomial& p, const Polynomial& q) { return p == q; })
        .def("__eq__", &equals_number)
        .def("__hash__", [](const Polynomial& p) { return nb::hash(nb::str(p.text().c_str())); })
        .def("__str__", &Polynomial::text)
        .def("__repr__", [](const Polynomial& p) { return "Polynomial(" + p.text() + ")"; });
    nb::class_<PolynomialMax>(m, "PolynomialMax",
                              "The largest of polynomials none of which is at least another for every size: a peak, "
                              "or the cost of an If's branches, that depends on which symbol is larger.")
        .def_ro("candidates", &PolynomialMax::candidates)
        .def_ro("exact", &PolynomialMax::exact, "False when candidates were dropped: the maximum is then a lower bound.")
        .def_prop_ro("symbols", &PolynomialMax::symbols, "The symbols its candidates are polynomials in.")
        .def_prop_ro("is_constant", [](const PolynomialMax& p) { return p.value().has_value(); })
        .def("evaluate", &PolynomialMax::evaluate, nb::arg("dims"),
             "Its value with every symbol sized by `dims`; None if one is not.")
        .def("__bool__", [](const PolynomialMax& p) { return !p.is_zero(); })
        .def("__float__", [](const PolynomialMax& p) { return static_cast<double>(as_int(p)); })
        .def("__int__", &as_int<PolynomialMax>)
        .def("__index__", &as_int<PolynomialMax>)
        .def("__eq__", [](const PolynomialMax& p, nb::handle other) {
            auto value = p.value();
            return nb::isinstance<nb::int_>(other) && value && nb::cast<long long>(other) >= 0 &&
                   *value == static_cast<uint64_t>(nb::cast<long long>(other));
        })
        .def("__str__", &PolynomialMax::text)
        .def("__repr__", [](const PolynomialMax& p) { return "PolynomialMax(" + p.text() + ")"; });
    nb::class_<SubgraphCost>(m, "SubgraphCost",
                             "Cost of one subgraph of a node (an If's branch, a Loop's or Scan's body), per run of the node.")
        .def_ro("attribute", &SubgraphCost::attribute)
        .def_prop_ro("macs", figure_of(&SubgraphCost::macs))
        .def_prop_ro("flops", figure_of(&SubgraphCost::flops))
        .def_prop_ro("iterations", figure_of(&SubgraphCost::iterations),
                     "A body's trip count (an int, a size, or the symbol trips(NODE)); 1 for a branch.")
        .def_ro("nodes", &SubgraphCost::nodes)
        .def_ro("unknown", &SubgraphCost::unknown);
    nb::class_<NodeCost>(m, "NodeCost",
                         "Cost of one node (known=False, with the reason, when a shape it needs is unknown: 0 for a "
                         "node without subgraphs, what its subgraphs could be costed of for one with).")
        .def_ro("name", &NodeCost::name)
        .def_ro("op_type", &NodeCost::op_type)
        .def_ro("domain", &NodeCost::domain)
        .def_prop_ro("macs", figure_of(&NodeCost::macs))
        .def_prop_ro("flops", figure_of(&NodeCost::flops))
        .def_ro("known", &NodeCost::known)
        .def_ro("reason", &NodeCost::reason)
        .def_ro("subgraphs", &NodeCost::subgraphs, "An If's branches, a Loop's or Scan's body, each with its cost.");
    nb::class_<OpCost>(m, "OpCost",
                       "Nodes and cost of one operator type over every graph (a body's nodes times its trip count; "
                       "for an If, the branch where the op type costs most).")
        .def_ro("nodes", &OpCost::nodes)
        .def_prop_ro("macs", figure_of(&OpCost::macs))
        .def_prop_ro("flops", figure_of(&OpCost::flops))
        .def_ro("unknown", &OpCost::unknown);
    nb::class_<SizedValue>(m, "SizedValue", "A value with a known shape: name, elem_type, dims and bytes (ints, or Polynomials in symbols left unsized).")
        .def_ro("name", &SizedValue::name)
        .def_ro("elem_type", &SizedValue::elem_type)
        .def_prop_ro("dims", [](const SizedValue& v) {
            nb::list dims;
            for (const auto& d : v.dims) dims.append(figure(d));
            return dims;
        })
        .def_prop_ro("bytes", figure_of(&SizedValue::bytes));
    nb::class_<Analysis>(m, "Analysis",
                         "MACs, FLOPs and activation memory of a graph (analysis.hpp): ints, or Polynomials in the "
                         "symbols `dims` did not size.")
        .def_ro("nodes", &Analysis::nodes)
        .def_ro("by_op", &Analysis::by_op)
        .def_prop_ro("macs", figure_of(&Analysis::macs))
        .def_prop_ro("flops", figure_of(&Analysis::flops))
        .def_ro("unknown_nodes", &Analysis::unknown_nodes)
        .def_prop_ro("complete", &Analysis::complete, "Every node costed and every activation sized (see `uncosted` and `unsized_activations`).")
        .def_prop_ro("uncosted", [](const Analysis& a) {
            std::vector<NodeCost> left;
            for (const auto& c : a.nodes) if (!c.known) left.push_back(c);
            return left;
        }, "The nodes not costed (their `reason` says which shape is missing).")
        .def_ro("symbols", &Analysis::symbols)
        .def_ro("activations_known", &Analysis::activations_known)
        .def_ro("activations_unknown", &Analysis::activations_unknown)
        .def_ro("unsized_activations", &Analysis::unsized_activations,
                "The node outputs whose size is unknown, in graph order.")
        .def_ro("weight_derived", &Analysis::weight_derived)
        .def_prop_ro("weight_derived_bytes", figure_of(&Analysis::weight_derived_bytes))
        .def_prop_ro("activation_bytes", figure_of(&Analysis::activation_bytes))
        .def_prop_ro("peak_activation_bytes", [](const Analysis& a) { return figure(a.peak_activation_bytes); })
        .def_ro("largest_activations", &Analysis::largest_activations);
    m.def(
        "report_html",
        [](const std::string& title, const TensorIndex& index, nb::bytes model, const Analysis& analysis,
           const std::map<std::string, int64_t>& dims, const std::string& shapes_from) {
            const GraphView graph = read_graph(std::string_view(model.c_str(), model.size()));
            return report_html({title, index, graph, analysis, dims, shapes_from});
        },
        nb::arg("title"), nb::arg("index"), nb::arg("model"), nb::arg("analysis"), nb::arg("dims"), nb::arg("shapes_from"),
        "The HTML report (report.hpp) of the model whose serialized skeleton `model` the analysis read.");
    m.def(
        "validate_graph",
        [](nb::bytes model) {
            std::string_view bytes(model.c_str(), model.size());
            nb::gil_scoped_release release;
            validate_graph(read_graph(bytes));
        },
        nb::arg("model"),
        "Raises FormatError at the first structural fault of a serialized ModelProto's graph (validate.hpp).");
    m.def(
        "declare_untyped_values",
        [](nb::bytes model) {
            std::string_view bytes(model.c_str(), model.size());
            std::string declared;
            {
                nb::gil_scoped_release release;
                declared = declare_untyped_values(bytes);
            }
            return nb::bytes(declared.data(), declared.size());
        },
        nb::arg("model"),
        "The serialized ModelProto with each value its graphs compute or read untyped declared with an empty type "
        "(value_types.hpp).");
    m.def(
        "remove_empty_types",
        [](nb::bytes model) -> std::optional<nb::bytes> {
            std::string_view bytes(model.c_str(), model.size());
            std::optional<std::string> cleaned;
            {
                nb::gil_scoped_release release;
                cleaned = remove_empty_types(bytes);
            }
            if (!cleaned) return std::nullopt;
            return nb::bytes(cleaned->data(), cleaned->size());
        },
        nb::arg("model"),
        "The serialized ModelProto without the empty type declarations inference left; None when it has none "
        "(value_types.hpp).");
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
        "Analysis of a serialized ModelProto (its subgraphs included), symbolic dims sized by `dims` (the others stay symbols).");
}

}  // namespace onnx_weightless::python
