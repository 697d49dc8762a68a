// A model as nested blocks: transformer layers, ResNet stages, their attention and MLP, with what
// each holds and costs. A node's block is the name hierarchy its exporter wrote
// (`/model/layers.0/self_attn/q_proj/MatMul` is in model > layers.0 > self_attn > q_proj); a node
// named without one (`node_linear_3`) takes the hierarchy of the weight it reads
// (`model.layers.0.mlp.up_proj.weight`) or the weight-derived value it reads (a Transpose of one),
// or else the block of the node producing its first input. Siblings that differ only by a number
// and have the same weights, MACs and children holding them (`layers.0` ... `layers.31`) are folded
// into one block with a count.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "onnx_weightless/analysis.hpp"
#include "onnx_weightless/graph.hpp"
#include "onnx_weightless/polynomial.hpp"
#include "onnx_weightless/tensor_index.hpp"

namespace onnx_weightless {

struct Block {
    /// Its path component (`layers.0`); for a folded block, the first and last (`layers.0 … layers.31`).
    std::string name;
    /// How many siblings of one structure it stands for (1 unless folded). Its figures are their
    /// total; its children are the first one's.
    uint64_t repeat = 1;
    uint64_t nodes = 0;  ///< main-graph nodes in it and below
    std::map<std::string, uint64_t> ops;  ///< their op types ("domain::op_type" outside ai.onnx)
    uint64_t weight_elements = 0;  ///< tensors first read by its nodes
    uint64_t weight_bytes = 0;
    PolynomialMax macs;
    Polynomial activation_bytes;  ///< its nodes' sized activations
    uint64_t uncosted = 0;        ///< its nodes the analysis could not cost
    std::vector<Block> children;  ///< in the order of their first node
};

/// The block tree of the main graph, its root named `model_name`.
Block build_blocks(const GraphView& graph, const Analysis& analysis, const TensorIndex& index,
                   const std::string& model_name);

}  // namespace onnx_weightless
