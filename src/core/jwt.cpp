#include "jwt.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "encoding.h"
#include "json.h"
#include "ossl.h"

namespace restauth {

namespace {

// ---- algorithms -----------------------------------------------------------

enum class KeyKind { Hmac, Rsa, Ec, Ed };

KeyKind kind_of(JwtAlg alg)
{
    switch (alg) {
    case JwtAlg::HS256:
    case JwtAlg::HS384:
    case JwtAlg::HS512: return KeyKind::Hmac;
    case JwtAlg::RS256: return KeyKind::Rsa;
    case JwtAlg::ES256: return KeyKind::Ec;
    case JwtAlg::EdDSA: return KeyKind::Ed;
    }
    return KeyKind::Hmac;
}

Digest hmac_digest(JwtAlg alg)
{
    switch (alg) {
    case JwtAlg::HS384: return Digest::Sha384;
    case JwtAlg::HS512: return Digest::Sha512;
    default: return Digest::Sha256;
    }
}

const char *hmac_digest_name(JwtAlg alg)
{
    switch (alg) {
    case JwtAlg::HS384: return "SHA384";
    case JwtAlg::HS512: return "SHA512";
    default: return "SHA256";
    }
}

using EvpMacPtr = std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)>;

struct AlgName {
    JwtAlg alg;
    const char *name;
};

constexpr AlgName kAlgNames[] = {
    {JwtAlg::HS256, "HS256"}, {JwtAlg::HS384, "HS384"}, {JwtAlg::HS512, "HS512"},
    {JwtAlg::RS256, "RS256"}, {JwtAlg::ES256, "ES256"}, {JwtAlg::EdDSA, "EdDSA"},
};

bool ascii_iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); i++) {
        unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
        if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
        if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
        if (x != y) return false;
    }
    return true;
}

const unsigned char *bytes(std::string_view s)
{
    return reinterpret_cast<const unsigned char *>(s.data());
}

unsigned char *bytes(std::string &s)
{
    return reinterpret_cast<unsigned char *>(&s[0]);
}

// ---- strict JSON ----------------------------------------------------------

// What cJSON tolerates but RFC 8259 (or our C-string consumers) cannot:
// bytes that are not UTF-8 (overlong forms, surrogates and code points above
// U+10FFFF included), raw control characters, non-ASCII outside
// strings (such as a byte-order mark), and NUL in any spelling.  cJSON
// hands strings back NUL-terminated, so "admin\u0000x" would silently read
// as "admin" while the issuer signed something else.
bool strict_json_text(std::string_view s)
{
    bool in_string = false, escaped = false;
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            if (!in_string) return false;
            char32_t cp;
            if (utf8_decode(s, i, cp) != Utf8Error::None) return false;
            escaped = false;
            continue;
        }
        if (c < 0x20 && (in_string || (c != '\t' && c != '\n' && c != '\r'))) return false;
        if (in_string) {
            if (escaped) {
                escaped = false;
                if (c == 'u' && s.substr(i + 1, 4) == "0000") return false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        }
        i++;
    }
    return true;
}

// cJSON keeps repeated member names as siblings and lookups return the
// first, while other parsers keep the last: a token saying both
// "sub":"alice" and "sub":"admin" must not mean different things to
// different readers.  Names are compared after unescaping, so "\u0065xp"
// collides with "exp".
bool has_duplicate_members(const cJSON *node)
{
    // Objects of a few members (every JWT's) are checked pair by pair, in
    // place; larger ones sorted, so that a huge object costs n log n.
    constexpr size_t kPairwise = 16;
    const char *few[kPairwise];
    std::vector<const char *> many;
    size_t n = 0;
    for (const cJSON *c = node->child; c != nullptr; c = c->next) {
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && has_duplicate_members(c)) return true;
        if (!cJSON_IsObject(node)) continue;
        const char *name = c->string != nullptr ? c->string : "";
        if (n < kPairwise) {
            few[n] = name;
        } else {
            if (n == kPairwise) many.assign(few, few + kPairwise);
            many.push_back(name);
        }
        n++;
    }
    if (n <= kPairwise) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = i + 1; j < n; j++) {
                if (std::strcmp(few[i], few[j]) == 0) return true;
            }
        }
        return false;
    }
    std::sort(many.begin(), many.end(),
              [](const char *a, const char *b) { return std::strcmp(a, b) < 0; });
    return std::adjacent_find(many.begin(), many.end(), [](const char *a, const char *b) {
               return std::strcmp(a, b) == 0;
           }) != many.end();
}

bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Parses text as exactly one JSON object: nothing but whitespace may follow.
//
// Thread safety: cJSON's parser resets a global error position on every
// call.  Nothing here reads it (we use return_parse_end instead), so
// concurrent verifies share only that unused write.
JwtStatus parse_object(std::string_view text, JsonPtr &out)
{
    if (text.empty() || !strict_json_text(text)) return JwtStatus::BadJson;
    const char *end = nullptr;
    JsonPtr root(cJSON_ParseWithLengthOpts(text.data(), text.size(), &end, false));
    if (!root || end == nullptr) return JwtStatus::BadJson;
    size_t pos = static_cast<size_t>(end - text.data());
    while (pos < text.size() && is_json_space(text[pos])) pos++;
    if (pos != text.size() || !cJSON_IsObject(root.get())) return JwtStatus::BadJson;
    if (has_duplicate_members(root.get())) return JwtStatus::DuplicateMember;
    out = std::move(root);
    return JwtStatus::Ok;
}

// exp, nbf and iat must be numbers when present; the verdict on exp and
// nbf is time_verdict's, later.
JwtStatus read_time_claims(const cJSON *claims, TimeClaims &time)
{
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(claims, "nbf");
    const cJSON *iat = cJSON_GetObjectItemCaseSensitive(claims, "iat");
    // A string "exp" ignored as "no expiry" would make the token immortal;
    // 1e999 parses as infinity, which would do the same.
    for (const cJSON *c : {exp, nbf, iat}) {
        if (c != nullptr && (!cJSON_IsNumber(c) || !std::isfinite(c->valuedouble))) {
            return JwtStatus::BadClaimType;
        }
    }
    time = TimeClaims{};
    if (exp != nullptr) {
        time.has_exp = true;
        time.exp = exp->valuedouble;
    }
    if (nbf != nullptr) {
        time.has_nbf = true;
        time.nbf = nbf->valuedouble;
    }
    return JwtStatus::Ok;
}

// ---- signatures -------------------------------------------------------------

// What signing and verification need of a key, nameable outside KeySet.
struct KeyRef {
    JwtAlg alg;
    const EVP_MAC_CTX *mac;  // HMAC only: keyed, never changed
    EVP_PKEY *pkey;          // the others
};

// HMAC with a context keyed once when the key was added (OpenSSL 3's
// one-shot HMAC() fetches the digest by name and keys a new context on
// every call).  The keyed context is only ever copied, never changed, so
// any number of threads may share it.
bool mac_compute(const EVP_MAC_CTX *keyed, std::string_view input, unsigned char *out, size_t &len)
{
    OsslErrorScope errors;
    EvpMacCtxPtr ctx(EVP_MAC_CTX_dup(keyed), &EVP_MAC_CTX_free);
    return ctx && EVP_MAC_update(ctx.get(), bytes(input), input.size()) == 1 &&
           EVP_MAC_final(ctx.get(), out, &len, EVP_MAX_MD_SIZE) == 1;
}

// mdname is NULL for Ed25519, which hashes internally.  Each call builds its
// own contexts and only reads the EVP_PKEY, which is what makes concurrent
// use of one key from many threads safe.
bool digest_sign(const KeyRef &k, const char *mdname, std::string_view input, std::string &sig)
{
    OsslErrorScope errors;
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx) return false;
    EVP_PKEY_CTX *pctx = nullptr;  // owned by ctx
    if (EVP_DigestSignInit_ex(ctx.get(), &pctx, mdname, nullptr, nullptr, k.pkey, nullptr) != 1) {
        return false;
    }
    // PKCS#1 v1.5 is OpenSSL's default today; RS256 depends on it, so say so.
    if (kind_of(k.alg) == KeyKind::Rsa &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
        return false;
    }
    size_t len = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &len, bytes(input), input.size()) != 1) return false;
    sig.assign(len, '\0');
    if (EVP_DigestSign(ctx.get(), bytes(sig), &len, bytes(input), input.size()) != 1) return false;
    sig.resize(len);
    return true;
}

bool digest_verify(const KeyRef &k, const char *mdname, std::string_view input,
                   std::string_view sig)
{
    OsslErrorScope errors;
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx) return false;
    EVP_PKEY_CTX *pctx = nullptr;
    if (EVP_DigestVerifyInit_ex(ctx.get(), &pctx, mdname, nullptr, nullptr, k.pkey, nullptr) !=
        1) {
        return false;
    }
    if (kind_of(k.alg) == KeyKind::Rsa &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
        return false;
    }
    return EVP_DigestVerify(ctx.get(), bytes(sig), sig.size(), bytes(input), input.size()) == 1;
}

constexpr int kP256Bytes = 32;  // bytes per coordinate, and per R and S

// JWS carries ECDSA signatures as fixed-width R || S (RFC 7518 section
// 3.4); OpenSSL speaks DER.
bool ecdsa_der_to_raw(std::string_view der, std::string &raw)
{
    const unsigned char *p = bytes(der);
    EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
    if (!sig) return false;
    const BIGNUM *r = nullptr, *s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    raw.assign(2 * kP256Bytes, '\0');
    return BN_bn2binpad(r, bytes(raw), kP256Bytes) == kP256Bytes &&
           BN_bn2binpad(s, bytes(raw) + kP256Bytes, kP256Bytes) == kP256Bytes;
}

bool ecdsa_raw_to_der(std::string_view raw, std::string &der)
{
    // Exactly 64 bytes: a DER signature, or R || S with a byte trimmed,
    // is a different encoding of the same value and is refused.
    if (raw.size() != 2 * static_cast<size_t>(kP256Bytes)) return false;
    BignumPtr r(BN_bin2bn(bytes(raw), kP256Bytes, nullptr));
    BignumPtr s(BN_bin2bn(bytes(raw) + kP256Bytes, kP256Bytes, nullptr));
    EcdsaSigPtr sig(ECDSA_SIG_new());
    if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return false;
    r.release();  // now owned by sig
    s.release();
    int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (len <= 0) return false;
    der.assign(static_cast<size_t>(len), '\0');
    unsigned char *p = bytes(der);
    return i2d_ECDSA_SIG(sig.get(), &p) == len;
}

bool sign_input(const KeyRef &k, std::string_view input, std::string &sig)
{
    switch (kind_of(k.alg)) {
    case KeyKind::Hmac: {
        unsigned char mac[EVP_MAX_MD_SIZE];
        size_t len = 0;
        if (!mac_compute(k.mac, input, mac, len)) return false;
        sig.assign(reinterpret_cast<const char *>(mac), len);
        return true;
    }
    case KeyKind::Rsa: return digest_sign(k, "SHA256", input, sig);
    case KeyKind::Ec: {
        std::string der;
        OsslErrorScope errors;
        return digest_sign(k, "SHA256", input, der) && ecdsa_der_to_raw(der, sig);
    }
    case KeyKind::Ed: return digest_sign(k, nullptr, input, sig);
    }
    return false;
}

bool verify_input(const KeyRef &k, std::string_view input, std::string_view sig)
{
    switch (kind_of(k.alg)) {
    case KeyKind::Hmac: {
        unsigned char mac[EVP_MAX_MD_SIZE];
        size_t len = 0;
        bool ok = mac_compute(k.mac, input, mac, len) &&
                  constant_time_equal(std::string_view(reinterpret_cast<const char *>(mac), len), sig);
        OPENSSL_cleanse(mac, sizeof mac);
        return ok;
    }
    case KeyKind::Rsa:
        // RFC 8017 signatures are exactly as long as the modulus.  OpenSSL
        // 3 enforces this too; checking here keeps the rule from depending
        // on the library version.
        if (sig.size() != static_cast<size_t>(EVP_PKEY_get_size(k.pkey))) return false;
        return digest_verify(k, "SHA256", input, sig);
    case KeyKind::Ec: {
        std::string der;
        OsslErrorScope errors;
        return ecdsa_raw_to_der(sig, der) && digest_verify(k, "SHA256", input, der);
    }
    case KeyKind::Ed:
        if (sig.size() != 64) return false;
        return digest_verify(k, nullptr, input, sig);
    }
    return false;
}

// ---- loading keys -----------------------------------------------------------

// A passphrase prompt would block nginx on its controlling terminal.
int refuse_passphrase(char *, int, int, void *)
{
    return -1;
}

bool load_pem(std::string_view pem, EvpPkeyPtr &out, bool &is_private, std::string &error)
{
    if (pem.size() > INT_MAX) {
        error = "key material is too large";
        return false;
    }
    if (pem.find("ENCRYPTED") != std::string_view::npos) {
        error = "encrypted PEM keys are not supported: store the key unencrypted with tight "
                "file permissions";
        return false;
    }
    OsslErrorScope errors;
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        error = "out of memory";
        return false;
    }
    if (EVP_PKEY *k = PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr)) {
        out.reset(k);
        is_private = true;
        return true;
    }
    bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        error = "out of memory";
        return false;
    }
    if (EVP_PKEY *k = PEM_read_bio_PUBKEY(bio.get(), nullptr, refuse_passphrase, nullptr)) {
        out.reset(k);
        is_private = false;
        return true;
    }
    error = "not a PEM private key (\"BEGIN PRIVATE KEY\" or \"BEGIN <type> PRIVATE KEY\") "
            "or public key (\"BEGIN PUBLIC KEY\")";
    return false;
}

bool check_key_type(JwtAlg alg, EVP_PKEY *pkey, std::string &error)
{
    switch (alg) {
    case JwtAlg::RS256: {
        if (!EVP_PKEY_is_a(pkey, "RSA")) {
            error = "RS256 needs an RSA key";
            return false;
        }
        int bits = EVP_PKEY_get_bits(pkey);
        if (bits < 2048) {
            error = "RS256 keys must have at least 2048 bits, this one has " + std::to_string(bits);
            return false;
        }
        return true;
    }
    case JwtAlg::ES256: {
        char group[64] = {0};
        size_t len = 0;
        if (!EVP_PKEY_is_a(pkey, "EC") ||
            EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &len) != 1 ||
            OBJ_sn2nid(group) != NID_X9_62_prime256v1) {
            error = "ES256 needs an EC key on the P-256 curve (prime256v1)";
            return false;
        }
        return true;
    }
    case JwtAlg::EdDSA:
        if (!EVP_PKEY_is_a(pkey, "ED25519")) {
            error = "EdDSA is supported with Ed25519 keys only";
            return false;
        }
        return true;
    default: error = "not an asymmetric algorithm"; return false;
    }
}

// OpenSSL's own validation (on-curve point, RSA key consistency), then for a
// private key a sign/verify round trip: a key that cannot produce a valid
// signature is better refused at startup than discovered at the first login.
bool self_test(const KeyRef &k, bool is_private, std::string &error)
{
    OsslErrorScope errors;
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, k.pkey, nullptr));
    if (!ctx) {
        error = "out of memory";
        return false;
    }
    int rc = is_private ? EVP_PKEY_check(ctx.get()) : EVP_PKEY_public_check(ctx.get());
    if (rc != 1 && rc != -2) {  // -2: no check for this key type
        error = "the key fails OpenSSL's consistency check";
        return false;
    }
    if (is_private) {
        static constexpr std::string_view probe = "restauth key self-test";
        std::string sig;
        if (!sign_input(k, probe, sig) || !verify_input(k, probe, sig)) {
            error = "the key cannot produce a verifiable signature";
            return false;
        }
    }
    return true;
}

// ---- JWKS -----------------------------------------------------------------

bool add_b64url(cJSON *obj, const char *name, std::string_view raw)
{
    std::string b64 = base64url_encode(raw);
    return !b64.empty() && cJSON_AddStringToObject(obj, name, b64.c_str()) != nullptr;
}

// Big-endian bytes of a public bignum: minimal for RSA n and e (RFC 7518
// "Base64urlUInt"), fixed width for EC coordinates.
bool bn_param(EVP_PKEY *pkey, const char *param, int width, std::string &out)
{
    BIGNUM *raw = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, param, &raw) != 1) return false;
    BignumPtr bn(raw);
    int n = width > 0 ? width : BN_num_bytes(bn.get());
    if (n <= 0) return false;
    out.assign(static_cast<size_t>(n), '\0');
    if (width > 0) return BN_bn2binpad(bn.get(), bytes(out), width) == width;
    return BN_bn2bin(bn.get(), bytes(out)) == n;
}

bool describe_public_key(const KeyRef &k, cJSON *jwk)
{
    std::string a, b;
    switch (kind_of(k.alg)) {
    case KeyKind::Rsa:
        return cJSON_AddStringToObject(jwk, "kty", "RSA") &&
               bn_param(k.pkey, OSSL_PKEY_PARAM_RSA_N, 0, a) && add_b64url(jwk, "n", a) &&
               bn_param(k.pkey, OSSL_PKEY_PARAM_RSA_E, 0, b) && add_b64url(jwk, "e", b);
    case KeyKind::Ec:
        return cJSON_AddStringToObject(jwk, "kty", "EC") &&
               cJSON_AddStringToObject(jwk, "crv", "P-256") &&
               bn_param(k.pkey, OSSL_PKEY_PARAM_EC_PUB_X, kP256Bytes, a) &&
               add_b64url(jwk, "x", a) &&
               bn_param(k.pkey, OSSL_PKEY_PARAM_EC_PUB_Y, kP256Bytes, b) &&
               add_b64url(jwk, "y", b);
    case KeyKind::Ed: {
        unsigned char pub[32];
        size_t len = sizeof pub;
        if (EVP_PKEY_get_raw_public_key(k.pkey, pub, &len) != 1 || len != sizeof pub) return false;
        return cJSON_AddStringToObject(jwk, "kty", "OKP") &&
               cJSON_AddStringToObject(jwk, "crv", "Ed25519") &&
               add_b64url(jwk, "x", std::string_view(reinterpret_cast<char *>(pub), len));
    }
    case KeyKind::Hmac: return false;
    }
    return false;
}

std::string print_json(const cJSON *root)
{
    char *text = cJSON_PrintUnformatted(root);
    if (text == nullptr) return {};
    std::string out;
    try {
        out = text;
    } catch (...) {
        cJSON_free(text);
        throw;
    }
    cJSON_free(text);
    return out;
}

// The protected header sign() writes: {"alg":...,"typ":"JWT"}, plus "kid"
// when given.  "" on failure.
std::string header_json(JwtAlg alg, const std::string &kid)
{
    JsonPtr header(cJSON_CreateObject());
    if (!header || !cJSON_AddStringToObject(header.get(), "alg", jwt_alg_name(alg)) ||
        !cJSON_AddStringToObject(header.get(), "typ", "JWT")) {
        return {};
    }
    if (!kid.empty() && !cJSON_AddStringToObject(header.get(), "kid", kid.c_str())) return {};
    return print_json(header.get());
}

// What a token's header says: only alg, kid and crit are ever looked at.
struct Header {
    JwtAlg alg = JwtAlg::HS256;
    bool has_kid = false;
    std::string kid;
};

// The header is parsed before the signature is known to be good.
JwtStatus parse_header(std::string_view header64, Header &h)
{
    std::string header_json;
    if (!base64url_decode(header64, header_json)) return JwtStatus::BadBase64;
    JsonPtr header;
    JwtStatus st = parse_object(header_json, header);
    if (st != JwtStatus::Ok) return st;

    const cJSON *alg_item = cJSON_GetObjectItemCaseSensitive(header.get(), "alg");
    if (!cJSON_IsString(alg_item) || alg_item->valuestring == nullptr) return JwtStatus::Malformed;
    std::string_view alg_name = alg_item->valuestring;
    if (ascii_iequals(alg_name, "none")) return JwtStatus::AlgNone;
    std::optional<JwtAlg> alg = parse_jwt_alg(alg_name);
    if (!alg) return JwtStatus::AlgUnsupported;
    h.alg = *alg;

    // RFC 7515 section 4.1.11: a recipient that does not understand
    // every listed extension must reject the token.
    if (cJSON_GetObjectItemCaseSensitive(header.get(), "crit") != nullptr) {
        return JwtStatus::UnsupportedCrit;
    }

    const cJSON *kid_item = cJSON_GetObjectItemCaseSensitive(header.get(), "kid");
    if (kid_item != nullptr) {
        if (!cJSON_IsString(kid_item) || kid_item->valuestring == nullptr) return JwtStatus::Malformed;
        h.has_kid = true;
        h.kid = kid_item->valuestring;
    }
    return JwtStatus::Ok;
}

// The header a key's tokens carry, base64url-encoded, if parse_header
// reads it back as exactly that alg and kid (so that recognizing it by its
// bytes decides what parsing it would); else "".
std::string known_header64(JwtAlg alg, const std::string &kid)
{
    std::string json = header_json(alg, kid);
    if (json.empty()) return {};
    std::string b64 = base64url_encode(json);
    Header h;
    if (b64.empty() || parse_header(b64, h) != JwtStatus::Ok || h.alg != alg || h.has_kid != !kid.empty() ||
        h.kid != kid) {
        return {};
    }
    return b64;
}

}  // namespace

// ---- public API -------------------------------------------------------------

const char *jwt_alg_name(JwtAlg alg) noexcept
{
    for (const auto &a : kAlgNames) {
        if (a.alg == alg) return a.name;
    }
    return "unknown";
}

std::optional<JwtAlg> parse_jwt_alg(std::string_view name) noexcept
{
    for (const auto &a : kAlgNames) {
        if (name == a.name) return a.alg;
    }
    return std::nullopt;
}

const char *jwt_status_name(JwtStatus status) noexcept
{
    switch (status) {
    case JwtStatus::Ok: return "ok";
    case JwtStatus::Malformed: return "malformed";
    case JwtStatus::TooLarge: return "too_large";
    case JwtStatus::BadBase64: return "bad_base64";
    case JwtStatus::BadJson: return "bad_json";
    case JwtStatus::DuplicateMember: return "duplicate_member";
    case JwtStatus::AlgNone: return "alg_none";
    case JwtStatus::AlgUnsupported: return "alg_unsupported";
    case JwtStatus::AlgMismatch: return "alg_mismatch";
    case JwtStatus::UnknownKid: return "unknown_kid";
    case JwtStatus::UnsupportedCrit: return "unsupported_crit";
    case JwtStatus::BadSignature: return "bad_signature";
    case JwtStatus::BadClaimType: return "bad_claim_type";
    case JwtStatus::Expired: return "expired";
    case JwtStatus::NotYetValid: return "not_yet_valid";
    case JwtStatus::InternalError: return "internal_error";
    }
    return "unknown";
}

struct KeySet::Key {
    JwtAlg alg = JwtAlg::HS256;
    std::string kid;
    EvpMacCtxPtr mac{nullptr, &EVP_MAC_CTX_free};  // HMAC: keyed with the secret
    EvpPkeyPtr pkey;
    bool can_sign = false;
    // The headers tokens of this key usually carry, base64url-encoded:
    // without kid, and with this key's kid (when it has one).  "" when not
    // recognized by their bytes.
    std::string header64_plain;
    std::string header64_kid;

    Key() = default;
    Key(const Key &) = delete;
    Key &operator=(const Key &) = delete;

    KeyRef ref() const { return KeyRef{alg, mac.get(), pkey.get()}; }
};

KeySet::KeySet() noexcept = default;
KeySet::~KeySet()
{
    if (!seed_.empty()) OPENSSL_cleanse(seed_.data(), seed_.size());
}
KeySet::KeySet(KeySet &&) noexcept = default;
KeySet &KeySet::operator=(KeySet &&) noexcept = default;

size_t KeySet::size() const noexcept
{
    return keys_.size();
}

bool KeySet::add_key(std::string_view alg, std::string_view material, std::string_view kid, std::string &error)
{
    auto parsed = parse_jwt_alg(alg);
    if (!parsed) {
        error = "unsupported algorithm \"" + std::string(alg) + "\" (HS256, HS384, HS512, RS256, ES256 or EdDSA)";
        return false;
    }
    return add_key(*parsed, material, kid, error);
}

bool KeySet::add_key(JwtAlg alg, std::string_view material, std::string_view kid,
                     std::string &error)
{
    try {
        if (kid.size() > 256) {
            error = "kid must be at most 256 characters";
            return false;
        }
        for (char c : kid) {
            if (c < 0x20 || c > 0x7e) {
                error = "kid must be printable ASCII";
                return false;
            }
        }
        for (const auto &k : keys_) {
            if (!kid.empty() && k->kid == kid) {
                error = "kid \"" + std::string(kid) + "\" is already used by another key";
                return false;
            }
        }

        auto key = std::make_unique<Key>();
        key->alg = alg;
        key->kid.assign(kid.data(), kid.size());

        if (kind_of(alg) == KeyKind::Hmac) {
            size_t need = digest_size(hmac_digest(alg));
            if (material.size() < need) {
                error = std::string(jwt_alg_name(alg)) + " secrets must be at least " +
                        std::to_string(need) + " bytes, this one has " +
                        std::to_string(material.size());
                return false;
            }
            // Loading a public key as an HMAC secret is exactly the setup the
            // algorithm-confusion attack needs: anyone holding the public key
            // could then mint tokens.
            if (material.find("-----BEGIN") != std::string_view::npos) {
                error = "this looks like a PEM key, not an HMAC secret; " +
                        std::string(jwt_alg_name(alg)) + " needs random secret bytes";
                return false;
            }
            OsslErrorScope errors;
            EvpMacPtr hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr), &EVP_MAC_free);
            if (hmac) key->mac.reset(EVP_MAC_CTX_new(hmac.get()));
            OSSL_PARAM params[] = {
                OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 const_cast<char *>(hmac_digest_name(alg)), 0),
                OSSL_PARAM_construct_end()};
            if (!key->mac ||
                EVP_MAC_init(key->mac.get(), bytes(material), material.size(), params) != 1) {
                error = "OpenSSL cannot set up " + std::string(jwt_alg_name(alg));
                return false;
            }
            key->can_sign = true;
        } else {
            bool is_private = false;
            if (!load_pem(material, key->pkey, is_private, error)) return false;
            if (!check_key_type(alg, key->pkey.get(), error)) return false;
            if (!self_test(key->ref(), is_private, error)) return false;
            key->can_sign = is_private;
        }

        if (keys_.empty() && !key->can_sign) {
            error = "the first key signs tokens, so it must be a secret or a private key, "
                    "not a public key";
            return false;
        }
        key->header64_plain = known_header64(alg, std::string());
        if (!key->kid.empty()) key->header64_kid = known_header64(alg, key->kid);
        if (cache_) {
            cache_->clear();
        } else {
            cache_ = std::make_unique<TokenCache>();
        }
        if (keys_.empty()) {
            seed_ = hmac_sha256(material, "restauth derived secrets");
            if (seed_.empty()) {
                error = "OpenSSL cannot derive a secret from the key";
                return false;
            }
        }
        keys_.push_back(std::move(key));
        return true;
    } catch (...) {
        error = "out of memory";
        return false;
    }
}

std::string KeySet::derived_secret(std::string_view label) const noexcept
{
    if (seed_.empty()) return {};
    return hmac_sha256(seed_, label);
}

std::string KeySet::jwks_json() const noexcept
{
    try {
        JsonPtr root(cJSON_CreateObject());
        if (!root) return {};
        cJSON *list = cJSON_AddArrayToObject(root.get(), "keys");
        if (list == nullptr) return {};
        OsslErrorScope errors;
        for (const auto &k : keys_) {
            if (kind_of(k->alg) == KeyKind::Hmac) continue;
            JsonPtr jwk(cJSON_CreateObject());
            if (!jwk || !describe_public_key(k->ref(), jwk.get())) return {};
            if (!k->kid.empty() && !cJSON_AddStringToObject(jwk.get(), "kid", k->kid.c_str())) {
                return {};
            }
            if (!cJSON_AddStringToObject(jwk.get(), "alg", jwt_alg_name(k->alg)) ||
                !cJSON_AddStringToObject(jwk.get(), "use", "sig")) {
                return {};
            }
            if (!cJSON_AddItemToArray(list, jwk.get())) return {};
            jwk.release();  // now owned by list
        }
        return print_json(root.get());
    } catch (...) {
        return {};
    }
}

std::string KeySet::sign(std::string_view claims_json) const noexcept
{
    try {
        if (keys_.empty() || !keys_.front()->can_sign) return {};
        const Key &key = *keys_.front();

        JsonPtr claims;
        if (parse_object(claims_json, claims) != JwtStatus::Ok) return {};

        std::string header = header_json(key.alg, key.kid);
        std::string token = base64url_encode(header);
        std::string payload = base64url_encode(claims_json);
        if (header.empty() || token.empty() || payload.empty()) return {};
        token += '.';
        token += payload;

        std::string sig;
        if (!sign_input(key.ref(), token, sig)) return {};
        std::string sig64 = base64url_encode(sig);
        if (sig64.empty()) return {};
        token += '.';
        token += sig64;
        return token;
    } catch (...) {
        return {};
    }
}

JwtStatus KeySet::check(std::string_view token, JsonPtr &claims_out, TimeClaims &time) const
{
    size_t dot1 = token.find('.');
    if (dot1 == std::string_view::npos) return JwtStatus::Malformed;
    size_t dot2 = token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos) return JwtStatus::Malformed;
    if (token.find('.', dot2 + 1) != std::string_view::npos) return JwtStatus::Malformed;
    std::string_view header64 = token.substr(0, dot1);
    std::string_view payload64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
    std::string_view sig64 = token.substr(dot2 + 1);
    // An empty signature is left to fail as BadSignature, after the
    // header had a chance to report the more telling AlgNone.
    if (header64.empty() || payload64.empty()) return JwtStatus::Malformed;

    // ---- header: the one our keys write is recognized by its bytes
    // (known_header64 made sure that parsing it would say the same);
    // anything else is parsed.
    Header h;
    bool known = false;
    for (const auto &k : keys_) {
        if (header64 == k->header64_plain) {
            h.alg = k->alg;
            known = true;
            break;
        }
        if (!k->header64_kid.empty() && header64 == k->header64_kid) {
            h.alg = k->alg;
            h.has_kid = true;
            h.kid = k->kid;
            known = true;
            break;
        }
    }
    if (!known) {
        JwtStatus st = parse_header(header64, h);
        if (st != JwtStatus::Ok) return st;
    }

    // ---- key choice: by kid when given, else every key of the alg.
    // Either way a key is only used with the algorithm it was added
    // for, so an RS256 public key can never act as an HS256 secret.
    const Key *by_kid = nullptr;
    if (h.has_kid) {
        auto it = std::find_if(keys_.begin(), keys_.end(),
                               [&](const auto &k) { return !k->kid.empty() && k->kid == h.kid; });
        if (it == keys_.end()) return JwtStatus::UnknownKid;
        if ((*it)->alg != h.alg) return JwtStatus::AlgMismatch;
        by_kid = it->get();
    } else if (std::none_of(keys_.begin(), keys_.end(), [&](const auto &k) { return k->alg == h.alg; })) {
        return JwtStatus::AlgMismatch;
    }

    std::string sig;
    if (!base64url_decode(sig64, sig)) return JwtStatus::BadBase64;
    std::string payload_json;
    if (!base64url_decode(payload64, payload_json)) return JwtStatus::BadBase64;

    const std::string_view signing_input = token.substr(0, dot2);
    bool good = by_kid != nullptr
                    ? verify_input(by_kid->ref(), signing_input, sig)
                    : std::any_of(keys_.begin(), keys_.end(), [&](const auto &k) {
                          return k->alg == h.alg && verify_input(k->ref(), signing_input, sig);
                      });
    if (!good) return JwtStatus::BadSignature;

    // ---- payload: only now, so unauthenticated bytes never reach the
    // JSON parser beyond the small header.
    JsonPtr claims;
    JwtStatus st = parse_object(payload_json, claims);
    if (st != JwtStatus::Ok) return st;
    st = read_time_claims(claims.get(), time);
    if (st != JwtStatus::Ok) return st;
    claims_out = std::move(claims);
    return JwtStatus::Ok;
}

JwtStatus KeySet::verify(std::string_view token, int64_t now, int64_t leeway,
                         JsonPtr &claims_out, size_t max_len) const noexcept
{
    claims_out.reset();
    try {
        // The cap comes first, so nothing below ever sees a huge input.
        if (token.size() > max_len) return JwtStatus::TooLarge;
        JsonPtr claims;
        TimeClaims time;
        JwtStatus st = check(token, claims, time);
        if (st != JwtStatus::Ok) return st;
        st = time_verdict(time, now, leeway);
        if (st != JwtStatus::Ok) return st;
        claims_out = std::move(claims);
        return JwtStatus::Ok;
    } catch (...) {
        return JwtStatus::InternalError;
    }
}

JwtStatus KeySet::verify_cached(std::string_view token, int64_t now, int64_t leeway,
                                std::shared_ptr<const VerifiedJwt> &out, size_t max_len) const noexcept
{
    out.reset();
    try {
        if (token.size() > max_len) return JwtStatus::TooLarge;
        TokenCache *cache = cache_ && cache_->owned_by_this_thread() ? cache_.get() : nullptr;
        if (cache != nullptr) {
            if (std::shared_ptr<const VerifiedJwt> hit = cache->find(token)) {
                // Everything but the time held when it was kept.
                JwtStatus st = time_verdict(hit->time, now, leeway);
                if (st == JwtStatus::Ok) out = std::move(hit);
                return st;
            }
        }
        auto jwt = std::make_shared<VerifiedJwt>();
        JwtStatus st = check(token, jwt->claims, jwt->time);
        if (st != JwtStatus::Ok) return st;
        st = time_verdict(jwt->time, now, leeway);
        if (st != JwtStatus::Ok) return st;
        jwt->token.assign(token.data(), token.size());
        jwt->cost = verified_jwt_cost(*jwt);
        if (cache != nullptr) {
            try {
                cache->insert(jwt);
            } catch (...) {
                // Out of memory: the token holds all the same.
            }
        }
        out = std::move(jwt);
        return JwtStatus::Ok;
    } catch (...) {
        return JwtStatus::InternalError;
    }
}

size_t KeySet::cached_tokens() const noexcept
{
    return cache_ ? cache_->size() : 0;
}

JwtStatus time_verdict(const TimeClaims &time, int64_t now, int64_t leeway) noexcept
{
    // In double, so that now + leeway cannot overflow; NumericDate may be
    // fractional anyway.
    const double t = static_cast<double>(now);
    const double slack = static_cast<double>(std::max<int64_t>(leeway, 0));
    if (time.has_exp && !(t < time.exp + slack)) return JwtStatus::Expired;
    if (time.has_nbf && time.nbf > t + slack) return JwtStatus::NotYetValid;
    return JwtStatus::Ok;
}

}  // namespace restauth
