// Counts in a model's symbols: a cost or a size where some dimensions are symbolic is an exact
// polynomial in them (`8192·sequence² + 3407872·sequence`), with non-negative integer
// coefficients. Coefficients saturate at UINT64_MAX, so a hostile shape cannot wrap a figure
// around into a small one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "onnx_weightless/limits.hpp"

namespace onnx_weightless {

class Polynomial {
public:
    /// Symbols and their powers, sorted by symbol; empty for the constant term.
    using Monomial = std::vector<std::pair<std::string, uint32_t>>;

    Polynomial() = default;  ///< zero
    static Polynomial constant(uint64_t value);
    static Polynomial symbol(const std::string& name);
    /// A dimension written as an expression (`2*sequence + 1`, `batch*seq**2`, `(past + new)*4`):
    /// integers, names, `+`, `*`, `^` or `**` to an integer power, parentheses. `name` gives a
    /// name's polynomial, or nullopt to refuse it. Nullopt for anything else (subtraction,
    /// division, Min(...)), for nesting deeper than kMaxNesting, or for a refused name.
    static std::optional<Polynomial> parse(std::string_view text,
                                           const std::function<std::optional<Polynomial>(const std::string&)>& name);
    static constexpr int kMaxNesting = limits::kMaxExpressionNesting;
    /// More terms than this make a polynomial `too_large()`: no value, as a shape of hostile
    /// symbolic dims would otherwise multiply out into exponentially many terms.
    static constexpr size_t kMaxTerms = limits::kMaxPolynomialTerms;

    Polynomial& operator+=(const Polynomial& other);
    /// Removes `part`, a sum added before (a value freed from the live set); coefficients stop at 0.
    Polynomial& subtract(const Polynomial& part);
    Polynomial operator+(const Polynomial& other) const;
    Polynomial operator*(const Polynomial& other) const;
    bool operator==(const Polynomial& other) const { return too_large_ == other.too_large_ && terms_ == other.terms_; }

    /// The exact quotient by `divisor` (> 0), if every coefficient is a multiple of it.
    std::optional<Polynomial> divided_by(uint64_t divisor) const;

    bool is_zero() const { return terms_.empty() && !too_large_; }
    /// Past kMaxTerms: it has no terms, value or text but "(too many terms)".
    bool too_large() const { return too_large_; }
    /// The value of a polynomial without symbols; nullopt when it has some.
    std::optional<uint64_t> value() const;
    /// The value with `dims` giving each symbol's size; nullopt if a symbol is not given.
    std::optional<uint64_t> evaluate(const std::map<std::string, int64_t>& dims) const;
    /// The value (as a double) with every symbol `dims` does not give set to `otherwise`: what
    /// orders figures that stay symbolic.
    double estimate(const std::map<std::string, int64_t>& dims, double otherwise) const;
    /// Whether this is at least `other` for every size of at least 1 of the symbols: what it has
    /// over `other` at each term covers what it lacks at the terms dividing it (`2*s*t` covers
    /// `s + t`). A sufficient test: false may still be at least `other` everywhere.
    bool dominates(const Polynomial& other) const;

    std::set<std::string> symbols() const;
    const std::map<Monomial, uint64_t>& terms() const { return terms_; }
    /// `8192*sequence^2 + 3407872*sequence + 64`: highest degree first, exact coefficients.
    std::string text() const;

private:
    void check_size();

    std::map<Monomial, uint64_t> terms_;  // no zero coefficients
    bool too_large_ = false;
};

/// The largest of several polynomials, none of which is at least another for every size of at
/// least 1 (a peak that depends on which symbol is larger, or on their sizes). Usually one.
struct PolynomialMax {
    std::vector<Polynomial> candidates;  ///< none: 0
    /// False when candidates were dropped to bound the analysis' work (more than kMaxCandidates
    /// that no other one dominates): the maximum shown is then a lower bound.
    bool exact = true;

    static constexpr size_t kMaxCandidates = limits::kMaxMaximumCandidates;

    PolynomialMax() = default;
    /// One polynomial is its own maximum.
    PolynomialMax(const Polynomial& value) { include(value); }  // NOLINT(google-explicit-constructor)

    /// Keeps `value` unless a candidate dominates it, dropping the candidates it dominates.
    void include(const Polynomial& value);
    /// The maximum of this and `other`.
    void include(const PolynomialMax& other);
    /// Adds `value` to every candidate: max(a, b) + c = max(a + c, b + c).
    PolynomialMax& operator+=(const Polynomial& value);
    /// The maximum of every sum of a candidate of each.
    PolynomialMax& operator+=(const PolynomialMax& other);
    /// Every candidate times `factor` (non-negative, so the order of the candidates holds).
    PolynomialMax operator*(const Polynomial& factor) const;
    /// The same candidates, in any order.
    bool operator==(const PolynomialMax& other) const;

    std::optional<uint64_t> evaluate(const std::map<std::string, int64_t>& dims) const;
    std::optional<uint64_t> value() const;
    double estimate(const std::map<std::string, int64_t>& dims, double otherwise) const;
    bool is_zero() const;
    bool too_large() const;
    std::set<std::string> symbols() const;
    /// `a` for one candidate, `max(a, b)` for several.
    std::string text() const;
};

}  // namespace onnx_weightless
