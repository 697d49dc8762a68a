#include "bindings.hpp"

NB_MODULE(_core, m) {
    m.doc() = "onnx-weightless C++ core: scan, skeleton writer, external data, graph analysis";
    onnx_weightless::python::init_analysis(m);
    onnx_weightless::python::init_diff(m);
    onnx_weightless::python::init_errors(m);
    onnx_weightless::python::init_scan(m);
    onnx_weightless::python::init_skeleton(m);
    onnx_weightless::python::init_weights(m);
}
