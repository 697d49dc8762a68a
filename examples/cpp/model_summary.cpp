// Prints what an ONNX model holds and costs, from its structure alone (weights never read):
//   model_summary MODEL [NAME=SIZE ...]     e.g. model_summary llama.onnx batch=1 sequence=128
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include <onnx_weightless/analysis.hpp>
#include <onnx_weightless/byte_source.hpp>
#include <onnx_weightless/errors.hpp>
#include <onnx_weightless/graph.hpp>
#include <onnx_weightless/scan.hpp>
#include <onnx_weightless/skeleton.hpp>
#include <onnx_weightless/summary.hpp>

namespace ow = onnx_weightless;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: model_summary MODEL [NAME=SIZE ...]\n";
        return 1;
    }
    const std::string path = argv[1];
    ow::AnalysisOptions options;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto eq = arg.find('=');
        if (eq == std::string::npos) {
            std::cerr << "model_summary: expected NAME=SIZE, got " << arg << "\n";
            return 1;
        }
        options.dims[arg.substr(0, eq)] = std::atoll(arg.c_str() + eq + 1);
    }
    try {
        ow::FileSource source(path);
        const ow::TensorIndex index = ow::scan(source);  // names, dtypes, dims, where payloads are
        const ow::IndexTotals totals = ow::totals(index);
        ow::SkeletonPolicy policy;
        policy.model_location = path.substr(path.find_last_of('/') + 1);
        const ow::SkeletonResult skeleton = ow::write_skeleton(source, index, policy);  // payloads left out
        const ow::Analysis analysis = ow::analyze(ow::read_graph(skeleton.bytes), options);

        std::printf("nodes        %llu\n", static_cast<unsigned long long>(index.summary.node_count));
        std::printf("op types     %zu\n", index.summary.op_histogram.size());
        std::printf("parameters   %llu\n", static_cast<unsigned long long>(totals.all.elements));
        std::printf("weight bytes %llu\n", static_cast<unsigned long long>(totals.all.bytes));
        // Exact counts; polynomials in the symbols `options.dims` leaves unsized ("16384*batch").
        std::printf("MACs         %s\n", analysis.macs.text().c_str());
        std::printf("peak activations %s bytes\n", analysis.peak_activation_bytes.text().c_str());
        // The scan and the skeleton writer each read the structure; payloads are never read.
        std::printf("skeleton     %zu bytes from a %llu-byte file (%llu bytes read)\n", skeleton.bytes.size(),
                    static_cast<unsigned long long>(index.file_size), static_cast<unsigned long long>(source.bytes_read()));
    } catch (const ow::Error& e) {
        std::cerr << "model_summary: " << e.what() << "\n";
        return 2;
    }
    return 0;
}
