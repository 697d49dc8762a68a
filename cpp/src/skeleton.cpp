#include "onnx_weightless/skeleton.hpp"

#include <algorithm>
#include <map>
#include <memory>

#include <protozero/pbf_writer.hpp>
#include <protozero/varint.hpp>

#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/onnx_fields.hpp"

namespace onnx_weightless {
namespace {

namespace f = fields;

constexpr int32_t kStringDtype = 8;

/// A length-delimited field whose contents change, with what changes inside it.
struct SpliceNode {
    /// A whole field of this message replaced by new bytes.
    struct Replacement {
        uint64_t end;
        std::string bytes;
    };
    FieldSpan span;
    std::map<uint64_t, std::unique_ptr<SpliceNode>> children;  // by tag offset
    std::map<uint64_t, Replacement> replacements;              // by tag offset
};

/// Appends exactly [offset, offset + n) of the source: the writer copies structure bytes only,
/// so it reads no more than it writes (no read-ahead into the payloads it leaves out).
void append_exact(ByteSource& source, std::string& out, uint64_t offset, uint64_t n) {
    const size_t old_size = out.size();
    out.resize(old_size + static_cast<size_t>(n));
    if (n > 0) source.read_at(offset, out.data() + old_size, static_cast<size_t>(n));
}

/// The tag of a length-delimited field, as written: [tag_offset, start of the length prefix).
std::string tag_bytes(ByteSource& source, const FieldSpan& span) {
    std::string bytes;
    append_exact(source, bytes, span.tag_offset, span.value_offset - span.tag_offset);
    const char* p = bytes.data();
    protozero::decode_varint(&p, bytes.data() + bytes.size());  // the scan validated it
    return std::string(bytes.data(), static_cast<size_t>(p - bytes.data()));
}

void emit(ByteSource& source, const SpliceNode& node, uint64_t begin, uint64_t end, std::string& out) {
    // Children and replacements never overlap: each is a distinct field at this level.
    struct Item {
        uint64_t begin;
        uint64_t end;
        const SpliceNode* child;
        const std::string* replacement;
    };
    std::vector<Item> items;
    for (const auto& [offset, child] : node.children) items.push_back({offset, child->span.end, child.get(), nullptr});
    for (const auto& [offset, replacement] : node.replacements) {
        items.push_back({offset, replacement.end, nullptr, &replacement.bytes});
    }
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.begin < b.begin; });

    uint64_t position = begin;
    for (const Item& item : items) {
        append_exact(source, out, position, item.begin - position);
        if (item.replacement != nullptr) {
            out += *item.replacement;
        } else {
            std::string content;
            emit(source, *item.child, item.child->span.value_offset, item.child->span.end, content);
            out += tag_bytes(source, item.child->span);
            protozero::add_varint_to_buffer(&out, content.size());
            out += content;
        }
        position = item.end;
    }
    append_exact(source, out, position, end - position);
}

/// The stripped TensorProto field: every field but the payload (and any stale external_data or
/// data_location), then data_location = EXTERNAL and external_data pointing at the payload.
std::string stripped_tensor_field(ByteSource& source, const TensorInfo& tensor, const SkeletonPolicy& policy) {
    std::string content;
    uint64_t position = tensor.field.value_offset;
    for (const ByteRange& range : tensor.strip_ranges) {
        append_exact(source, content, position, range.begin - position);
        position = range.end;
    }
    append_exact(source, content, position, tensor.field.end - position);

    protozero::pbf_writer writer(content);
    auto add_entry = [&](const std::string& key, const std::string& value) {
        protozero::pbf_writer entry(writer, f::number(f::Tensor::external_data));
        entry.add_string(f::number(f::StringStringEntry::key), key);
        entry.add_string(f::number(f::StringStringEntry::value), value);
    };
    add_entry("location", policy.model_location);
    add_entry("offset", std::to_string(tensor.payload.begin));
    add_entry("length", std::to_string(tensor.payload.size()));
    if (tensor.payload_field != PayloadField::raw_data) add_entry(kPayloadFieldKey, payload_field_name(tensor.payload_field));
    if (!tensor.packed) add_entry(kPackedKey, "0");
    writer.add_enum(f::number(f::Tensor::data_location), static_cast<int32_t>(f::DataLocation::external));

    std::string field = tag_bytes(source, tensor.field);
    protozero::add_varint_to_buffer(&field, content.size());
    field += content;
    return field;
}

}  // namespace

bool strips(const TensorInfo& tensor, const SkeletonPolicy& policy) {
    if (tensor.storage != Storage::inline_data || tensor.data_type == kStringDtype) return false;
    return tensor.byte_size.value_or(tensor.payload.size()) > policy.threshold_bytes;
}

SkeletonResult write_skeleton(ByteSource& source, const TensorIndex& index, const SkeletonPolicy& policy) {
    if (policy.model_location.empty()) {
        throw Error("[write_skeleton] SkeletonPolicy.model_location must name the model file");
    }
    SkeletonResult result;
    SpliceNode root;
    for (const TensorInfo& tensor : index.tensors) {
        if (!strips(tensor, policy)) continue;
        SpliceNode* node = &root;
        for (const FieldSpan& ancestor : tensor.ancestors) {
            auto& child = node->children[ancestor.tag_offset];
            if (!child) {
                child = std::make_unique<SpliceNode>();
                child->span = ancestor;
            }
            node = child.get();
        }
        node->replacements[tensor.field.tag_offset] = {tensor.field.end,
                                                        stripped_tensor_field(source, tensor, policy)};
        ++result.stripped_tensors;
        result.stripped_bytes += tensor.payload.size();
    }
    result.bytes.reserve(static_cast<size_t>(source.size() - result.stripped_bytes));
    emit(source, root, 0, source.size(), result.bytes);
    return result;
}

}  // namespace onnx_weightless
