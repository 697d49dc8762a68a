// Every tensor a model holds, where it sits in the model and where its bytes are.
// Built by scan(); consumed by the skeleton writer, the CLI and the Python layer.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace onnx_weightless {

/// Which protobuf field of TensorProto holds inline data.
enum class PayloadField : uint8_t {
    none,
    raw_data,
    float_data,   // packed fixed32 (FLOAT, COMPLEX64)
    int32_data,   // packed varint (INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16, BFLOAT16, FLOAT8*, 4/2-bit)
    string_data,  // repeated bytes (STRING)
    int64_data,   // packed varint (INT64)
    double_data,  // packed fixed64 (DOUBLE, COMPLEX128)
    uint64_data,  // packed varint (UINT32, UINT64)
};

const char* payload_field_name(PayloadField field);
std::optional<PayloadField> payload_field_from_name(const std::string& name);

/// Where a tensor's bytes are.
enum class Storage : uint8_t {
    inline_data,  ///< in the model file itself (one of the payload fields)
    external,     ///< data_location = EXTERNAL: in a file named by external_data
    none,         ///< no payload at all (an empty tensor, or a malformed-but-tolerated one)
};

const char* storage_name(Storage storage);

/// What holds the tensor in the model.
enum class TensorRole : uint8_t {
    initializer,         ///< GraphProto.initializer
    sparse_initializer,  ///< GraphProto.sparse_initializer (values or indices part)
    node_attribute,      ///< AttributeProto.t / .tensors / .sparse_tensor(s) of a node (Constant's value included)
    function_attribute,  ///< FunctionProto.attribute_proto default values
};

const char* tensor_role_name(TensorRole role);

/// external_data key the skeleton writer adds to name the TensorProto field a stripped inline
/// payload was in, when that field is not raw_data (the bytes then need decoding: packed varints).
inline constexpr const char* kPayloadFieldKey = "onnx_weightless.field";
/// external_data key present (value "0") when the stripped payload was written unpacked.
inline constexpr const char* kPackedKey = "onnx_weightless.packed";

/// A field of some message, located in the file: the tag starts at tag_offset, the value
/// occupies [value_offset, end).
struct FieldSpan {
    uint64_t tag_offset = 0;
    uint64_t value_offset = 0;
    uint64_t end = 0;
};

/// A byte range [begin, end) of the file.
struct ByteRange {
    uint64_t begin = 0;
    uint64_t end = 0;
    uint64_t size() const noexcept { return end - begin; }
};

struct TensorInfo {
    std::string name;
    int32_t data_type = 0;
    std::vector<int64_t> dims;
    uint64_t element_count = 0;
    /// dims x dtype in raw_data form; nullopt for STRING and unknown dtypes.
    std::optional<uint64_t> byte_size;

    Storage storage = Storage::none;
    // Storage::inline_data: the payload field and where its value bytes are. For fields written
    // unpacked (one tag per element) the range spans all of them and `packed` is false.
    PayloadField payload_field = PayloadField::none;
    ByteRange payload;
    bool packed = true;
    // Storage::external: the external_data entries as written (location/offset/length/checksum...).
    std::map<std::string, std::string> external_data;

    // Where the tensor sits.
    TensorRole role = TensorRole::initializer;
    std::string graph_name;      ///< enclosing graph ("" inside a function)
    std::string function_name;   ///< enclosing model-local function, if any
    std::string node_name;       ///< owning node, for attribute tensors
    std::string op_type;         ///< owning node's op type, for attribute tensors
    std::string attribute_name;  ///< "value" for a Constant node's tensor
    uint32_t depth = 0;          ///< 0 in the main graph, +1 per subgraph level
    bool sparse_indices = false; ///< for sparse tensors: this is the indices part (else values)

    // Layout, used by the skeleton writer.
    FieldSpan field;                  ///< the TensorProto field itself, in its parent message
    std::vector<FieldSpan> ancestors; ///< enclosing length-delimited fields, outermost first
    /// Fields to drop when the payload is stripped: payload, external_data and data_location
    /// fields, merged where adjacent. Each range covers whole fields, tags included.
    std::vector<ByteRange> strip_ranges;

    /// external_data "location", "" if absent.
    std::string location() const;
    /// external_data "offset"/"length" parsed; nullopt when absent. Throws FormatError when malformed.
    std::optional<uint64_t> external_offset() const;
    std::optional<uint64_t> external_length() const;
};

/// An operator set the model imports.
struct OpsetImport {
    std::string domain;
    int64_t version = 0;
};

struct ModelSummary {
    int64_t ir_version = 0;
    std::string producer_name;
    std::string producer_version;
    std::vector<OpsetImport> opsets;
    uint64_t graph_count = 0;     ///< main graph + every subgraph (training graphs included)
    uint64_t function_count = 0;  ///< model-local functions
    uint64_t node_count = 0;      ///< nodes everywhere (subgraphs and functions included)
    uint64_t max_depth = 0;       ///< deepest subgraph nesting
    /// "domain::OpType" (just "OpType" for the default domain) -> count, nodes everywhere.
    std::map<std::string, uint64_t> op_histogram;
};

struct TensorIndex {
    std::string model_path;  ///< file the index was built from ("" for in-memory bytes)
    uint64_t file_size = 0;
    ModelSummary summary;
    std::vector<TensorInfo> tensors;  ///< in file order
};

}  // namespace onnx_weightless
