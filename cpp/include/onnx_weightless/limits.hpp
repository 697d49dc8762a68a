// Every bound the library puts on what a file may make it do: how deep, how long, how many. Each
// keeps a hostile file from making a reader recurse, allocate or compute without limit; a file
// past one gets a LimitError (or, for an analysis figure, a node left uncosted with the reason).
#pragma once

#include <cstddef>
#include <cstdint>

namespace onnx_weightless::limits {

/// Subgraph nesting (If, Loop and Scan bodies inside one another), for the scan and the graph view.
constexpr uint32_t kMaxGraphDepth = 64;
/// Dims of a tensor or value, entries of an int list attribute.
constexpr size_t kMaxRank = 4096;
/// Strings the scan reads (names, op types, external_data entries) are structure, not payload.
constexpr uint64_t kMaxStringBytes = 1 << 20;
/// Messages the scan reads whole: a tensor's dims, a small enclosing message.
constexpr uint64_t kMaxSmallMessageBytes = 1 << 20;
/// Each tensor keeps its own copy of where it sits: graph, function, node, op type and attribute
/// names. A name is in the file once but copied into every tensor under it, so the copies are
/// bounded in proportion to the file (generous: a real model's come to a few times its structure).
constexpr uint64_t kMaxCopiedBase = 64 << 20;
constexpr uint64_t kMaxCopiedPerFileByte = 16;

/// An opset import's version: onnx looks operator schemas up by an `int` version.
constexpr int64_t kMaxOpsetVersion = 0x7fffffff;

/// A dimension expression (`(past + new)*4`): parentheses nested at most this deep, powers at most
/// this high.
constexpr int kMaxExpressionNesting = 16;
constexpr uint64_t kMaxExpressionExponent = 8;
/// Terms of a polynomial figure: past this it is `too_large()` and has no value, as a shape of
/// hostile symbolic dims would otherwise multiply out into exponentially many terms.
constexpr size_t kMaxPolynomialTerms = 4096;
/// Candidates of a maximum of polynomials none of which dominates the others.
constexpr size_t kMaxMaximumCandidates = 16;

}  // namespace onnx_weightless::limits
