// One init function per bound core concept, called from module.cpp.
#pragma once

#include <nanobind/nanobind.h>

namespace onnx_weightless {
class Polynomial;
struct PolynomialMax;
}  // namespace onnx_weightless

namespace onnx_weightless::python {

/// A figure as Python sees it: an int when no symbol is left in it, else the Polynomial (a
/// maximum of several: the PolynomialMax).
nanobind::object figure(const Polynomial& p);
nanobind::object figure(const PolynomialMax& p);

void init_analysis(nanobind::module_& m);
void init_diff(nanobind::module_& m);
void init_errors(nanobind::module_& m);
void init_scan(nanobind::module_& m);
void init_skeleton(nanobind::module_& m);
void init_weights(nanobind::module_& m);

}  // namespace onnx_weightless::python
