// probe_external / read_external: a location is opened only if it names a regular file inside the
// model folder. payload_to_raw: inline payload encodings decoded into raw little-endian bytes.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>

#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/scan.hpp"
#include "onnx_weightless/weights.hpp"
#include "proto_builder.hpp"

using namespace onnx_weightless;
namespace fs = std::filesystem;

namespace {

/// /tmp/owl-weights-XXXXXX/{model,outside}; removed afterwards.
class ExternalFiles : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/owl-weights-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr) << std::strerror(errno);
        root_ = pattern;
        model_dir_ = root_ + "/model";
        outside_dir_ = root_ + "/outside";
        fs::create_directory(model_dir_);
        fs::create_directory(outside_dir_);
        write(model_dir_ + "/w.bin", data_);
        write(outside_dir_ + "/secret.bin", "secret bytes");
    }
    void TearDown() override {
        if (!root_.empty()) fs::remove_all(root_);
    }

    static void write(const std::string& path, const std::string& bytes) {
        std::ofstream out(path, std::ios::binary);
        out << bytes;
        ASSERT_TRUE(out.good()) << path;
    }

    void expect_refused(const std::string& location, const std::string& reason_part = "") {
        SCOPED_TRACE("location '" + location + "'");
        const ExternalFileStatus status = probe_external(model_dir_, location);
        EXPECT_EQ(status.state, ExternalFileState::refused) << status.reason;
        EXPECT_FALSE(status.reason.empty());
        if (!reason_part.empty()) EXPECT_NE(status.reason.find(reason_part), std::string::npos) << status.reason;
        EXPECT_THROW(read_external(model_dir_, location, 0, std::nullopt), ExternalDataError);
    }

    std::string root_;
    std::string model_dir_;
    std::string outside_dir_;
    const std::string data_ = pb::filler(100);
};

}  // namespace

// ---- Present / missing ------------------------------------------------------------------------

TEST_F(ExternalFiles, PresentFileIsProbedWithItsSize) {
    const ExternalFileStatus status = probe_external(model_dir_, "w.bin");
    EXPECT_EQ(status.state, ExternalFileState::present) << status.reason;
    EXPECT_EQ(status.size, 100u);
}

TEST_F(ExternalFiles, PresentFileIsReadAtOffsetAndLength) {
    EXPECT_EQ(read_external(model_dir_, "w.bin", 10, 20), data_.substr(10, 20));
    EXPECT_EQ(read_external(model_dir_, "w.bin", 0, 100), data_);
    EXPECT_EQ(read_external(model_dir_, "w.bin", 100, 0), "");
}

TEST_F(ExternalFiles, MissingLengthReadsToTheEndOfTheFile) {
    EXPECT_EQ(read_external(model_dir_, "w.bin", 90, std::nullopt), data_.substr(90));
}

TEST_F(ExternalFiles, FileInASubfolderIsPresent) {
    fs::create_directory(model_dir_ + "/sub");
    write(model_dir_ + "/sub/x.bin", "abc");
    EXPECT_EQ(probe_external(model_dir_, "sub/x.bin").state, ExternalFileState::present);
    EXPECT_EQ(probe_external(model_dir_, "./sub/x.bin").state, ExternalFileState::present);
    EXPECT_EQ(read_external(model_dir_, "sub/x.bin", 1, 2), "bc");
}

TEST_F(ExternalFiles, RelativeSymlinkStayingInsideIsPresent) {
    fs::create_symlink("w.bin", model_dir_ + "/alias.bin");
    EXPECT_EQ(probe_external(model_dir_, "alias.bin").state, ExternalFileState::present);
    EXPECT_EQ(read_external(model_dir_, "alias.bin", 0, 4), data_.substr(0, 4));
}

TEST_F(ExternalFiles, MissingFileIsMissingAndReadThrows) {
    const ExternalFileStatus status = probe_external(model_dir_, "nope.bin");
    EXPECT_EQ(status.state, ExternalFileState::missing);
    EXPECT_FALSE(status.reason.empty());
    try {
        read_external(model_dir_, "nope.bin", 0, std::nullopt);
        ADD_FAILURE() << "read_external of a missing file did not throw";
    } catch (const ExternalDataError& e) {
        EXPECT_NE(std::string(e.what()).find("nope.bin"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
    }
}

// ---- Refused locations --------------------------------------------------------------------------

TEST_F(ExternalFiles, AbsoluteLocationIsRefused) {
    expect_refused(model_dir_ + "/w.bin", "absolute");
    expect_refused(outside_dir_ + "/secret.bin", "absolute");
}

TEST_F(ExternalFiles, DotDotLocationsAreRefused) {
    expect_refused("../outside/secret.bin", "..");
    expect_refused("a/../../outside/secret.bin", "..");
    expect_refused("..", "..");
    expect_refused("sub/..", "..");
}

TEST_F(ExternalFiles, EmptyLocationIsRefused) { expect_refused("", "empty"); }

TEST_F(ExternalFiles, SymlinkPointingOutsideIsRefused) {
    fs::create_symlink(outside_dir_ + "/secret.bin", model_dir_ + "/abs_link.bin");
    fs::create_symlink("../outside/secret.bin", model_dir_ + "/rel_link.bin");
    fs::create_directory_symlink(outside_dir_, model_dir_ + "/dir_link");
    expect_refused("abs_link.bin");
    expect_refused("rel_link.bin");
    expect_refused("dir_link/secret.bin");
}

// ---- Model files that are symlinks (the Hugging Face hub cache) -----------------------------------

/// The hub cache: snapshots/<rev>/{model.onnx,model.onnx_data} are relative symlinks into blobs/.
class HubCache : public ExternalFiles {
protected:
    void SetUp() override {
        ExternalFiles::SetUp();
        repo_ = root_ + "/models--org--name";
        snapshot_ = repo_ + "/snapshots/0123abcd";
        fs::create_directories(repo_ + "/blobs");
        fs::create_directories(snapshot_);
        write(repo_ + "/blobs/aaaa", "model bytes");
        write(repo_ + "/blobs/bbbb", data_);
        fs::create_symlink("../../blobs/aaaa", snapshot_ + "/model.onnx");
        fs::create_symlink("../../blobs/bbbb", snapshot_ + "/model.onnx_data");
    }
    std::string repo_;
    std::string snapshot_;
};

TEST_F(HubCache, DataSymlinkIntoTheModelFilesRealFolderIsPresent) {
    const DataFolder folder = DataFolder::of_model(snapshot_ + "/model.onnx");
    EXPECT_EQ(folder.dir(), snapshot_);
    EXPECT_EQ(folder.model_real_dir(), fs::canonical(repo_ + "/blobs").string());
    const ExternalFileStatus status = probe_external(folder, "model.onnx_data");
    EXPECT_EQ(status.state, ExternalFileState::present) << status.reason;
    EXPECT_EQ(read_external(folder, "model.onnx_data", 10, 5), data_.substr(10, 5));
}

TEST_F(HubCache, OnlyTheModelFilesRealFolderIsAdded) {
    // The snapshot folder alone (no model file known) does not reach blobs/.
    EXPECT_EQ(probe_external(snapshot_, "model.onnx_data").state, ExternalFileState::refused);
    const DataFolder folder = DataFolder::of_model(snapshot_ + "/model.onnx");
    // Escapes from the snapshot that do not land in blobs/ stay refused.
    fs::create_symlink("../../../outside/secret.bin", snapshot_ + "/escape.bin");
    fs::create_symlink(outside_dir_ + "/secret.bin", snapshot_ + "/absolute.bin");
    fs::create_symlink("../../blobs/../../outside/secret.bin", snapshot_ + "/through_blobs.bin");
    for (const std::string location : {"escape.bin", "absolute.bin", "through_blobs.bin"}) {
        SCOPED_TRACE(location);
        const ExternalFileStatus status = probe_external(folder, location);
        EXPECT_EQ(status.state, ExternalFileState::refused);
        EXPECT_NE(status.reason.find("outside the model folder"), std::string::npos) << status.reason;
        EXPECT_NE(status.reason.find("real folder"), std::string::npos) << status.reason;
        EXPECT_THROW(read_external(folder, location, 0, std::nullopt), ExternalDataError);
    }
}

TEST_F(HubCache, LocationRulesStillApply) {
    const DataFolder folder = DataFolder::of_model(snapshot_ + "/model.onnx");
    EXPECT_EQ(probe_external(folder, "../../blobs/bbbb").state, ExternalFileState::refused);
    EXPECT_EQ(probe_external(folder, fs::canonical(repo_ + "/blobs/bbbb").string()).state, ExternalFileState::refused);
    fs::create_hard_link(repo_ + "/blobs/bbbb", repo_ + "/blobs/cccc");
    const ExternalFileStatus status = probe_external(folder, "model.onnx_data");
    EXPECT_EQ(status.state, ExternalFileState::refused);
    EXPECT_NE(status.reason.find("hard link"), std::string::npos) << status.reason;
}

TEST_F(ExternalFiles, AbsoluteSymlinkStayingInsideIsPresent) {
    fs::create_symlink(fs::canonical(model_dir_ + "/w.bin"), model_dir_ + "/abs_alias.bin");
    EXPECT_EQ(probe_external(model_dir_, "abs_alias.bin").state, ExternalFileState::present);
    EXPECT_EQ(read_external(model_dir_, "abs_alias.bin", 0, 3), data_.substr(0, 3));
}

TEST_F(ExternalFiles, DanglingSymlinkIsMissing) {
    fs::create_symlink("nowhere.bin", model_dir_ + "/dangling.bin");
    EXPECT_EQ(probe_external(model_dir_, "dangling.bin").state, ExternalFileState::missing);
}

TEST(DataFolder, EmptyFolderIsRefusedAndRelativeFoldersAreMadeAbsolute) {
    EXPECT_THROW(DataFolder(""), std::invalid_argument);
    const DataFolder relative("some/folder/");
    EXPECT_EQ(relative.dir(), (fs::current_path() / "some/folder").string());
    const DataFolder of_bare_name = DataFolder::of_model("model.onnx");
    EXPECT_EQ(of_bare_name.dir(), fs::current_path().string());
    EXPECT_EQ(of_bare_name.model_real_dir(), "");
}

TEST_F(ExternalFiles, HardLinkIsRefused) {
    fs::create_hard_link(outside_dir_ + "/secret.bin", model_dir_ + "/hard.bin");
    expect_refused("hard.bin", "hard link");
}

TEST_F(ExternalFiles, DirectoryIsRefused) {
    fs::create_directory(model_dir_ + "/d");
    expect_refused("d", "regular");
    expect_refused(".", "regular");
}

// A FIFO is not a regular file: refused, and probing it must not wait for a writer.
TEST_F(ExternalFiles, FifoIsRefusedWithoutBlocking) {
    const std::string fifo = model_dir_ + "/pipe.bin";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
    auto probe = std::async(std::launch::async, [&] { return probe_external(model_dir_, "pipe.bin"); });
    const bool finished = probe.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
    if (!finished) {
        // Unblock the open(2) stuck in the probe so that the test can end.
        const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
        if (writer >= 0) ::close(writer);
    }
    const ExternalFileStatus status = probe.get();
    EXPECT_TRUE(finished) << "probe_external blocked on a FIFO named by external_data";
    EXPECT_EQ(status.state, ExternalFileState::refused);
}

// ---- Bounds -------------------------------------------------------------------------------------

TEST_F(ExternalFiles, RangeBeyondTheFileIsExternalDataError) {
    EXPECT_THROW(read_external(model_dir_, "w.bin", 90, 11), ExternalDataError);
    EXPECT_THROW(read_external(model_dir_, "w.bin", 101, std::nullopt), ExternalDataError);
    EXPECT_THROW(read_external(model_dir_, "w.bin", 101, 0), ExternalDataError);
    EXPECT_THROW(read_external(model_dir_, "w.bin", UINT64_MAX, 2), ExternalDataError);
    EXPECT_THROW(read_external(model_dir_, "w.bin", 1, UINT64_MAX), ExternalDataError);
}

// ---- payload_to_raw ------------------------------------------------------------------------------

namespace {

std::string le(uint64_t value, int bytes) {
    std::string out;
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return out;
}

}  // namespace

TEST(PayloadToRaw, PackedInt64VarintsBecomeEightByteLittleEndian) {
    const std::string raw = payload_to_raw(PayloadField::int64_data, pb::INT64, pb::packed_varints({1, 300, -1}), true, 3);
    EXPECT_EQ(raw, le(1, 8) + le(300, 8) + le(UINT64_MAX, 8));
}

TEST(PayloadToRaw, Int32DataForFloat16GivesTwoBytesPerValue) {
    const std::string raw = payload_to_raw(PayloadField::int32_data, pb::FLOAT16, pb::packed_varints({0x3c00, 0xc000, 0}), true, 3);
    EXPECT_EQ(raw, std::string("\x00\x3c\x00\xc0\x00\x00", 6));
}

TEST(PayloadToRaw, Int32DataForInt8NarrowsNegativeValues) {
    const std::string raw = payload_to_raw(PayloadField::int32_data, pb::INT8, pb::packed_varints({-1, 127, -128}), true, 3);
    EXPECT_EQ(raw, std::string("\xff\x7f\x80", 3));
}

TEST(PayloadToRaw, Int32DataForInt4HoldsOnePackedByteEach) {
    // INT4 = 22: three elements take two bytes; each int32_data value is one byte of pairs.
    const std::string raw = payload_to_raw(PayloadField::int32_data, 22, pb::packed_varints({0x21, 0x03}), true, 3);
    EXPECT_EQ(raw, std::string("\x21\x03", 2));
}

TEST(PayloadToRaw, Uint64DataForUint32GivesFourBytesPerValue) {
    const std::string raw = payload_to_raw(PayloadField::uint64_data, 12, pb::packed_varints({1, 0xffffffff}), true, 2);
    EXPECT_EQ(raw, le(1, 4) + le(0xffffffff, 4));
}

TEST(PayloadToRaw, UnpackedFloatDataBecomesPackedLittleEndian) {
    const std::string fb = pb::float_bytes({1.5f, -2.0f});
    const std::string fields = pb::tag(4, 5) + fb.substr(0, 4) + pb::tag(4, 5) + fb.substr(4, 4);
    EXPECT_EQ(payload_to_raw(PayloadField::float_data, pb::FLOAT, fields, false, 2), fb);
}

TEST(PayloadToRaw, UnpackedInt64DataIsDecodedFieldByField) {
    const std::string fields = pb::field_varint(7, 5) + pb::field_varint(7, 70000);
    EXPECT_EQ(payload_to_raw(PayloadField::int64_data, pb::INT64, fields, false, 2), le(5, 8) + le(70000, 8));
}

TEST(PayloadToRaw, UnpackedDoubleDataIsDecodedFieldByField) {
    const std::string fields = pb::field_fixed64(10, 0x3ff0000000000000ULL) + pb::field_fixed64(10, 42);
    EXPECT_EQ(payload_to_raw(PayloadField::double_data, pb::DOUBLE, fields, false, 2),
              le(0x3ff0000000000000ULL, 8) + le(42, 8));
}

TEST(PayloadToRaw, RawDataAndPackedFloatDataPassThrough) {
    const std::string bytes = pb::filler(16);
    EXPECT_EQ(payload_to_raw(PayloadField::raw_data, pb::FLOAT, bytes, true, 4), bytes);
    EXPECT_EQ(payload_to_raw(PayloadField::float_data, pb::FLOAT, bytes, true, 4), bytes);
    EXPECT_EQ(payload_to_raw(PayloadField::double_data, pb::DOUBLE, bytes, true, 2), bytes);
}

TEST(PayloadToRaw, ComplexFloatDataHoldsTwoNumbersPerElement) {
    const std::string fb = pb::float_bytes({1, 2, 3, 4});
    EXPECT_EQ(payload_to_raw(PayloadField::float_data, 14, fb, true, 2), fb);  // COMPLEX64
}

TEST(PayloadToRaw, CountMismatchIsFormatError) {
    EXPECT_THROW(payload_to_raw(PayloadField::int64_data, pb::INT64, pb::packed_varints({1, 2}), true, 3), FormatError);
    EXPECT_THROW(payload_to_raw(PayloadField::int32_data, pb::FLOAT16, pb::packed_varints({1, 2, 3, 4}), true, 3), FormatError);
    EXPECT_THROW(payload_to_raw(PayloadField::raw_data, pb::FLOAT, pb::filler(8), true, 3), FormatError);
    EXPECT_THROW(payload_to_raw(PayloadField::float_data, pb::FLOAT, pb::filler(8), true, 3), FormatError);
    const std::string one_field = pb::tag(4, 5) + pb::filler(4);
    EXPECT_THROW(payload_to_raw(PayloadField::float_data, pb::FLOAT, one_field, false, 2), FormatError);
    try {
        payload_to_raw(PayloadField::int64_data, pb::INT64, pb::packed_varints({1, 2}), true, 3);
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("int64_data"), std::string::npos) << e.what();
    }
}

TEST(PayloadToRaw, MalformedVarintIsFormatError) {
    EXPECT_THROW(payload_to_raw(PayloadField::int64_data, pb::INT64, "\x80", true, 1), FormatError);
    EXPECT_THROW(payload_to_raw(PayloadField::int64_data, pb::INT64, std::string(11, '\xff'), true, 1), FormatError);
}

TEST(PayloadToRaw, StringHasNoRawFormAndIsFormatError) {
    EXPECT_THROW(payload_to_raw(PayloadField::string_data, pb::STRING, pb::field_bytes(6, "a"), false, 1), FormatError);
}

// Protobuf allows the elements of a repeated field to be interleaved with other fields. The
// payload of such an unpacked tensor must still decode to its values, or be refused with a
// FormatError; never to other bytes, never a crash. Run in a child process: a crash (a failed
// assertion inside the decoder) fails this test only.
TEST(PayloadToRaw, UnpackedPayloadInterleavedWithOtherFieldsDecodesOrIsRejected) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    pb::Tensor spec;
    spec.name = "split";
    spec.dims = {2};
    spec.float_data = {1.5f};
    spec.float_packed = false;
    spec.extra = pb::field_fixed32(4, 0x40200000);  // 2.5f, after the name field
    const std::string bytes = pb::model_with_initializers({pb::tensor(spec)});
    const auto decode = [&]() -> int {
        try {
            const TensorInfo t = pb::find_tensor(pb::scan_bytes(bytes), "split");
            const std::string payload = bytes.substr(static_cast<size_t>(t.payload.begin), static_cast<size_t>(t.payload.size()));
            const std::string raw = payload_to_raw(t.payload_field, t.data_type, payload, t.packed, t.element_count);
            if (raw == pb::float_bytes({1.5f, 2.5f})) return 0;
            std::fprintf(stderr, "decoded to %zu wrong bytes\n", raw.size());
            return 1;
        } catch (const FormatError&) {
            return 0;
        }
    };
    EXPECT_EXIT(std::exit(decode()), ::testing::ExitedWithCode(0), "");
}
