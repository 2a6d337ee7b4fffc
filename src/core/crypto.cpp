#include "crypto.h"

#include <algorithm>
#include <climits>
#include <cstdint>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "encoding.h"
#include "ossl.h"

namespace restauth {

namespace {

// OpenSSL treats a NULL buffer as "not given" even with a zero length (an
// HMAC without a key is an error, not an empty key), and string_view::data()
// of an empty view may be NULL.
const unsigned char *bytes_or_empty(std::string_view s)
{
    static const unsigned char empty[1] = {0};
    return s.empty() ? empty : reinterpret_cast<const unsigned char *>(s.data());
}

const EVP_MD *evp_md(Digest d)
{
    switch (d) {
    case Digest::Sha256: return EVP_sha256();
    case Digest::Sha384: return EVP_sha384();
    case Digest::Sha512: return EVP_sha512();
    }
    return nullptr;
}

}  // namespace

bool random_bytes(unsigned char *buf, size_t len) noexcept
{
    OsslErrorScope errors;
    while (len > 0) {
        int chunk = static_cast<int>(std::min<size_t>(len, INT_MAX));
        if (RAND_bytes(buf, chunk) != 1) return false;
        buf += chunk;
        len -= static_cast<size_t>(chunk);
    }
    return true;
}

std::string random_hex(size_t nbytes) noexcept
{
    if (nbytes == 0 || nbytes > SIZE_MAX / 2) return {};
    try {
        std::string raw(nbytes, '\0');
        auto *p = reinterpret_cast<unsigned char *>(&raw[0]);
        std::string hex;
        if (random_bytes(p, nbytes)) hex = hex_encode(raw);
        OPENSSL_cleanse(p, nbytes);
        return hex;
    } catch (...) {
        return {};
    }
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept
{
    // The common prefix is compared in full even when the lengths differ,
    // so a length mismatch costs the same as a content mismatch.
    size_t n = std::min(a.size(), b.size());
    int diff = n ? CRYPTO_memcmp(a.data(), b.data(), n) : 0;
    return (a.size() == b.size()) & (diff == 0);
}

size_t digest_size(Digest d) noexcept
{
    switch (d) {
    case Digest::Sha256: return 32;
    case Digest::Sha384: return 48;
    case Digest::Sha512: return 64;
    }
    return 0;
}

std::string sha256_hex(std::string_view data) noexcept
{
    OsslErrorScope errors;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(bytes_or_empty(data), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
        return {};
    }
    return hex_encode(std::string_view(reinterpret_cast<const char *>(md), len));
}

std::string hmac(Digest d, std::string_view key, std::string_view data) noexcept
{
    if (key.size() > INT_MAX) return {};
    const EVP_MD *md = evp_md(d);
    if (md == nullptr) return {};
    OsslErrorScope errors;
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(md, bytes_or_empty(key), static_cast<int>(key.size()), bytes_or_empty(data),
             data.size(), out, &len) == nullptr) {
        return {};
    }
    try {
        std::string mac(reinterpret_cast<const char *>(out), len);
        OPENSSL_cleanse(out, sizeof out);
        return mac;
    } catch (...) {
        OPENSSL_cleanse(out, sizeof out);
        return {};
    }
}

std::string hmac_sha256(std::string_view key, std::string_view data) noexcept
{
    return hmac(Digest::Sha256, key, data);
}

}  // namespace restauth
