// Builds small ONNX messages in protobuf wire format for the tests. Every function returns the
// serialized bytes of one message (not the field that holds it); the caller nests them. Fields are
// written in field-number order, like protobuf serializers do, and `extra` bytes are appended
// verbatim at the end of a message: unknown fields, or deliberately malformed ones.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/tensor_index.hpp"

namespace pb {

// onnx.proto TensorProto.DataType values used by the tests.
enum DataType : int32_t {
    FLOAT = 1, UINT8 = 2, INT8 = 3, INT32 = 6, INT64 = 7, STRING = 8,
    FLOAT16 = 10, DOUBLE = 11, COMPLEX128 = 15,
};
constexpr int32_t kExternal = 1;  // TensorProto.DataLocation.EXTERNAL

// ---- Raw wire pieces ------------------------------------------------------------------------
std::string varint(uint64_t value);
/// The body of a packed repeated int64 field: the values' varints back to back.
std::string packed_varints(const std::vector<int64_t>& values);
std::string tag(uint32_t number, uint32_t wire_type);
std::string field_varint(uint32_t number, uint64_t value);
std::string field_bytes(uint32_t number, const std::string& bytes);
std::string field_fixed32(uint32_t number, uint32_t value);
std::string field_fixed64(uint32_t number, uint64_t value);

/// Two unknown fields, 999 (varint 4242) and 1000 (length-delimited `label`): append as `extra`
/// at any level and look for them in the output.
std::string unknown_fields(const std::string& label);

/// Little-endian bytes of floats; `n` recognisable filler bytes (i * 7 + seed, mod 256).
std::string float_bytes(const std::vector<float>& values);
std::string filler(size_t n, uint8_t seed = 1);

// ---- TensorProto ----------------------------------------------------------------------------
struct Tensor {
    std::string name;
    std::optional<int32_t> data_type = FLOAT;
    std::vector<int64_t> dims;
    bool packed_dims = false;  // onnx.proto (proto2) writes dims unpacked
    std::optional<std::string> raw_data;
    std::vector<float> float_data;
    bool float_packed = true;
    std::vector<int32_t> int32_data;
    std::vector<int64_t> int64_data;
    std::vector<std::string> string_data;
    std::vector<std::pair<std::string, std::string>> external_data;
    std::optional<int32_t> data_location;
    std::string extra;
};
std::string tensor(const Tensor& t);

/// FLOAT tensor holding `raw` as raw_data (dims must match raw.size() / 4).
std::string raw_float_tensor(const std::string& name, std::vector<int64_t> dims, const std::string& raw,
                             const std::string& extra = "");

std::string string_entry(const std::string& key, const std::string& value, const std::string& extra = "");

std::string sparse_tensor(const std::string& values, const std::string& indices, std::vector<int64_t> dims,
                          const std::string& extra = "");

// ---- AttributeProto -------------------------------------------------------------------------
std::string attr_int(const std::string& name, int64_t value, const std::string& extra = "");
std::string attr_tensor(const std::string& name, const std::string& tensor, const std::string& extra = "");
std::string attr_tensors(const std::string& name, const std::vector<std::string>& tensors,
                         const std::string& extra = "");
std::string attr_sparse(const std::string& name, const std::string& sparse, const std::string& extra = "");
std::string attr_graph(const std::string& name, const std::string& graph, const std::string& extra = "");

// ---- NodeProto / GraphProto / FunctionProto / TrainingInfoProto / ModelProto -----------------
struct Node {
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
    std::string name;
    std::string op_type;
    std::vector<std::string> attributes;
    std::string domain;
    std::string extra;
};
std::string node(const Node& n);

struct Graph {
    std::vector<std::string> nodes;
    std::string name;
    std::vector<std::string> initializers;
    std::vector<std::string> sparse_initializers;
    std::string extra;
};
std::string graph(const Graph& g);

struct Function {
    std::string name;
    std::vector<std::string> nodes;
    std::string domain;
    std::vector<std::string> attribute_protos;
    std::string extra;
};
std::string function(const Function& f);

std::string training_info(const std::string& initialization, const std::string& algorithm = "");

struct Model {
    std::optional<int64_t> ir_version = 10;
    std::string producer_name = "proto_builder";
    std::optional<std::string> graph;
    std::vector<std::pair<std::string, int64_t>> opsets = {{"", 21}};
    std::vector<std::pair<std::string, std::string>> metadata;
    std::vector<std::string> training_infos;
    std::vector<std::string> functions;
    std::string extra;
};
/// The top-level fields one by one (their concatenation is the model): lets a test know where
/// the field boundaries of the ModelProto are.
std::vector<std::string> model_fields(const Model& m);
std::string model(const Model& m);

/// A model whose graph holds just these initializers.
std::string model_with_initializers(const std::vector<std::string>& initializers);
/// A model whose graph has these nodes and initializers.
std::string model_of(const std::vector<std::string>& nodes, const std::vector<std::string>& initializers);
/// A model of the graph `g`, with the default IR version and opsets.
std::string model_of(const Graph& g);

// ---- Test support ---------------------------------------------------------------------------
/// Bytes in memory that records every range read. A read past the end is a broken precondition
/// of ByteSource, reported as std::logic_error (never confused with a FormatError).
class RecordingSource : public onnx_weightless::ByteSource {
public:
    /// Borrows `bytes`: they must outlive the source.
    explicit RecordingSource(const std::string& bytes) : bytes_(bytes) {}
    explicit RecordingSource(std::string&&) = delete;
    uint64_t size() const override { return bytes_.size(); }
    const std::vector<onnx_weightless::ByteRange>& reads() const { return reads_; }

protected:
    void do_read(uint64_t offset, char* dst, size_t n) override;

private:
    const std::string& bytes_;
    std::vector<onnx_weightless::ByteRange> reads_;
};

/// Scans `bytes` (through a RecordingSource).
onnx_weightless::TensorIndex scan_bytes(const std::string& bytes);

/// A copy of the tensor named `name`; throws std::out_of_range when the index has none.
onnx_weightless::TensorInfo find_tensor(const onnx_weightless::TensorIndex& index, const std::string& name);

}  // namespace pb
