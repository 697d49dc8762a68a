// Counts in symbols: exact arithmetic, the text form, exact division, dominance, saturation.
#include <gtest/gtest.h>

#include <cstdint>

#include "onnx_weightless/polynomial.hpp"

namespace ow = onnx_weightless;
using ow::Polynomial;

namespace {

Polynomial n(uint64_t value) { return Polynomial::constant(value); }
Polynomial sym(const char* name) { return Polynomial::symbol(name); }

}  // namespace

TEST(Polynomial, ProductsAndSumsAreExact) {
    const Polynomial p = n(3) * sym("s") * sym("s") + n(4096) * sym("s") * sym("b") + n(7);
    EXPECT_EQ(p.text(), "4096*b*s + 3*s^2 + 7");
    EXPECT_EQ(p.evaluate({{"s", 10}, {"b", 2}}), 3u * 100 + 4096u * 20 + 7);
    EXPECT_EQ(p.evaluate({{"s", 10}}), std::nullopt);  // b unsized
    EXPECT_EQ(p.symbols(), (std::set<std::string>{"b", "s"}));
    EXPECT_EQ(p.value(), std::nullopt);
    EXPECT_EQ((n(6) * n(7)).value(), 42u);
    EXPECT_EQ(Polynomial().value(), 0u);
    EXPECT_EQ(Polynomial().text(), "0");
    EXPECT_TRUE((sym("a") + sym("b")) == (sym("b") + sym("a")));
}

TEST(Polynomial, DivisionIsExactOrRefused) {
    EXPECT_EQ((n(6) * sym("s") + n(9)).divided_by(3)->text(), "2*s + 3");
    EXPECT_EQ((n(6) * sym("s") + n(8)).divided_by(3), std::nullopt);
    EXPECT_EQ(n(6).divided_by(0), std::nullopt);
}

TEST(Polynomial, SubtractingWhatWasAddedGivesTheRest) {
    Polynomial live = n(4) * sym("s") + n(16);
    live += n(8) * sym("s");
    live.subtract(n(4) * sym("s"));
    EXPECT_EQ(live.text(), "8*s + 16");
    live.subtract(n(100));  // stops at 0
    EXPECT_EQ(live.text(), "8*s");
}

TEST(Polynomial, DominanceAndTheMaximum) {
    EXPECT_TRUE((n(2) * sym("s") + n(1)).dominates(n(2) * sym("s")));
    EXPECT_FALSE((n(2) * sym("s")).dominates(n(1) * sym("t")));
    ow::PolynomialMax peak;
    peak.include(n(4) * sym("s"));
    peak.include(n(8) * sym("s"));  // dominates the first
    peak.include(n(3) * sym("s"));  // dominated
    ASSERT_EQ(peak.candidates.size(), 1u);
    EXPECT_EQ(peak.text(), "8*s");
    peak.include(sym("t") * sym("t"));
    EXPECT_EQ(peak.text(), "max(8*s, t^2)");
    EXPECT_EQ(peak.evaluate({{"s", 2}, {"t", 5}}), 25u);
}

TEST(Polynomial, TheMaximumKeepsABoundedNumberOfCandidates) {
    ow::PolynomialMax peak;
    const char* names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t"};
    for (const char* name : names) peak.include(sym(name));
    EXPECT_EQ(peak.candidates.size(), ow::PolynomialMax::kMaxCandidates);
    EXPECT_FALSE(peak.exact);
}

TEST(Polynomial, HugeValuesSaturate) {
    const Polynomial huge = n(uint64_t{1} << 40) * n(uint64_t{1} << 40);
    EXPECT_EQ(huge.value(), UINT64_MAX);
    EXPECT_EQ((huge + n(5)).value(), UINT64_MAX);
    // A power of 2^32 evaluates by squaring, in a few steps.
    Polynomial power = sym("s");
    for (int i = 0; i < 32; ++i) power = power * power;
    EXPECT_EQ(power.text(), "s^4294967295");  // the exponent saturates too
    EXPECT_EQ(power.evaluate({{"s", 2}}), UINT64_MAX);
    EXPECT_EQ(power.evaluate({{"s", 1}}), 1u);
    EXPECT_EQ(power.evaluate({{"s", 0}}), 0u);
}

TEST(Polynomial, ExpressionsOfKnownNamesParse) {
    auto name = [](const std::string& s) -> std::optional<Polynomial> {
        if (s == "seq" || s == "past" || s == "batch") return Polynomial::symbol(s);
        if (s == "heads") return Polynomial::constant(8);  // a size given
        return std::nullopt;
    };
    EXPECT_EQ(Polynomial::parse("past + seq", name)->text(), "past + seq");
    EXPECT_EQ(Polynomial::parse("2*seq + 1", name)->text(), "2*seq + 1");
    EXPECT_EQ(Polynomial::parse("batch*seq**2", name)->text(), "batch*seq^2");
    EXPECT_EQ(Polynomial::parse("(past + seq)*heads", name)->text(), "8*past + 8*seq");
    for (const char* refused : {"seq - 1", "seq/2", "Min(64, seq)", "unk__3", "seq^9", "", "2*", "(seq", "seq)",
                                "((((((((((((((((((seq))))))))))))))))))"}) {
        EXPECT_EQ(Polynomial::parse(refused, name), std::nullopt) << refused;
    }
}

TEST(Polynomial, TooManyTermsHaveNoValue) {
    // (a1 + ... + a8)^8 multiplies out into 6435 terms: past the bound.
    auto name = [](const std::string& s) -> std::optional<Polynomial> { return Polynomial::symbol(s); };
    EXPECT_EQ(Polynomial::parse("(a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8)^8", name), std::nullopt);
    Polynomial wide;
    for (int i = 0; i < 80; ++i) wide += Polynomial::symbol("s" + std::to_string(i));
    const Polynomial product = wide * wide;  // 3240 terms: kept
    EXPECT_FALSE(product.too_large());
    const Polynomial larger = product * wide;
    EXPECT_TRUE(larger.too_large());
    EXPECT_EQ(larger.value(), std::nullopt);
    EXPECT_EQ(larger.text(), "(too many terms)");
    EXPECT_TRUE((larger + Polynomial::constant(1)).too_large());
}

TEST(Polynomial, AHigherTermCoversTheLowerOnesItIsAMultipleOf) {
    // With every symbol at least 1: 3*s*t >= s + t + 1 (its surplus of 3 covers s, t and 1).
    EXPECT_TRUE((n(3) * sym("s") * sym("t")).dominates(sym("s") + sym("t") + n(1)));
    EXPECT_FALSE((n(2) * sym("s") * sym("t")).dominates(sym("s") + sym("t") + n(1)));
    // s^2 does not cover t: t may be the larger.
    EXPECT_FALSE((sym("s") * sym("s")).dominates(sym("t")));
    // 40*s^2 + 512*s against 20*s^2 + 1024*s: neither is larger for every s (s = 10 and s = 100).
    const Polynomial a = n(40) * sym("s") * sym("s") + n(512) * sym("s");
    const Polynomial b = n(20) * sym("s") * sym("s") + n(1024) * sym("s");
    EXPECT_FALSE(a.dominates(b));
    EXPECT_FALSE(b.dominates(a));
}
