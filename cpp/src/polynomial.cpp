#include "onnx_weightless/polynomial.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace onnx_weightless {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

uint64_t saturating_add(uint64_t a, uint64_t b) { return a > kMax - b ? kMax : a + b; }

uint64_t saturating_mul(uint64_t a, uint64_t b) {
    if (a != 0 && b > kMax / a) return kMax;
    return a * b;
}

/// base^power by squaring: a hostile power of 2^32 costs 32 steps, not 2^32.
uint64_t saturating_power(uint64_t base, uint32_t power) {
    uint64_t result = 1;
    while (power) {
        if (power & 1) result = saturating_mul(result, base);
        power >>= 1;
        if (power) base = saturating_mul(base, base);
    }
    return result;
}

uint32_t saturating_add(uint32_t a, uint32_t b) {
    return a > std::numeric_limits<uint32_t>::max() - b ? std::numeric_limits<uint32_t>::max() : a + b;
}

Polynomial::Monomial times(const Polynomial::Monomial& a, const Polynomial::Monomial& b) {
    Polynomial::Monomial product;
    product.reserve(a.size() + b.size());
    auto x = a.begin(), y = b.begin();
    while (x != a.end() || y != b.end()) {
        if (y == b.end() || (x != a.end() && x->first < y->first)) {
            product.push_back(*x++);
        } else if (x == a.end() || y->first < x->first) {
            product.push_back(*y++);
        } else {
            product.emplace_back(x->first, saturating_add(x->second, y->second));
            ++x, ++y;
        }
    }
    return product;
}

uint32_t degree(const Polynomial::Monomial& monomial) {
    uint32_t total = 0;
    for (const auto& [symbol, power] : monomial) total = saturating_add(total, power);
    return total;
}

/// Recursive descent over a dimension expression; any failure leaves `ok` false.
class ExpressionParser {
public:
    ExpressionParser(std::string_view text, const std::function<std::optional<Polynomial>(const std::string&)>& name)
        : text_(text), name_(name) {}

    std::optional<Polynomial> parse() {
        Polynomial value = sum(0);
        skip_spaces();
        if (!ok_ || at_ != text_.size() || value.too_large()) return std::nullopt;
        return value;
    }

private:
    void skip_spaces() {
        while (at_ < text_.size() && text_[at_] == ' ') ++at_;
    }
    bool take(std::string_view token) {
        skip_spaces();
        if (text_.substr(at_, token.size()) != token) return false;
        at_ += token.size();
        return true;
    }
    std::optional<uint64_t> integer() {
        skip_spaces();
        uint64_t value = 0;
        const size_t start = at_;
        while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
            const uint64_t digit = static_cast<uint64_t>(text_[at_++] - '0');
            value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
        }
        if (at_ == start) return std::nullopt;
        return value;
    }
    Polynomial sum(int depth) {
        Polynomial value = product(depth);
        while (ok_ && take("+")) value += product(depth);
        return value;
    }
    Polynomial product(int depth) {
        Polynomial value = power(depth);
        while (ok_) {
            const size_t before = at_;
            if (take("**")) {  // a power, not a product: back off and let power() read it
                at_ = before;
                break;
            }
            if (!take("*")) break;
            value = value * power(depth);
        }
        return value;
    }
    Polynomial power(int depth) {
        Polynomial base = atom(depth);
        if (ok_ && (take("**") || take("^"))) {
            auto exponent = integer();
            if (!exponent || *exponent > limits::kMaxExpressionExponent) return fail();
            Polynomial result = constant(1);
            for (uint64_t i = 0; i < *exponent; ++i) result = result * base;
            return result;
        }
        return base;
    }
    Polynomial atom(int depth) {
        skip_spaces();
        if (at_ >= text_.size()) return fail();
        if (take("(")) {
            if (depth >= Polynomial::kMaxNesting) return fail();
            Polynomial inner = sum(depth + 1);
            if (!take(")")) return fail();
            return inner;
        }
        if (auto value = integer()) return constant(*value);
        const size_t start = at_;
        while (at_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[at_])) || text_[at_] == '_' || text_[at_] == '.')) ++at_;
        if (at_ == start) return fail();
        auto found = name_(std::string(text_.substr(start, at_ - start)));
        if (!found) return fail();
        return *found;
    }
    Polynomial fail() {
        ok_ = false;
        return {};
    }
    static Polynomial constant(uint64_t value) { return Polynomial::constant(value); }

    std::string_view text_;
    const std::function<std::optional<Polynomial>(const std::string&)>& name_;
    size_t at_ = 0;
    bool ok_ = true;
};

/// Whether `m` divides `multiple`: each of its symbols there with at least its power.
bool divides(const Polynomial::Monomial& m, const Polynomial::Monomial& multiple) {
    auto it = multiple.begin();
    for (const auto& [symbol, power] : m) {
        while (it != multiple.end() && it->first < symbol) ++it;
        if (it == multiple.end() || it->first != symbol || it->second < power) return false;
    }
    return true;
}

}  // namespace

std::optional<Polynomial> Polynomial::parse(std::string_view text,
                                            const std::function<std::optional<Polynomial>(const std::string&)>& name) {
    return ExpressionParser(text, name).parse();
}

Polynomial Polynomial::constant(uint64_t value) {
    Polynomial p;
    if (value) p.terms_[{}] = value;
    return p;
}

Polynomial Polynomial::symbol(const std::string& name) {
    Polynomial p;
    p.terms_[{{name, 1}}] = 1;
    return p;
}

void Polynomial::check_size() {
    if (terms_.size() > kMaxTerms) {
        terms_.clear();
        too_large_ = true;
    }
}

Polynomial& Polynomial::operator+=(const Polynomial& other) {
    if (too_large_ || other.too_large_) {
        terms_.clear();
        too_large_ = true;
        return *this;
    }
    for (const auto& [monomial, coefficient] : other.terms_) {
        uint64_t& mine = terms_[monomial];
        mine = saturating_add(mine, coefficient);
    }
    check_size();
    return *this;
}

Polynomial& Polynomial::subtract(const Polynomial& part) {
    if (too_large_ || part.too_large_) return *this;  // stays as large as it was
    for (const auto& [monomial, coefficient] : part.terms_) {
        auto it = terms_.find(monomial);
        if (it == terms_.end()) continue;
        if (it->second <= coefficient) {
            terms_.erase(it);
        } else {
            it->second -= coefficient;
        }
    }
    return *this;
}

Polynomial Polynomial::operator+(const Polynomial& other) const {
    Polynomial sum = *this;
    sum += other;
    return sum;
}

Polynomial Polynomial::operator*(const Polynomial& other) const {
    Polynomial product;
    if (too_large_ || other.too_large_ || terms_.size() * other.terms_.size() > kMaxTerms * 16) {
        product.too_large_ = !is_zero() && !other.is_zero();
        return product;
    }
    for (const auto& [a, x] : terms_) {
        for (const auto& [b, y] : other.terms_) {
            uint64_t& coefficient = product.terms_[times(a, b)];
            coefficient = saturating_add(coefficient, saturating_mul(x, y));
        }
    }
    product.check_size();
    return product;
}

std::optional<Polynomial> Polynomial::divided_by(uint64_t divisor) const {
    if (divisor == 0 || too_large_) return std::nullopt;
    Polynomial quotient;
    for (const auto& [monomial, coefficient] : terms_) {
        if (coefficient % divisor) return std::nullopt;
        quotient.terms_[monomial] = coefficient / divisor;
    }
    return quotient;
}

std::optional<uint64_t> Polynomial::value() const {
    if (too_large_) return std::nullopt;
    if (terms_.empty()) return 0;
    if (terms_.size() == 1 && terms_.begin()->first.empty()) return terms_.begin()->second;
    return std::nullopt;
}

std::optional<uint64_t> Polynomial::evaluate(const std::map<std::string, int64_t>& dims) const {
    if (too_large_) return std::nullopt;
    uint64_t total = 0;
    for (const auto& [monomial, coefficient] : terms_) {
        uint64_t term = coefficient;
        for (const auto& [symbol, power] : monomial) {
            auto it = dims.find(symbol);
            if (it == dims.end() || it->second < 0) return std::nullopt;
            term = saturating_mul(term, saturating_power(static_cast<uint64_t>(it->second), power));
        }
        total = saturating_add(total, term);
    }
    return total;
}

double Polynomial::estimate(const std::map<std::string, int64_t>& dims, double otherwise) const {
    if (too_large_) return HUGE_VAL;
    double total = 0;
    for (const auto& [monomial, coefficient] : terms_) {
        double term = static_cast<double>(coefficient);
        for (const auto& [symbol, power] : monomial) {
            auto it = dims.find(symbol);
            const double size = it != dims.end() && it->second >= 0 ? static_cast<double>(it->second) : otherwise;
            term *= std::pow(size, static_cast<double>(power));
        }
        total += term;
    }
    return total;
}

bool Polynomial::dominates(const Polynomial& other) const {
    if (too_large_ || other.too_large_) return false;
    // What each side has over the other, term by term. A surplus at M covers a deficit at m when m
    // divides M: with every symbol at least 1, M is at least m.
    std::map<Monomial, uint64_t> surplus;
    std::vector<std::pair<const Monomial*, uint64_t>> deficits;
    for (const auto& [monomial, coefficient] : terms_) {
        auto theirs = other.terms_.find(monomial);
        const uint64_t owed = theirs == other.terms_.end() ? 0 : theirs->second;
        if (coefficient > owed) surplus[monomial] = coefficient - owed;
    }
    for (const auto& [monomial, coefficient] : other.terms_) {
        auto mine = terms_.find(monomial);
        const uint64_t held = mine == terms_.end() ? 0 : mine->second;
        if (coefficient > held) deficits.emplace_back(&monomial, coefficient - held);
    }
    if (deficits.empty()) return true;
    // Covering costs deficits x surpluses steps: past a bound (hostile shapes), only the plain
    // term-by-term test above counts.
    if (deficits.size() * surplus.size() > kMaxTerms) return false;
    // Deficits of higher degree first: fewer surpluses can cover them.
    std::stable_sort(deficits.begin(), deficits.end(), [](const auto& a, const auto& b) { return degree(*a.first) > degree(*b.first); });
    for (auto& [monomial, owed] : deficits) {
        std::vector<std::map<Monomial, uint64_t>::iterator> covers;
        for (auto it = surplus.begin(); it != surplus.end(); ++it) {
            if (it->second > 0 && divides(*monomial, it->first)) covers.push_back(it);
        }
        // The closest multiples first, keeping the larger ones for the deficits still to cover.
        std::stable_sort(covers.begin(), covers.end(), [](auto a, auto b) { return degree(a->first) < degree(b->first); });
        for (auto it : covers) {
            const uint64_t taken = std::min(owed, it->second);
            it->second -= taken;
            owed -= taken;
            if (owed == 0) break;
        }
        if (owed > 0) return false;
    }
    return true;
}

std::set<std::string> Polynomial::symbols() const {
    std::set<std::string> found;
    for (const auto& [monomial, coefficient] : terms_) {
        for (const auto& [symbol, power] : monomial) found.insert(symbol);
    }
    return found;
}

std::string Polynomial::text() const {
    if (too_large_) return "(too many terms)";
    if (terms_.empty()) return "0";
    std::vector<std::pair<const Monomial*, uint64_t>> ordered;
    for (const auto& [monomial, coefficient] : terms_) ordered.emplace_back(&monomial, coefficient);
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const auto& a, const auto& b) { return degree(*a.first) > degree(*b.first); });
    std::string out;
    for (const auto& [monomial, coefficient] : ordered) {
        if (!out.empty()) out += " + ";
        std::string factors;
        for (const auto& [symbol, power] : *monomial) {
            if (!factors.empty()) factors += "*";
            factors += symbol;
            if (power > 1) factors += "^" + std::to_string(power);
        }
        if (factors.empty()) {
            out += std::to_string(coefficient);
        } else {
            out += coefficient == 1 ? factors : std::to_string(coefficient) + "*" + factors;
        }
    }
    return out;
}

void PolynomialMax::include(const Polynomial& value) {
    for (const auto& candidate : candidates) {
        if (candidate.dominates(value)) return;
    }
    candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                    [&](const Polynomial& candidate) { return value.dominates(candidate); }),
                     candidates.end());
    candidates.push_back(value);
    if (candidates.size() > kMaxCandidates) {
        // Keep the largest at a common size of the symbols; the maximum becomes a lower bound.
        auto smallest = std::min_element(candidates.begin(), candidates.end(), [](const Polynomial& a, const Polynomial& b) {
            return a.estimate({}, 1024.0) < b.estimate({}, 1024.0);
        });
        candidates.erase(smallest);
        exact = false;
    }
}

void PolynomialMax::include(const PolynomialMax& other) {
    for (const auto& candidate : other.candidates) include(candidate);
    exact = exact && other.exact;
}

PolynomialMax& PolynomialMax::operator+=(const Polynomial& value) {
    if (candidates.empty()) {
        include(value);
    } else {
        for (auto& candidate : candidates) candidate += value;
    }
    return *this;
}

PolynomialMax& PolynomialMax::operator+=(const PolynomialMax& other) {
    if (other.candidates.size() <= 1) {
        if (!other.candidates.empty()) *this += other.candidates[0];
        exact = exact && other.exact;
        return *this;
    }
    if (candidates.empty()) {
        *this = other;
        return *this;
    }
    PolynomialMax sums;
    sums.exact = exact && other.exact;
    for (const auto& a : candidates) {
        for (const auto& b : other.candidates) sums.include(a + b);
    }
    *this = std::move(sums);
    return *this;
}

PolynomialMax PolynomialMax::operator*(const Polynomial& factor) const {
    PolynomialMax product;
    product.exact = exact;
    for (const auto& candidate : candidates) product.candidates.push_back(candidate * factor);
    return product;
}

bool PolynomialMax::operator==(const PolynomialMax& other) const {
    if (is_zero() && other.is_zero()) return true;
    if (candidates.size() != other.candidates.size() || exact != other.exact) return false;
    return std::all_of(candidates.begin(), candidates.end(), [&](const Polynomial& c) {
        return std::find(other.candidates.begin(), other.candidates.end(), c) != other.candidates.end();
    });
}

double PolynomialMax::estimate(const std::map<std::string, int64_t>& dims, double otherwise) const {
    double largest = 0;
    for (const auto& candidate : candidates) largest = std::max(largest, candidate.estimate(dims, otherwise));
    return largest;
}

bool PolynomialMax::is_zero() const {
    return std::all_of(candidates.begin(), candidates.end(), [](const Polynomial& c) { return c.is_zero(); });
}

bool PolynomialMax::too_large() const {
    return std::any_of(candidates.begin(), candidates.end(), [](const Polynomial& c) { return c.too_large(); });
}

std::set<std::string> PolynomialMax::symbols() const {
    std::set<std::string> all;
    for (const auto& candidate : candidates) {
        for (const auto& symbol : candidate.symbols()) all.insert(symbol);
    }
    return all;
}

std::optional<uint64_t> PolynomialMax::evaluate(const std::map<std::string, int64_t>& dims) const {
    uint64_t largest = 0;
    for (const auto& candidate : candidates) {
        auto v = candidate.evaluate(dims);
        if (!v) return std::nullopt;
        largest = std::max(largest, *v);
    }
    return largest;
}

std::optional<uint64_t> PolynomialMax::value() const { return evaluate({}); }

std::string PolynomialMax::text() const {
    if (candidates.empty()) return "0";
    if (candidates.size() == 1) return candidates[0].text();
    std::string out = "max(";
    for (size_t i = 0; i < candidates.size(); ++i) out += (i ? ", " : "") + candidates[i].text();
    return out + ")";
}

}  // namespace onnx_weightless
