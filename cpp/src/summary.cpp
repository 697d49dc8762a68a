#include "onnx_weightless/summary.hpp"

#include "onnx_weightless/dtype.hpp"

namespace onnx_weightless {
namespace {

void add(Totals& totals, const TensorInfo& tensor, uint64_t bytes) {
    ++totals.tensors;
    totals.elements += tensor.element_count;
    totals.bytes += bytes;
}

}  // namespace

IndexTotals totals(const TensorIndex& index) {
    IndexTotals result;
    for (const TensorInfo& tensor : index.tensors) {
        const uint64_t bytes = tensor.byte_size.value_or(tensor.payload.size());
        add(result.all, tensor, bytes);
        add(result.by_dtype[dtype_name(tensor.data_type)], tensor, bytes);
        add(result.by_storage[storage_name(tensor.storage)], tensor, bytes);
        if (tensor.storage == Storage::external) add(result.by_external_file[tensor.location()], tensor, bytes);
    }
    return result;
}

}  // namespace onnx_weightless
