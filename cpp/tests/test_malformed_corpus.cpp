// The malformed-input corpus (tests/malformed, written by make_corpus.py): each file throws the
// error class expected.json names, with the words it lists, at the step it names (scan, skeleton or
// read), and every step before it succeeds. Anything else (another class, std::bad_alloc, a
// std::out_of_range...) fails the case that caused it.
#include <gtest/gtest.h>

#include <cxxabi.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <vector>

#include <nlohmann/json.hpp>

#include "onnx_weightless/byte_source.hpp"
#include "onnx_weightless/data_folder.hpp"
#include "onnx_weightless/dtype.hpp"
#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/scan.hpp"
#include "onnx_weightless/skeleton.hpp"
#include "onnx_weightless/weights.hpp"

#ifndef ONNX_WEIGHTLESS_MALFORMED_CORPUS
#error "ONNX_WEIGHTLESS_MALFORMED_CORPUS must name the tests/malformed folder"
#endif

using namespace onnx_weightless;

namespace {

const std::string kFolder = ONNX_WEIGHTLESS_MALFORMED_CORPUS;

struct CorpusCase {
    std::string name;
    std::string file;       ///< relative to kFolder
    std::string exercises;
    std::optional<std::string> raises_at;  ///< nullopt: every step succeeds
    std::string error;
    std::vector<std::string> message;
    std::string note;
};

// gtest prints a parameter with this when a case fails.
void PrintTo(const CorpusCase& c, std::ostream* out) { *out << c.name; }

/// Why expected.json could not be read, if it could not (the cases list is then empty).
std::string& load_problem() {
    static std::string problem;
    return problem;
}

// Runs while tests are being registered: never throws, records the problem instead.
std::vector<CorpusCase> load_cases() {
    std::vector<CorpusCase> cases;
    try {
        std::ifstream in(kFolder + "/expected.json");
        if (!in) throw std::runtime_error("cannot open " + kFolder + "/expected.json");
        const nlohmann::json doc = nlohmann::json::parse(in);
        for (const nlohmann::json& entry : doc.at("cases")) {
            CorpusCase c;
            c.name = entry.at("name").get<std::string>();
            c.file = entry.at("file").get<std::string>();
            c.exercises = entry.at("exercises").get<std::string>();
            const nlohmann::json& cpp = entry.at("cpp");
            if (!cpp.at("raises_at").is_null()) {
                c.raises_at = cpp.at("raises_at").get<std::string>();
                c.error = cpp.at("error").get<std::string>();
                c.message = cpp.at("message").get<std::vector<std::string>>();
            }
            c.note = cpp.value("note", "");
            cases.push_back(std::move(c));
        }
    } catch (const std::exception& e) {
        load_problem() = e.what();
        cases.clear();
    }
    return cases;
}

std::string type_name(const std::type_info& type) {
    int status = 0;
    const std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                      std::free);
    return status == 0 && name ? name.get() : type.name();
}

/// The library's class name for an error of exactly that class; the C++ type name otherwise.
std::string error_class(const std::exception& e) {
    const std::type_info& type = typeid(e);
    if (type == typeid(FormatError)) return "FormatError";
    if (type == typeid(LimitError)) return "LimitError";
    if (type == typeid(IoError)) return "IoError";
    if (type == typeid(ExternalDataError)) return "ExternalDataError";
    return type_name(type);
}

struct Outcome {
    std::string step;
    std::string error;
    std::string message;
};

std::string file_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

/// scan: scan_file. skeleton: write_skeleton at thresholds 1024 (the default) and 0 (every payload
/// stripped), and a scan of each skeleton. read: every tensor's bytes, as a reader of the weights
/// gets them: inline typed payloads through payload_to_raw, external ones through read_external.
void run_step(const std::string& step, const std::string& path, TensorIndex& index) {
    if (step == "scan") {
        index = scan_file(path);
    } else if (step == "skeleton") {
        FileSource source(path);
        for (const uint64_t threshold : {uint64_t{1024}, uint64_t{0}}) {
            SkeletonPolicy policy;
            policy.threshold_bytes = threshold;
            policy.model_location = file_name(path);
            const SkeletonResult skeleton = write_skeleton(source, index, policy);
            MemorySource written(skeleton.bytes);
            scan(written);
        }
    } else {
        FileSource source(path);
        const DataFolder folder = DataFolder::of_model(path);
        for (const TensorInfo& t : index.tensors) {
            if (t.storage == Storage::external) {
                read_external(folder, t.location(), t.external_offset().value_or(0), t.external_length());
            } else if (t.storage == Storage::inline_data && t.payload_field != PayloadField::raw_data &&
                       dtype_storage_bytes(t.data_type, t.element_count)) {
                std::string bytes(static_cast<size_t>(t.payload.size()), '\0');
                source.read_at(t.payload.begin, bytes.data(), bytes.size());
                payload_to_raw(t.payload_field, t.data_type, bytes, t.packed, t.element_count);
            }
        }
    }
}

/// The first step that throws, and what; nullopt when every step succeeds.
std::optional<Outcome> run(const std::string& path) {
    TensorIndex index;
    for (const std::string step : {"scan", "skeleton", "read"}) {
        try {
            run_step(step, path, index);
        } catch (const std::exception& e) {
            return Outcome{step, error_class(e), e.what()};
        }
    }
    return std::nullopt;
}

class MalformedCorpus : public ::testing::TestWithParam<CorpusCase> {};

TEST_P(MalformedCorpus, ThrowsItsTypedError) {
    const CorpusCase& c = GetParam();
    const std::string where = c.file + " (" + c.exercises + ")";
    const std::optional<Outcome> outcome = run(kFolder + "/" + c.file);
    if (!c.raises_at) {
        EXPECT_FALSE(outcome) << where << ": " << outcome->step << " threw " << outcome->error << ": "
                              << outcome->message << "; expected every step to succeed (" << c.note << ")";
        return;
    }
    ASSERT_TRUE(outcome) << where << ": every step succeeded; expected " << c.error << " at " << *c.raises_at;
    EXPECT_EQ(outcome->step, *c.raises_at) << where << ": " << outcome->error << ": " << outcome->message;
    EXPECT_EQ(outcome->error, c.error) << where << " at " << outcome->step << ": " << outcome->message;
    for (const std::string& words : c.message) {
        EXPECT_NE(outcome->message.find(words), std::string::npos)
            << where << ": '" << words << "' is not in the message '" << outcome->message << "'";
    }
}

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedCorpus, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<CorpusCase>& info) { return info.param.name; });

TEST(MalformedCorpusFile, ListsAtLeastFiftyCases) {
    EXPECT_EQ(load_problem(), "");
    EXPECT_GE(load_cases().size(), 50u);
}

}  // namespace
