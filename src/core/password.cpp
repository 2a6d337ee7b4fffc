#include "password.h"

#include <climits>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "encoding.h"
#include "ossl.h"

namespace restauth {

namespace {

constexpr std::string_view kAlgorithm = "pbkdf2_sha256";
constexpr size_t kKeyLen = 32;
constexpr std::string_view kSaltAlphabet =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
// ceil(128 / log2(62)): Django's salt_entropy of 128 bits in this alphabet.
constexpr size_t kSaltChars = 22;

// Any fixed salt will do: its length does not change the cost, which is
// dominated by the iterations.
constexpr std::string_view kBurnSalt = "restauthTimingBurnSalt";

// Owns a derived key and wipes it, however the function exits.
struct DerivedKey {
    unsigned char bytes[kKeyLen];
    DerivedKey() = default;
    DerivedKey(const DerivedKey &) = delete;
    DerivedKey &operator=(const DerivedKey &) = delete;
    ~DerivedKey() { OPENSSL_cleanse(bytes, sizeof bytes); }
    std::string_view view() const { return {reinterpret_cast<const char *>(bytes), sizeof bytes}; }
};

bool pbkdf2_sha256(std::string_view password, std::string_view salt, unsigned iterations,
                   DerivedKey &out) noexcept
{
    if (iterations == 0 || iterations > kMaxPasswordIterations) return false;
    if (password.size() > INT_MAX || salt.size() > INT_MAX) return false;
    // An empty password is legal in Django; keep the pointer non-NULL so
    // OpenSSL sees "empty", not "absent".
    static const char empty[1] = {0};
    const char *pw = password.empty() ? empty : password.data();
    const auto *s = reinterpret_cast<const unsigned char *>(salt.empty() ? empty : salt.data());
    OsslErrorScope errors;
    return PKCS5_PBKDF2_HMAC(pw, static_cast<int>(password.size()), s,
                             static_cast<int>(salt.size()), static_cast<int>(iterations),
                             EVP_sha256(), static_cast<int>(kKeyLen), out.bytes) == 1;
}

bool parse_iterations(std::string_view s, unsigned &out)
{
    // Nine digits cover the cap and cannot overflow an unsigned; a leading
    // zero would give one count two spellings.
    if (s.empty() || s.size() > 9 || s[0] == '0') return false;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > kMaxPasswordIterations) return false;
    out = v;
    return true;
}

bool make_salt(std::string &salt)
{
    salt.clear();
    unsigned char buf[32];
    while (salt.size() < kSaltChars) {
        if (!random_bytes(buf, sizeof buf)) return false;
        for (unsigned char b : buf) {
            // 248 = 4 * 62: dropping 248..255 leaves b % 62 uniform.
            if (b >= 248) continue;
            salt += kSaltAlphabet[b % kSaltAlphabet.size()];
            if (salt.size() == kSaltChars) break;
        }
    }
    return true;
}

}  // namespace

bool parse_django_hash(std::string_view encoded, DjangoHash &out) noexcept
{
    // Django splits on the first three '$' and leaves the rest as the hash;
    // base64 has no '$', so a fifth field fails the decode below.
    size_t a = encoded.find('$');
    if (a == std::string_view::npos) return false;
    size_t b = encoded.find('$', a + 1);
    if (b == std::string_view::npos) return false;
    size_t c = encoded.find('$', b + 1);
    if (c == std::string_view::npos) return false;

    std::string_view algorithm = encoded.substr(0, a);
    std::string_view iterations = encoded.substr(a + 1, b - a - 1);
    std::string_view salt = encoded.substr(b + 1, c - b - 1);
    std::string_view hash = encoded.substr(c + 1);

    if (algorithm != kAlgorithm) return false;
    unsigned iters = 0;
    if (!parse_iterations(iterations, iters)) return false;
    if (salt.empty()) return false;
    try {
        std::string raw;
        if (!base64_decode(hash, raw) || raw.size() != kKeyLen) return false;
        out.iterations = iters;
        out.salt.assign(salt.data(), salt.size());
        out.hash.swap(raw);
        return true;
    } catch (...) {
        return false;
    }
}

std::string make_password_hash(std::string_view password, unsigned iterations) noexcept
{
    if (iterations == 0 || iterations > kMaxPasswordIterations) return {};
    try {
        std::string salt;
        if (!make_salt(salt)) return {};
        DerivedKey dk;
        if (!pbkdf2_sha256(password, salt, iterations, dk)) return {};
        std::string b64 = base64_encode(dk.view());
        if (b64.empty()) return {};
        std::string encoded(kAlgorithm);
        encoded += '$';
        encoded += std::to_string(iterations);
        encoded += '$';
        encoded += salt;
        encoded += '$';
        encoded += b64;
        return encoded;
    } catch (...) {
        return {};
    }
}

PasswordCheck check_password(std::string_view password, std::string_view encoded,
                             unsigned target_iterations, bool *needs_rehash) noexcept
{
    if (needs_rehash) *needs_rehash = false;

    if (!encoded.empty() && encoded[0] == '!') {
        burn_password_time(password, target_iterations);
        return PasswordCheck::Mismatch;
    }
    DjangoHash stored;
    if (!parse_django_hash(encoded, stored)) {
        burn_password_time(password, target_iterations);
        return PasswordCheck::Malformed;
    }
    DerivedKey dk;
    if (!pbkdf2_sha256(password, stored.salt, stored.iterations, dk)) {
        return PasswordCheck::Malformed;
    }
    bool match = constant_time_equal(dk.view(), stored.hash);
    OPENSSL_cleanse(&stored.hash[0], stored.hash.size());
    if (!match) return PasswordCheck::Mismatch;

    if (needs_rehash) {
        *needs_rehash = stored.iterations != target_iterations || stored.salt.size() < kSaltChars;
    }
    return PasswordCheck::Match;
}

void harden_password_runtime(std::string_view password, std::string_view encoded,
                             unsigned target_iterations) noexcept
{
    DjangoHash parsed;
    if (parse_django_hash(encoded, parsed) && parsed.iterations < target_iterations) {
        burn_password_time(password, target_iterations - parsed.iterations);
    }
}

void burn_password_time(std::string_view password, unsigned iterations) noexcept
{
    if (iterations == 0) return;
    if (iterations > kMaxPasswordIterations) iterations = kMaxPasswordIterations;
    // The result is discarded, but PKCS5_PBKDF2_HMAC is an external call
    // with side effects on `dk`, so the compiler cannot elide the work.
    DerivedKey dk;
    (void)pbkdf2_sha256(password, kBurnSalt, iterations, dk);
}

}  // namespace restauth
