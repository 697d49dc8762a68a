#include "onnx_weightless/scan.hpp"

#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/summary.hpp"

namespace nb = nanobind;

namespace onnx_weightless::python {

void init_scan(nb::module_& m) {
    nb::class_<TensorInfo>(m, "TensorInfo", "One tensor of the model and where its bytes are.")
        .def_ro("name", &TensorInfo::name)
        .def_ro("data_type", &TensorInfo::data_type, "ONNX TensorProto.DataType value")
        .def_prop_ro("dtype_name", [](const TensorInfo& t) { return dtype_name(t.data_type); })
        .def_ro("dims", &TensorInfo::dims)
        .def_ro("element_count", &TensorInfo::element_count)
        .def_ro("byte_size", &TensorInfo::byte_size, "dims x dtype in raw form; None for STRING")
        .def_prop_ro("storage", [](const TensorInfo& t) { return storage_name(t.storage); },
                     "'inline', 'external' or 'none'")
        .def_prop_ro("payload_field", [](const TensorInfo& t) { return payload_field_name(t.payload_field); })
        .def_prop_ro("payload_offset", [](const TensorInfo& t) { return t.payload.begin; })
        .def_prop_ro("payload_length", [](const TensorInfo& t) { return t.payload.size(); })
        .def_ro("packed", &TensorInfo::packed)
        .def_ro("external_data", &TensorInfo::external_data)
        .def_prop_ro("role", [](const TensorInfo& t) { return tensor_role_name(t.role); })
        .def_ro("graph_name", &TensorInfo::graph_name)
        .def_ro("function_name", &TensorInfo::function_name)
        .def_ro("node_name", &TensorInfo::node_name)
        .def_ro("op_type", &TensorInfo::op_type)
        .def_ro("attribute_name", &TensorInfo::attribute_name)
        .def_ro("depth", &TensorInfo::depth)
        .def_ro("sparse_indices", &TensorInfo::sparse_indices)
        .def("__repr__", [](const TensorInfo& t) {
            std::string dims;
            for (const int64_t d : t.dims) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
            return "TensorInfo(name='" + t.name + "', " + dtype_name(t.data_type) + "[" + dims + "], " +
                   storage_name(t.storage) + ", " + tensor_role_name(t.role) + ")";
        });

    nb::class_<OpsetImport>(m, "OpsetImport")
        .def_ro("domain", &OpsetImport::domain)
        .def_ro("version", &OpsetImport::version);

    nb::class_<ModelSummary>(m, "ModelSummary")
        .def_ro("ir_version", &ModelSummary::ir_version)
        .def_ro("producer_name", &ModelSummary::producer_name)
        .def_ro("producer_version", &ModelSummary::producer_version)
        .def_ro("opsets", &ModelSummary::opsets)
        .def_ro("graph_count", &ModelSummary::graph_count)
        .def_ro("function_count", &ModelSummary::function_count)
        .def_ro("node_count", &ModelSummary::node_count)
        .def_ro("max_depth", &ModelSummary::max_depth)
        .def_ro("op_histogram", &ModelSummary::op_histogram);

    nb::class_<Totals>(m, "Totals")
        .def_ro("tensors", &Totals::tensors)
        .def_ro("elements", &Totals::elements)
        .def_ro("bytes", &Totals::bytes);

    nb::class_<IndexTotals>(m, "IndexTotals")
        .def_ro("all", &IndexTotals::all)
        .def_ro("by_dtype", &IndexTotals::by_dtype)
        .def_ro("by_storage", &IndexTotals::by_storage)
        .def_ro("by_external_file", &IndexTotals::by_external_file);

    nb::class_<TensorIndex>(m, "TensorIndex", "Every tensor of a model, with the model's structural summary.")
        .def_ro("model_path", &TensorIndex::model_path)
        .def_ro("file_size", &TensorIndex::file_size)
        .def_ro("summary", &TensorIndex::summary)
        .def_ro("tensors", &TensorIndex::tensors)
        .def_prop_ro("totals", [](const TensorIndex& index) { return totals(index); });

    m.def(
        "scan_file",
        [](const std::string& path) {
            nb::gil_scoped_release release;
            return scan_file(path);
        },
        nb::arg("path"), "Scans the model at `path` without reading payload bytes.");
    m.def(
        "scan_bytes",
        [](nb::bytes data) {
            MemorySource source(std::string_view(data.c_str(), data.size()));
            return scan(source);
        },
        nb::arg("data"), "Scans a serialized ModelProto.");
}

}  // namespace onnx_weightless::python
