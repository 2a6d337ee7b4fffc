// Small cryptographic primitives over OpenSSL.  All are thread-safe and
// none throws; failures are reported through the return value.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace restauth {

// Fills buf from OpenSSL's CSPRNG.  False (buf contents unspecified) if the
// generator is not seeded or fails; callers must not fall back to anything.
bool random_bytes(unsigned char *buf, size_t len) noexcept;

// nbytes random bytes as 2 * nbytes lower-case hex characters; "" on
// failure (or for nbytes == 0).
std::string random_hex(size_t nbytes) noexcept;

// True when a and b hold the same bytes.  The time taken depends on the
// lengths only: never on where the first difference is, and a length
// mismatch does not end the comparison early.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

enum class Digest { Sha256, Sha384, Sha512 };

// Output size in bytes: 32, 48 or 64.
size_t digest_size(Digest d) noexcept;

// SHA-256 of data as 64 lower-case hex characters; "" on failure.
std::string sha256_hex(std::string_view data) noexcept;

// HMAC of data under key, raw bytes (digest_size(d) of them); "" on failure.
std::string hmac(Digest d, std::string_view key, std::string_view data) noexcept;

// hmac(Digest::Sha256, key, data): 32 raw bytes, "" on failure.
std::string hmac_sha256(std::string_view key, std::string_view data) noexcept;

}  // namespace restauth
