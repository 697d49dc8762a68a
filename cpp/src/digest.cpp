#include "onnx_weightless/digest.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include "onnx_weightless/errors.hpp"
#include "onnx_weightless/weights.hpp"

namespace onnx_weightless {
namespace {

constexpr size_t kChunk = 1 << 20;

EVP_MD_CTX* ctx(void* p) { return static_cast<EVP_MD_CTX*>(p); }

}  // namespace

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
    if (context_ == nullptr || EVP_DigestInit_ex(ctx(context_), EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 is unavailable in this OpenSSL");
    }
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx(context_)); }

void Sha256::update(std::string_view bytes) { EVP_DigestUpdate(ctx(context_), bytes.data(), bytes.size()); }

std::string Sha256::hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx(context_), digest, &size);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

std::optional<std::string> tensor_sha256(ByteSource& model, const TensorInfo& tensor, const DataFolder& folder) {
    Sha256 hash;
    if (tensor.storage == Storage::inline_data) {
        std::string buffer(static_cast<size_t>(std::min<uint64_t>(kChunk, tensor.payload.size())), '\0');
        for (uint64_t at = tensor.payload.begin; at < tensor.payload.end;) {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), tensor.payload.end - at));
            model.read_at(at, buffer.data(), n);
            hash.update(std::string_view(buffer.data(), n));
            at += n;
        }
        return hash.hex_digest();
    }
    if (tensor.storage != Storage::external) return std::nullopt;
    try {
        const std::optional<uint64_t> length = tensor.external_length() ? tensor.external_length() : tensor.byte_size;
        read_external_chunks(folder, tensor.location(), tensor.external_offset().value_or(0), length, kChunk,
                             [&](std::string_view piece) { hash.update(piece); });
    } catch (const ExternalDataError&) {
        return std::nullopt;
    } catch (const FormatError&) {
        return std::nullopt;
    }
    return hash.hex_digest();
}

}  // namespace onnx_weightless
