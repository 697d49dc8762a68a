#include "onnx_weightless/weights.hpp"

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include "bindings.hpp"

namespace nb = nanobind;

namespace onnx_weightless::python {

void init_weights(nb::module_& m) {
    nb::class_<DataFolder>(m, "DataFolder",
                           "The folders a model's external data may come from (data_folder.hpp's rules).")
        .def(nb::init<const std::string&>(), nb::arg("dir"), "A folder named directly: data must lie beneath it.")
        .def_static("of_model", &DataFolder::of_model, nb::arg("model_path"),
                    "The model file's folder, and the real folder of the file it resolves to if it is a symlink.")
        .def_prop_ro("dir", &DataFolder::dir)
        .def_prop_ro("model_real_dir", &DataFolder::model_real_dir)
        .def("__repr__", [](const DataFolder& f) {
            return "DataFolder('" + f.dir() + "'" + (f.model_real_dir().empty() ? "" : ", model_real_dir='" + f.model_real_dir() + "'") + ")";
        });
    nb::implicitly_convertible<std::string, DataFolder>();
    m.def(
        "probe_external",
        [](const DataFolder& folder, const std::string& location) {
            const ExternalFileStatus status = probe_external(folder, location);
            const char* state = status.state == ExternalFileState::present   ? "present"
                                : status.state == ExternalFileState::missing ? "missing"
                                                                             : "refused";
            return std::make_tuple(std::string(state), status.size, status.reason);
        },
        nb::arg("folder"), nb::arg("location"),
        "(state, size, reason) of an external data file: 'present', 'missing' or 'refused'.");
    m.def(
        "read_external",
        [](const DataFolder& folder, const std::string& location, uint64_t offset,
           std::optional<uint64_t> length) {
            std::string data;
            {
                nb::gil_scoped_release release;
                data = read_external(folder, location, offset, length);
            }
            return nb::bytes(data.data(), data.size());
        },
        nb::arg("folder"), nb::arg("location"), nb::arg("offset"), nb::arg("length").none(),
        "Bytes [offset, offset+length) of an external data file inside folder.");
    m.def(
        "open_external_range",
        [](const DataFolder& folder, const std::string& location, uint64_t offset, uint64_t length) {
            return open_external_range(folder, location, offset, length);
        },
        nb::arg("folder"), nb::arg("location"), nb::arg("offset"), nb::arg("length"),
        "A read-only descriptor (the caller closes it) of an external data file inside folder that "
        "holds [offset, offset+length).");
    m.def(
        "payload_to_raw",
        [](const std::string& field, int32_t data_type, nb::bytes data, bool packed, uint64_t elements) {
            const auto parsed = payload_field_from_name(field);
            if (!parsed) throw nb::value_error(("unknown payload field '" + field + "'").c_str());
            const std::string raw =
                payload_to_raw(*parsed, data_type, std::string(data.c_str(), data.size()), packed, elements);
            return nb::bytes(raw.data(), raw.size());
        },
        nb::arg("field"), nb::arg("data_type"), nb::arg("data"), nb::arg("packed"), nb::arg("elements"),
        "Converts an inline payload field's bytes into raw little-endian form.");
}

}  // namespace onnx_weightless::python
