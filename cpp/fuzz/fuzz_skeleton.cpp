// libFuzzer target: the skeleton round trip. Whatever the scan accepts, write_skeleton must turn
// into a model that
//   1. scans again without error, with the same summary (opsets, graphs, nodes, op counts);
//   2. holds the same tensors in the same order: names, dtypes, dims, roles and places unchanged;
//      a stripped tensor is now an external reference to exactly its old payload range (and the
//      payload field it came from); a kept one has the same storage and byte-for-byte the same payload;
//   3. has nothing left to strip: its own skeleton is itself;
//   4. reads as the same operator graph (read_graph), which analyze() then walks.
// Bad input must end in an onnx_weightless::Error; a broken invariant traps.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "onnx_weightless/analysis.hpp"
#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/graph.hpp"
#include "onnx_weightless/scan.hpp"
#include "onnx_weightless/skeleton.hpp"

namespace {

using namespace onnx_weightless;

constexpr const char* kLocation = "model.onnx";

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "fuzz_skeleton: invariant broken: %s\n", what.c_str());
    std::fflush(stderr);
    __builtin_trap();
}

void check(bool ok, const std::string& what) {
    if (!ok) fail(what);
}

template <class T, class Eq>
bool same_list(const std::vector<T>& a, const std::vector<T>& b, Eq eq) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), eq);
}

template <class K, class V, class Eq>
bool same_map(const std::map<K, V>& a, const std::map<K, V>& b, Eq eq) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [&](const auto& x, const auto& y) { return x.first == y.first && eq(x.second, y.second); });
}

bool same_opset(const OpsetImport& a, const OpsetImport& b) { return a.domain == b.domain && a.version == b.version; }

bool same_summary(const ModelSummary& a, const ModelSummary& b) {
    return a.ir_version == b.ir_version && a.producer_name == b.producer_name &&
           a.producer_version == b.producer_version && same_list(a.opsets, b.opsets, same_opset) &&
           a.graph_count == b.graph_count && a.function_count == b.function_count &&
           a.node_count == b.node_count && a.max_depth == b.max_depth && a.op_histogram == b.op_histogram;
}

/// What the skeleton leaves alone in every tensor: identity, type and place.
bool same_identity(const TensorInfo& a, const TensorInfo& b) {
    return a.name == b.name && a.data_type == b.data_type && a.dims == b.dims &&
           a.element_count == b.element_count && a.byte_size == b.byte_size && a.role == b.role &&
           a.graph_name == b.graph_name && a.function_name == b.function_name && a.node_name == b.node_name &&
           a.op_type == b.op_type && a.attribute_name == b.attribute_name && a.depth == b.depth &&
           a.sparse_indices == b.sparse_indices;
}

/// The external_data a stripped tensor must carry: where its payload is in the original model.
std::map<std::string, std::string> expected_reference(const TensorInfo& before) {
    std::map<std::string, std::string> entries{{"location", kLocation},
                                               {"offset", std::to_string(before.payload.begin)},
                                               {"length", std::to_string(before.payload.size())}};
    if (before.payload_field != PayloadField::raw_data) entries[kPayloadFieldKey] = payload_field_name(before.payload_field);
    if (!before.packed) entries[kPackedKey] = "0";
    return entries;
}

void check_tensor(std::string_view model, std::string_view skeleton, const TensorInfo& before,
                  const TensorInfo& after, const SkeletonPolicy& policy) {
    const std::string label = "tensor '" + before.name + "' at offset " + std::to_string(before.field.tag_offset);
    check(same_identity(before, after), label + ": name, type or place changed");
    if (strips(before, policy)) {
        check(after.storage == Storage::external, label + ": stripped but not external");
        check(after.external_data == expected_reference(before), label + ": wrong external reference");
        return;
    }
    check(after.storage == before.storage, label + ": storage changed");
    if (before.storage == Storage::inline_data) {
        check(after.payload_field == before.payload_field && after.packed == before.packed,
              label + ": payload encoding changed");
        check(model.substr(before.payload.begin, before.payload.size()) ==
                  skeleton.substr(after.payload.begin, after.payload.size()),
              label + ": kept payload differs");
    } else if (before.storage == Storage::external) {
        check(after.external_data == before.external_data, label + ": external_data changed");
    }
}

bool same_dim(const Dim& a, const Dim& b) { return a.value == b.value && a.symbol == b.symbol; }

bool same_type(const ValueType& a, const ValueType& b) {
    return a.elem_type == b.elem_type && a.has_shape == b.has_shape && same_list(a.dims, b.dims, same_dim);
}

bool same_attribute(const AttributeValue& a, const AttributeValue& b) {
    // Bits, not values: a NaN attribute must compare equal to itself.
    return a.i == b.i && std::memcmp(&a.f, &b.f, sizeof a.f) == 0 && a.s == b.s && a.ints == b.ints;
}

bool same_node(const GraphNode& a, const GraphNode& b) {
    return a.name == b.name && a.op_type == b.op_type && a.domain == b.domain && a.inputs == b.inputs &&
           a.outputs == b.outputs && same_map(a.attributes, b.attributes, same_attribute);
}

bool same_graph(const GraphView& a, const GraphView& b) {
    return same_list(a.opsets, b.opsets, same_opset) && same_list(a.nodes, b.nodes, same_node) &&
           a.inputs == b.inputs && a.outputs == b.outputs && same_map(a.values, b.values, same_type) &&
           a.initializers == b.initializers;
}

std::optional<GraphView> graph_or_nothing(std::string_view model) {
    try {
        return read_graph(model);
    } catch (const Error&) {
        return std::nullopt;  // the graph view reads fields the scan skips; they may be malformed
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view model(reinterpret_cast<const char*>(data), size);
    MemorySource source(model);
    TensorIndex index;
    try {
        index = scan(source);
    } catch (const Error&) {
        return 0;  // malformed input; fuzz_scan checks how it is reported
    }
    // A small threshold, so that the fuzzer's small tensors get stripped too.
    SkeletonPolicy policy;
    policy.threshold_bytes = 16;
    policy.model_location = kLocation;
    // A model the scan accepted has a skeleton: write_skeleton throwing here escapes as a finding.
    const SkeletonResult skeleton = write_skeleton(source, index, policy);

    MemorySource skeleton_source(skeleton.bytes);
    TensorIndex again;
    try {
        again = scan(skeleton_source);
    } catch (const Error& e) {
        fail(std::string("the skeleton does not scan: ") + e.what());
    }
    check(same_summary(index.summary, again.summary), "model summary changed");
    check(again.tensors.size() == index.tensors.size(), "tensor count changed");
    for (size_t i = 0; i < index.tensors.size(); ++i) {
        check_tensor(model, skeleton.bytes, index.tensors[i], again.tensors[i], policy);
    }

    const SkeletonResult twice = write_skeleton(skeleton_source, again, policy);
    check(twice.stripped_tensors == 0 && twice.bytes == skeleton.bytes, "the skeleton's skeleton differs from it");

    // The skeleton differs from the model only inside stripped tensors, of which the graph view
    // reads just name, dims and dtype: both read alike, or both fail.
    const std::optional<GraphView> graph = graph_or_nothing(skeleton.bytes);
    const std::optional<GraphView> original = graph_or_nothing(model);
    check(graph.has_value() == original.has_value(), "read_graph accepts one of model and skeleton only");
    if (graph) {
        check(same_graph(*original, *graph), "read_graph differs between model and skeleton");
        AnalysisOptions options;
        options.dims = {{"batch", 2}, {"sequence", 7}};
        options.largest = 3;
        analyze(*graph, options);
    }
    return 0;
}
