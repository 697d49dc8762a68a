// Figures in the CLI's JSON: a number when no symbol is left in it, else its exact polynomial as
// text (docs/schemas: `$defs/count`).
#pragma once

#include <nlohmann/json.hpp>

#include "onnx_weightless/polynomial.hpp"

namespace onnx_weightless::cli {

inline nlohmann::json figure(const Polynomial& p) {
    if (auto value = p.value()) return *value;
    return p.text();
}

inline nlohmann::json figure(const PolynomialMax& p) {
    if (auto value = p.value()) return *value;
    return p.text();
}

}  // namespace onnx_weightless::cli
