// Django-compatible password hashes (PBKDF2-HMAC-SHA256):
//
//     pbkdf2_sha256$<iterations>$<salt>$<base64 of the 32-byte key>
//
// so users can move between Django and this module without a reset.  An
// encoded value starting with '!' is Django's "unusable password": it never
// matches.
//
// Everything here is CPU-heavy, meant for the thread pool, thread-safe,
// free of global state, and does not throw.
#pragma once

#include <string>
#include <string_view>

namespace restauth {

// The cap keeps a corrupt or hostile stored hash from pinning a pool thread
// for minutes; Django's current default is well below it.
constexpr unsigned kMaxPasswordIterations = 100000000;

struct DjangoHash {
    unsigned iterations = 0;
    std::string salt;
    std::string hash;  // the raw 32-byte derived key
};

// Strict: algorithm exactly "pbkdf2_sha256"; iterations a decimal in
// 1..kMaxPasswordIterations without sign or leading zeros; salt non-empty and
// without '$'; hash canonical padded base64 of exactly 32 bytes.
bool parse_django_hash(std::string_view encoded, DjangoHash &out) noexcept;

// A new hash with a fresh 22-character [a-zA-Z0-9] salt (Django's choice:
// at least 128 bits).  "" if iterations is 0 or above the cap, or on an
// OpenSSL or allocation failure.
std::string make_password_hash(std::string_view password, unsigned iterations) noexcept;

enum class PasswordCheck {
    Match,
    Mismatch,   // wrong password, or an unusable ('!') hash
    Malformed,  // the stored value does not parse (or PBKDF2 itself failed)
};

// Compares in constant time.  Every outcome costs at least one PBKDF2 run:
// unusable and malformed hashes burn target_iterations, so an attacker
// cannot tell those accounts apart by timing.
//
// *needs_rehash (may be NULL) is set only on Match, when the stored hash
// should be replaced by make_password_hash(password, target_iterations):
// its iteration count differs from target_iterations, or its salt is
// shorter than 22 characters (Django's must_update rules).
//
// target_iterations must be within 1..kMaxPasswordIterations.
PasswordCheck check_password(std::string_view password, std::string_view encoded,
                             unsigned target_iterations, bool *needs_rehash) noexcept;

// Runs a PBKDF2 of the same cost as a real check and discards it: call it
// for unknown users so that "no such user" takes as long as "wrong
// password".  iterations above the cap are clamped; 0 does nothing.
void burn_password_time(std::string_view password, unsigned iterations) noexcept;

// Django's harden_runtime(): after checking against a hash with fewer
// iterations than the target, burn the difference, so a wrong password for
// a not-yet-upgraded hash costs what an unknown user costs.
void harden_password_runtime(std::string_view password, std::string_view encoded,
                             unsigned target_iterations) noexcept;

}  // namespace restauth
