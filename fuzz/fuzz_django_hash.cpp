// libFuzzer target: Django password hashes (src/core/password.h) --
// parse_django_hash, check_password, make_password_hash,
// harden_password_runtime, burn_password_time.
//
// Input layout: byte 0 is a flag byte; then a first line (up to '\n') and
// the password (everything after it).
//   bits 0-3  target_iterations = 1 + (bits 0-3), so at most 16
//   bit 4     0: the first line is an encoded hash, taken as it is;
//             1: the first line is a salt, and the encoded hash is built
//                from it: pbkdf2_sha256$<target>$<salt>$<base64 PBKDF2 of
//                the password>, so the Match path sees fuzzed salts
//   bit 5     also make_password_hash(password, target) and check it
//
// Hashes whose iteration count is above 1000 are parsed but not checked,
// to keep PBKDF2 from dominating the run time.
//
// Oracles (independent of the core's code: OpenSSL's EVP_EncodeBlock and
// PKCS5_PBKDF2_HMAC):
//  - parse_django_hash accepts exactly the strict form password.h
//    describes, and what it accepts re-encodes to the same text;
//  - check_password says Match exactly when PBKDF2 agrees, Mismatch for
//    "!" hashes and wrong passwords, Malformed for what does not parse, and
//    sets needs_rehash by Django's must_update rules.
#include <cstring>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "fuzz_common.h"
#include "password.h"

using namespace restauth;

namespace {

constexpr unsigned kMaxCheckedIterations = 1000;
constexpr size_t kSaltChars = 22;  // Django's salt length, password.cpp's kSaltChars

std::string b64(std::string_view raw)
{
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(&out[0]),
                            reinterpret_cast<const unsigned char *>(raw.data()),
                            static_cast<int>(raw.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

std::string pbkdf2(std::string_view password, std::string_view salt, unsigned iterations)
{
    // Empty views may have a NULL data(); OpenSSL wants a pointer.
    static const char empty[1] = {0};
    unsigned char key[32];
    FUZZ_CHECK(PKCS5_PBKDF2_HMAC(password.empty() ? empty : password.data(),
                                 static_cast<int>(password.size()),
                                 reinterpret_cast<const unsigned char *>(salt.empty() ? empty : salt.data()),
                                 static_cast<int>(salt.size()), static_cast<int>(iterations),
                                 EVP_sha256(), sizeof key, key) == 1);
    return std::string(reinterpret_cast<char *>(key), sizeof key);
}

struct RefHash {
    unsigned iterations = 0;
    std::string salt, key;
};

// The strict format, from password.h, parsed independently.
bool reference_parse(std::string_view s, RefHash &out)
{
    const std::string_view prefix = "pbkdf2_sha256$";
    if (s.substr(0, prefix.size()) != prefix) return false;
    s.remove_prefix(prefix.size());
    size_t d1 = s.find('$');
    if (d1 == std::string_view::npos) return false;
    std::string_view iters = s.substr(0, d1);
    s.remove_prefix(d1 + 1);
    size_t d2 = s.find('$');
    if (d2 == std::string_view::npos) return false;
    std::string_view salt = s.substr(0, d2), hash = s.substr(d2 + 1);

    if (iters.empty() || iters.size() > 9 || iters[0] < '1' || iters[0] > '9') return false;
    unsigned long v = 0;
    for (char c : iters) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned long>(c - '0');
    }
    if (v < 1 || v > kMaxPasswordIterations) return false;
    if (salt.empty()) return false;

    // 32 bytes are 44 base64 characters ending in one '='; canonical means
    // re-encoding the decoded bytes gives the same text back.
    if (hash.size() != 44) return false;
    unsigned char raw[33 + 3];
    int n = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char *>(hash.data()), 44);
    if (n != 33) return false;
    std::string key(reinterpret_cast<char *>(raw), 32);
    if (b64(key) != hash) return false;

    out.iterations = static_cast<unsigned>(v);
    out.salt.assign(salt);
    out.key = key;
    return true;
}

void check(std::string_view password, std::string_view encoded, unsigned target)
{
    DjangoHash parsed;
    bool ok = parse_django_hash(encoded, parsed);
    RefHash ref;
    bool ref_ok = reference_parse(encoded, ref);
    FUZZ_CHECK(ok == ref_ok);
    if (ok) {
        FUZZ_CHECK(parsed.iterations == ref.iterations);
        FUZZ_CHECK(parsed.salt == ref.salt);
        FUZZ_CHECK(parsed.hash == ref.key);
        std::string again = "pbkdf2_sha256$" + std::to_string(parsed.iterations) + "$" + parsed.salt +
                            "$" + b64(parsed.hash);
        FUZZ_CHECK(again == encoded);
        if (parsed.iterations > kMaxCheckedIterations) return;
    }

    bool rehash = true;
    PasswordCheck pc = check_password(password, encoded, target, &rehash);
    if (!encoded.empty() && encoded[0] == '!') {
        FUZZ_CHECK(pc == PasswordCheck::Mismatch);
        FUZZ_CHECK(!rehash);
        return;
    }
    if (!ok) {
        FUZZ_CHECK(pc == PasswordCheck::Malformed);
        FUZZ_CHECK(!rehash);
        return;
    }
    bool match = pbkdf2(password, ref.salt, ref.iterations) == ref.key;
    FUZZ_CHECK(pc == (match ? PasswordCheck::Match : PasswordCheck::Mismatch));
    if (match) {
        FUZZ_CHECK(rehash == (ref.iterations != target || ref.salt.size() < kSaltChars));
    } else {
        FUZZ_CHECK(!rehash);
    }
    // needs_rehash may be NULL.
    FUZZ_CHECK(check_password(password, encoded, target, nullptr) == pc);
    // Django's harden_runtime: burns target - iterations (at most 15 here).
    harden_password_runtime(password, encoded, target);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t flags = data[0];
    const unsigned target = 1 + (flags & 15);
    std::string_view rest = fuzz::view(data + 1, size - 1);
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    std::string_view password = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);

    if (flags & 0x10) {
        std::string encoded = "pbkdf2_sha256$" + std::to_string(target) + "$" + std::string(line) + "$" +
                              b64(pbkdf2(password, line, target));
        bool well_formed = !line.empty() && line.find('$') == std::string_view::npos;
        bool rehash = false;
        PasswordCheck pc = check_password(password, encoded, target, &rehash);
        FUZZ_CHECK(pc == (well_formed ? PasswordCheck::Match : PasswordCheck::Malformed));
        if (well_formed) FUZZ_CHECK(rehash == (line.size() < kSaltChars));
        check(password, encoded, target);
    } else {
        check(password, line, target);
    }

    if (flags & 0x20) {
        std::string made = make_password_hash(password, target);
        FUZZ_CHECK(!made.empty());
        DjangoHash h;
        FUZZ_CHECK(parse_django_hash(made, h));
        FUZZ_CHECK(h.iterations == target && h.salt.size() == kSaltChars);
        bool rehash = true;
        FUZZ_CHECK(check_password(password, made, target, &rehash) == PasswordCheck::Match);
        FUZZ_CHECK(!rehash);
        std::string other = std::string(password) + "x";
        FUZZ_CHECK(check_password(other, made, target, &rehash) == PasswordCheck::Mismatch);
        // Unusable and garbage hashes.
        FUZZ_CHECK(check_password(password, "!" + made, target, nullptr) == PasswordCheck::Mismatch);
        burn_password_time(password, target);
    }
    return 0;
}
