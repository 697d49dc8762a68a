#include "onnx_weightless/weights.hpp"

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include "bindings.hpp"

namespace nb = nanobind;

namespace onnx_weightless::python {

void init_weights(nb::module_& m) {
    m.def(
        "probe_external",
        [](const std::string& model_dir, const std::string& location) {
            const ExternalFileStatus status = probe_external(model_dir, location);
            const char* state = status.state == ExternalFileState::present   ? "present"
                                : status.state == ExternalFileState::missing ? "missing"
                                                                             : "refused";
            return std::make_tuple(std::string(state), status.size, status.reason);
        },
        nb::arg("model_dir"), nb::arg("location"),
        "(state, size, reason) of an external data file: 'present', 'missing' or 'refused'.");
    m.def(
        "read_external",
        [](const std::string& model_dir, const std::string& location, uint64_t offset,
           std::optional<uint64_t> length) {
            std::string data;
            {
                nb::gil_scoped_release release;
                data = read_external(model_dir, location, offset, length);
            }
            return nb::bytes(data.data(), data.size());
        },
        nb::arg("model_dir"), nb::arg("location"), nb::arg("offset"), nb::arg("length").none(),
        "Bytes [offset, offset+length) of an external data file inside model_dir.");
    m.def(
        "open_external_range",
        [](const std::string& model_dir, const std::string& location, uint64_t offset, uint64_t length) {
            return open_external_range(model_dir, location, offset, length);
        },
        nb::arg("model_dir"), nb::arg("location"), nb::arg("offset"), nb::arg("length"),
        "A read-only descriptor (the caller closes it) of an external data file inside model_dir that "
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
