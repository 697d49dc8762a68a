// Human-readable numbers and shapes, for the CLI's tables and the HTML report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx_weightless/polynomial.hpp"

namespace onnx_weightless {

std::string human_bytes(double bytes);   ///< "1.50 GiB"
std::string human_count(double count);   ///< "8.03B"
std::string dims_text(const std::vector<int64_t>& dims);  ///< "[2, 3]"
/// "8.19K·sequence² + 3.41M·sequence": coefficients as human_count, highest degree first.
std::string human_polynomial(const Polynomial& p);
std::string human_polynomial(const PolynomialMax& p);
/// As human_polynomial, coefficients as human_bytes ("16.00 KiB·sequence").
std::string human_polynomial_bytes(const Polynomial& p);
std::string human_polynomial_bytes(const PolynomialMax& p);
std::string dims_text(const std::vector<Polynomial>& dims);  ///< "[batch, 128, 4096]"
/// `text` right-aligned in `width` columns, counting characters rather than UTF-8 bytes ("·", "²").
std::string right(const std::string& text, size_t width);

}  // namespace onnx_weightless
