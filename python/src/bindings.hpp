// One init function per bound core concept, called from module.cpp.
#pragma once

#include <nanobind/nanobind.h>

namespace onnx_weightless::python {

void init_analysis(nanobind::module_& m);
void init_errors(nanobind::module_& m);
void init_scan(nanobind::module_& m);
void init_skeleton(nanobind::module_& m);
void init_weights(nanobind::module_& m);

}  // namespace onnx_weightless::python
