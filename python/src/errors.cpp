#include "onnx_weightless/errors.hpp"

#include "bindings.hpp"

namespace nb = nanobind;

namespace onnx_weightless::python {

void init_errors(nb::module_& m) {
    // Translators run most recently registered first, so the base class is registered first.
    auto base = nb::exception<Error>(m, "WeightlessError", PyExc_Exception);
    auto format = nb::exception<FormatError>(m, "FormatError", base);
    nb::exception<LimitError>(m, "LimitError", format);
    nb::exception<IoError>(m, "ModelReadError", base);
    nb::exception<ExternalDataError>(m, "ExternalDataError", base);
}

}  // namespace onnx_weightless::python
