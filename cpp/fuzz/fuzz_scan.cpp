// libFuzzer target: arbitrary bytes as a model file, through scan() and totals().
//
// Bad input must end in an onnx_weightless::Error. Any other exception escapes and aborts, and
// sanitizer reports, timeouts and out-of-memory are findings too. What the scan accepts must be
// laid out as the skeleton writer and the weight readers rely on (they read these ranges back
// without checking them again); a broken layout traps.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/scan.hpp"
#include "onnx_weightless/summary.hpp"

namespace {

using namespace onnx_weightless;

bool encloses(const FieldSpan& outer, const FieldSpan& inner) {
    return outer.value_offset <= inner.tag_offset && inner.end <= outer.end;
}

/// Every range of the tensor lies in the file, inside its own field, inside its ancestors.
bool laid_out(const TensorInfo& t, uint64_t file_size) {
    if (!(t.field.tag_offset < t.field.value_offset && t.field.value_offset <= t.field.end &&
          t.field.end <= file_size)) {
        return false;
    }
    for (size_t i = 0; i < t.ancestors.size(); ++i) {
        const FieldSpan& inner = i + 1 < t.ancestors.size() ? t.ancestors[i + 1] : t.field;
        if (!encloses(t.ancestors[i], inner)) return false;
    }
    if (t.storage == Storage::inline_data &&
        !(t.field.value_offset <= t.payload.begin && t.payload.begin <= t.payload.end &&
          t.payload.end <= t.field.end)) {
        return false;
    }
    uint64_t position = t.field.value_offset;  // strip ranges: in order, disjoint, inside the field
    for (const ByteRange& range : t.strip_ranges) {
        if (range.begin < position || range.end < range.begin || range.end > t.field.end) return false;
        position = range.end;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    MemorySource source(std::string_view(reinterpret_cast<const char*>(data), size));
    try {
        const TensorIndex index = scan(source);
        for (const TensorInfo& tensor : index.tensors) {
            if (!laid_out(tensor, size)) __builtin_trap();
        }
        if (totals(index).all.tensors != index.tensors.size()) __builtin_trap();
    } catch (const Error&) {
        // Malformed input, reported as it should be.
    }
    return 0;
}
