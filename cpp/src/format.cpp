#include "onnx_weightless/format.hpp"

#include <algorithm>
#include <cstdio>

namespace onnx_weightless {

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (bytes >= 1024 && unit < 4) {
        bytes /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.2f %s", bytes, units[unit]);
    return text;
}

std::string human_count(double count) {
    const char* units[] = {"", "K", "M", "B", "T"};
    int unit = 0;
    while (count >= 1000 && unit < 4) {
        count /= 1000;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f%s" : "%.2f%s", count, units[unit]);
    return text;
}


std::string dims_text(const std::vector<int64_t>& dims) {
    std::string text = "[";
    for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
    return text + "]";
}


namespace {

std::string superscript(uint32_t power) {
    static const char* digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
    std::string text;
    for (char c : std::to_string(power)) text += digits[c - '0'];
    return text;
}

template <typename Coefficient>
std::string human_terms(const Polynomial& p, Coefficient coefficient_text) {
    if (p.is_zero()) return coefficient_text(0);
    std::vector<std::pair<uint32_t, std::string>> terms;  // (degree, text)
    for (const auto& [monomial, coefficient] : p.terms()) {
        std::string factors;
        uint32_t degree = 0;
        for (const auto& [symbol, power] : monomial) {
            factors += "·" + symbol + (power > 1 ? superscript(power) : "");
            degree += power;
        }
        terms.emplace_back(degree, (coefficient == 1 && !factors.empty() ? factors.substr(2) : coefficient_text(coefficient) + factors));
    }
    std::stable_sort(terms.begin(), terms.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string text;
    for (const auto& [degree, term] : terms) text += (text.empty() ? "" : " + ") + term;
    return text;
}

}  // namespace

std::string human_polynomial(const Polynomial& p) {
    return human_terms(p, [](uint64_t c) { return human_count(static_cast<double>(c)); });
}

std::string human_polynomial_bytes(const Polynomial& p) {
    return human_terms(p, [](uint64_t c) { return human_bytes(static_cast<double>(c)); });
}

namespace {

std::string human_maximum(const PolynomialMax& p, std::string (*one)(const Polynomial&)) {
    if (p.candidates.size() <= 1) return one(p.candidates.empty() ? Polynomial() : p.candidates[0]);
    std::string text = "max(";
    for (size_t i = 0; i < p.candidates.size(); ++i) text += (i ? ", " : "") + one(p.candidates[i]);
    return text + ")";
}

}  // namespace

std::string human_polynomial(const PolynomialMax& p) { return human_maximum(p, human_polynomial); }

std::string human_polynomial_bytes(const PolynomialMax& p) { return human_maximum(p, human_polynomial_bytes); }

std::string right(const std::string& text, size_t width) {
    size_t columns = 0;
    for (unsigned char c : text) columns += (c & 0xC0) != 0x80;  // continuation bytes take no column
    return columns >= width ? text : std::string(width - columns, ' ') + text;
}

std::string dims_text(const std::vector<Polynomial>& dims) {
    std::string text = "[";
    for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + dims[i].text();
    return text + "]";
}

}  // namespace onnx_weightless
