#include "onnx_weightless/errors.hpp"

#include "onnx_weightless/strip.hpp"

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
    // Python's own FileExistsError: an output strip() was not asked to replace.
    nb::register_exception_translator([](const std::exception_ptr& p, void*) {
        try {
            std::rethrow_exception(p);
        } catch (const OutputExistsError& e) {
            PyErr_SetString(PyExc_FileExistsError, e.what());
        }
    });
}

}  // namespace onnx_weightless::python
