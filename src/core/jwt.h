// JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515), signed and
// verified strictly.
//
// Verification trusts nothing in the token to choose how it is checked: the
// algorithm of every key is fixed when the key is added, a token is only
// ever checked with keys of the algorithm it names, and header parameters
// that point at other keys (jku, jwk, x5u, x5c) are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json_ptr.h"
#include "token_cache.h"

namespace restauth {

enum class JwtAlg { HS256, HS384, HS512, RS256, ES256, EdDSA };

// "HS256", ..., "EdDSA".
const char *jwt_alg_name(JwtAlg alg) noexcept;

// Exact, case-sensitive JWA name; nullopt for anything else, "none"
// included.
std::optional<JwtAlg> parse_jwt_alg(std::string_view name) noexcept;

enum class JwtStatus {
    Ok,
    Malformed,        // not three non-empty-headed parts; alg missing or not a string; kid not a string
    TooLarge,         // longer than max_len
    BadBase64,        // a part is not strict unpadded base64url
    BadJson,          // header or payload not a JSON object, or not strict UTF-8 JSON
    DuplicateMember,  // a member name appears twice in one object
    AlgNone,          // "alg": "none" in any letter case
    AlgUnsupported,   // an alg we do not implement
    AlgMismatch,      // no key of the token's alg (or the kid's key has another alg)
    UnknownKid,       // kid names no key
    UnsupportedCrit,  // a "crit" header: we understand no extensions
    BadSignature,
    BadClaimType,     // exp, nbf or iat present but not a finite number
    Expired,
    NotYetValid,
    InternalError,    // out of memory or an OpenSSL failure
};

// Stable snake_case name for logs, e.g. "bad_signature".
const char *jwt_status_name(JwtStatus status) noexcept;

// The verdict on exp and nbf at `now`: Expired once now >= exp + leeway,
// NotYetValid while nbf > now + leeway (a negative leeway counts as 0),
// else Ok.
JwtStatus time_verdict(const TimeClaims &time, int64_t now, int64_t leeway) noexcept;

// The signing key and the verification keys of one configuration.
//
// Built at configuration time, then shared read-only: every const member
// function may be called concurrently from any number of threads.  (The
// cache of verify_cached serves one thread and is bypassed on the others.)
class KeySet {
public:
    KeySet() noexcept;
    ~KeySet();
    KeySet(KeySet &&) noexcept;
    KeySet &operator=(KeySet &&) noexcept;
    KeySet(const KeySet &) = delete;
    KeySet &operator=(const KeySet &) = delete;

    // material: for HS256/384/512, the secret itself, at least as many
    // bytes as the hash output (32/48/64); for RS256 (2048 bits or more),
    // ES256 (P-256) and EdDSA (Ed25519), an unencrypted PEM private key
    // (PKCS#8 or traditional), or a public key (SubjectPublicKeyInfo) for
    // a verify-only key such as a retired one kept during rotation.
    //
    // kid: empty for none, else 1..256 printable ASCII characters, unique
    // within the set.
    //
    // The first key added signs, so it must be a secret or a private key.
    // On failure returns false, adds nothing, and says why in `error`.
    bool add_key(JwtAlg alg, std::string_view material, std::string_view kid, std::string &error);
    // The same with the algorithm by name, as restauth_jwt_key gives it.
    bool add_key(std::string_view alg, std::string_view material, std::string_view kid, std::string &error);

    size_t size() const noexcept;

    // The public keys as an RFC 7517 JWK Set: {"keys":[...]}, each with
    // kty, its curve or modulus fields, alg, use "sig", and kid when set.
    // HMAC secrets never appear.  "" on failure.
    std::string jwks_json() const noexcept;

    // Signs claims_json (which must be a JSON object without duplicate
    // members; its bytes are used as given) with the first key.  The header
    // is {"alg":...,"typ":"JWT"} plus "kid" when the key has one.  "" on
    // failure or when there is no key.
    std::string sign(std::string_view claims_json) const noexcept;

    // Checks, in this order: size, shape, header, key choice, signature,
    // then the payload, which is only parsed once the signature holds.
    //
    // exp, nbf and iat are optional, but when present must be numbers.
    // The token is rejected as Expired once now >= exp + leeway, and as
    // NotYetValid while nbf > now + leeway; a negative leeway counts as 0.
    // Any other claim (iss, aud, sub, ...) is the caller's to check.
    //
    // On Ok, claims_out owns the payload object; otherwise it is reset.
    JwtStatus verify(std::string_view token, int64_t now, int64_t leeway, JsonPtr &claims_out,
                     size_t max_len = 8192) const noexcept;

    // verify, remembering the tokens that held (token_cache.h): a token
    // seen before is found by its bytes and only its exp and nbf are
    // checked again, with this now and leeway.  Same verdicts as verify.
    // On Ok, out holds the token and its claims (shared with the cache,
    // read-only); otherwise it is reset.
    JwtStatus verify_cached(std::string_view token, int64_t now, int64_t leeway,
                            std::shared_ptr<const VerifiedJwt> &out, size_t max_len = 8192) const noexcept;

    // Tokens in verify_cached's cache (0 before its first use).
    size_t cached_tokens() const noexcept;

    // A secret for another purpose, derived from the signing (first) key's
    // material as given to add_key: HMAC-SHA256 with key
    // HMAC-SHA256(key = material, "restauth derived secrets") over label.
    // 32 raw bytes; "" when there is no key.  Servers sharing the key file
    // derive the same secret; a new signing key derives another.
    std::string derived_secret(std::string_view label) const noexcept;

private:
    struct Key;
    // Everything verify checks but the size and the time: shape, header,
    // key, signature, payload, and that exp/nbf/iat are numbers.
    JwtStatus check(std::string_view token, JsonPtr &claims, TimeClaims &time) const;

    std::vector<std::unique_ptr<Key>> keys_;
    mutable std::unique_ptr<TokenCache> cache_;
    std::string seed_;  // derived_secret's key, from the first key
};

}  // namespace restauth
