#include "onnx_weightless/errors.hpp"

#include <cstring>

#include "onnx_weightless/strip.hpp"

#include "bindings.hpp"

namespace nb = nanobind;

namespace onnx_weightless::python {
namespace {

/// The Python classes of the core's errors, set once when the module loads.
struct ErrorTypes {
    PyObject* base = nullptr;
    PyObject* format = nullptr;
    PyObject* limit = nullptr;
    PyObject* io = nullptr;
    PyObject* external_data = nullptr;
};
ErrorTypes error_types;

/// Raises `type` with `what` as its message. A message quotes the file's own bytes (a name, an
/// offset string) which need not be UTF-8: those are escaped (\xb1), never a UnicodeDecodeError.
void raise(PyObject* type, const char* what) {
    PyObject* message = PyUnicode_DecodeUTF8(what, static_cast<Py_ssize_t>(std::strlen(what)), "backslashreplace");
    if (message == nullptr) {
        PyErr_Clear();
        message = PyUnicode_FromString("(the message could not be decoded)");
    }
    PyErr_SetObject(type, message);
    Py_XDECREF(message);
}

}  // namespace

void init_errors(nb::module_& m) {
    auto base = nb::exception<Error>(m, "WeightlessError", PyExc_Exception);
    auto format = nb::exception<FormatError>(m, "FormatError", base);
    auto limit = nb::exception<LimitError>(m, "LimitError", format);
    auto io = nb::exception<IoError>(m, "ModelReadError", base);
    auto external_data = nb::exception<ExternalDataError>(m, "ExternalDataError", base);
    error_types = {base.ptr(), format.ptr(), limit.ptr(), io.ptr(), external_data.ptr()};
    // Translators run most recently registered first: this one, before nanobind's own for each class.
    nb::register_exception_translator([](const std::exception_ptr& p, void*) {
        try {
            std::rethrow_exception(p);
        } catch (const OutputExistsError& e) {  // Python's own FileExistsError: an output strip() was not asked to replace
            raise(PyExc_FileExistsError, e.what());
        } catch (const LimitError& e) {
            raise(error_types.limit, e.what());
        } catch (const FormatError& e) {
            raise(error_types.format, e.what());
        } catch (const IoError& e) {
            raise(error_types.io, e.what());
        } catch (const ExternalDataError& e) {
            raise(error_types.external_data, e.what());
        } catch (const Error& e) {
            raise(error_types.base, e.what());
        }
    });
}

}  // namespace onnx_weightless::python
