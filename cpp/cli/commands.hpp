// The CLI's subcommands; main.cpp parses the arguments and calls one. Each returns the exit
// status and lets onnx_weightless::Error escape (main reports it, exit status 2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace onnx_weightless::cli {

/// Graph, op types, weights by dtype/storage/file, largest weights, MACs/FLOPs and activations;
/// with `html` non-empty, also the HTML report written there.
int inspect(const std::string& path, bool as_json, size_t top_ops, size_t largest,
            const std::map<std::string, int64_t>& dims, const std::string& html);

/// What differs between the structures of the models at `a` and `b`: 0 when nothing, 1 otherwise.
/// `limit`: entries of each list the tables show (JSON shows all); with `html` non-empty, also the
/// side-by-side HTML report written there.
int diff(const std::string& a, const std::string& b, bool as_json, size_t limit, const std::map<std::string, int64_t>& dims,
         const std::string& html);

/// External files: present, contained, large enough. 0 when all is well, 1 otherwise.
int check(const std::string& path, bool as_json);

/// The skeleton as a new file, and optionally its manifest.
int strip(const std::string& path, const std::string& output, uint64_t threshold, bool force,
          const std::string& manifest);

}  // namespace onnx_weightless::cli
