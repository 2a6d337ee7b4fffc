// libFuzzer target: the JWT parser/verifier, restauth::KeySet::verify
// (src/core/jwt.h), and restauth_protect_verify / restauth_identity_claim /
// restauth_identity_session_key of the C API (src/core/restauth.h).
//
// Keys (fuzz_keys.h, loaded once): HS256 without kid (the first key),
// ES256 kid "ec-1", EdDSA kid "ed-1", RS256 kid "rs-1", HS256 kid "hs-2",
// and a verify-only ES256 public key without kid.
//
// Input layout: byte 0 is a flag byte, the rest the payload.
//   bit 7  0: verify mode -- the payload is a compact JWS;
//          1: sign mode -- byte 1 picks a signer (mod 4: HS256, ES256/ec-1,
//             EdDSA/ed-1, HS256/hs-2), bytes 2.. are a claims JSON text.
//             Whatever sign() accepts must verify again (Ok, or a time-claim
//             verdict), with the same claims.  This is how the fuzzer gets
//             past the signature check to the payload and claim code.
//   bits 2-3  "now": 1700000000, 0, INT64_MAX, INT64_MIN
//   bits 4-5  leeway: 0, 60, -1, INT64_MAX
//   bit 6  verify mode only: go through restauth_protect_verify (issuer
//          "https://issuer.example", audience "api", leeway 30, access
//          cookie "access", CSRF on) instead of KeySet::verify.  Sign mode
//          always does both.  For the C API, bit 0 sends the token in the
//          access cookie instead of "Authorization: Bearer", bit 1 makes
//          the method POST (so cookies need CSRF), and bits 4-5 both set
//          make the X-CSRFToken header wrong.
//
// Seeds: fuzz/corpus/fuzz_jwt/, written by gen_jwt_seeds.cpp.
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fuzz_common.h"
#include "api.h"
#include "fuzz_keys.h"
#include "json_ptr.h"
#include "jwt.h"
#include "protect.h"
#include "restauth.h"

using namespace restauth;

namespace {

constexpr int64_t kNows[4] = {1700000000, 0, std::numeric_limits<int64_t>::max(),
                              std::numeric_limits<int64_t>::min()};
constexpr int64_t kLeeways[4] = {0, 60, -1, std::numeric_limits<int64_t>::max()};

struct KeySpec {
    JwtAlg alg;
    const char *material;
    const char *kid;
};

// The verifier's keys, in order (the first one signs).
const KeySpec kVerifyKeys[] = {
    {JwtAlg::HS256, fuzzkeys::kHsSecret, ""},
    {JwtAlg::ES256, fuzzkeys::kEcPrivate, "ec-1"},
    {JwtAlg::EdDSA, fuzzkeys::kEdPrivate, "ed-1"},
    {JwtAlg::RS256, fuzzkeys::kRsaPrivate, "rs-1"},
    {JwtAlg::HS256, fuzzkeys::kHsSecret2, "hs-2"},
    {JwtAlg::ES256, fuzzkeys::kEc2Public, ""},
};

// One-key sets for sign mode (RS256 is left out: a 2048-bit RSA signature
// per input would slow the fuzzer down tenfold; the seeds cover RS256).
const KeySpec kSigners[] = {
    {JwtAlg::HS256, fuzzkeys::kHsSecret, ""},
    {JwtAlg::ES256, fuzzkeys::kEcPrivate, "ec-1"},
    {JwtAlg::EdDSA, fuzzkeys::kEdPrivate, "ed-1"},
    {JwtAlg::HS256, fuzzkeys::kHsSecret2, "hs-2"},
};

struct World {
    KeySet verifier;
    std::vector<std::unique_ptr<KeySet>> signers;
    restauth_keyset_t *c_keys = nullptr;
    restauth_api_t *api = nullptr;
};

restauth_str_t S(std::string_view s)
{
    return restauth_str_t{s.data(), s.size()};
}

[[noreturn]] void setup_failed(const char *what, const std::string &why)
{
    std::fprintf(stderr, "fuzz_jwt setup: %s: %s\n", what, why.c_str());
    std::abort();
}

World *make_world()
{
    auto *w = new World;
    std::string err;
    for (const auto &k : kVerifyKeys) {
        if (!w->verifier.add_key(k.alg, k.material, k.kid, err)) setup_failed("verifier key", err);
    }
    for (const auto &k : kSigners) {
        auto ks = std::make_unique<KeySet>();
        if (!ks->add_key(k.alg, k.material, k.kid, err)) setup_failed("signer key", err);
        w->signers.push_back(std::move(ks));
    }

    w->c_keys = restauth_keyset_create();
    char cerr[256] = "";
    for (const auto &k : kVerifyKeys) {
        if (restauth_keyset_add(w->c_keys, S(jwt_alg_name(k.alg)), S(k.material), S(k.kid), cerr,
                                sizeof cerr) != 0) {
            setup_failed("C keyset", cerr);
        }
    }
    restauth_settings_t s;
    restauth_settings_defaults(&s);
    s.issuer = S("https://issuer.example");
    s.audience = S("api");
    s.cookie_access = S("access");
    s.cookie_refresh = S("refresh");
    s.leeway = 30;
    s.password_iterations = 1;
    w->api = restauth_api_create(&s, w->c_keys, cerr, sizeof cerr);
    if (w->api == nullptr) setup_failed("restauth_api_create", cerr);
    return w;
}

World &world()
{
    static World *w = make_world();  // never freed: lives for the process
    return *w;
}

// Claim paths to read from a verified token: fixed ones plus every member
// name (and "name.child" one level down) of the claims.
std::vector<std::string> claim_paths(const cJSON *claims)
{
    std::vector<std::string> paths = {"user_id", "username", "email", "aud", "exp", "roles",
                                      "a.b",     "a.b.c",    "",      ".",   "x..y", "sub."};
    if (claims == nullptr) return paths;
    for (const cJSON *c = claims->child; c != nullptr; c = c->next) {
        if (c->string == nullptr) continue;
        paths.emplace_back(c->string);
        if (cJSON_IsObject(c)) {
            for (const cJSON *d = c->child; d != nullptr; d = d->next) {
                if (d->string != nullptr) paths.push_back(std::string(c->string) + "." + d->string);
            }
        }
        if (paths.size() > 64) break;
    }
    return paths;
}

// Deep equality.  Not cJSON_Compare: it compares numbers with a relative
// epsilon, so -1e999 (-inf) differs from itself there.
bool same_json(const cJSON *a, const cJSON *b)
{
    if (a == nullptr || b == nullptr) return a == b;
    if ((a->type & 0xff) != (b->type & 0xff)) return false;
    if ((a->string == nullptr) != (b->string == nullptr)) return false;
    if (a->string != nullptr && std::strcmp(a->string, b->string) != 0) return false;
    if (cJSON_IsString(a)) return std::strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsNumber(a)) {
        return a->valuedouble == b->valuedouble || (std::isnan(a->valuedouble) && std::isnan(b->valuedouble));
    }
    const cJSON *x = a->child, *y = b->child;
    for (; x != nullptr && y != nullptr; x = x->next, y = y->next) {
        if (!same_json(x, y)) return false;
    }
    return x == nullptr && y == nullptr;
}

void check_claim_text(const cJSON *claims)
{
    for (const std::string &path : claim_paths(claims)) {
        std::string text;
        if (!claim_text(claims, path, text)) continue;
        for (unsigned char c : text) FUZZ_CHECK(c >= 0x20 && c != 0x7f);  // header-safe
    }
}

// ---- the independent signature oracle ---------------------------------------

// Strict unpadded base64url (RFC 7515 section 2): the alphabet only, no
// '=', no length of 1 mod 4, unused trailing bits zero.  Written here, not
// taken from the core, so a lenient core decoder would show.
bool oracle_b64url(std::string_view in, std::string &out)
{
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '-') return 62;
        if (c == '_') return 63;
        return -1;
    };
    if (in.size() % 4 == 1) return false;
    out.clear();
    uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = value(c);
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return (acc & ((1u << bits) - 1)) == 0;  // no stray bits left over
}

struct OracleKey {
    std::string alg;     // JWA name, as the JWS header must say it
    std::string kid;     // "" for none
    std::string secret;  // HMAC
    EVP_PKEY *pkey = nullptr;  // the others (never freed: lives for the process)
};

std::vector<OracleKey> make_oracle_keys()
{
    // The same material as the verifier's keys (kVerifyKeys), by name, so a
    // mix-up in kVerifyKeys cannot hide here.
    struct Spec {
        const char *alg, *material, *kid;
    };
    const Spec specs[] = {
        {"HS256", fuzzkeys::kHsSecret, ""},  {"ES256", fuzzkeys::kEcPrivate, "ec-1"},
        {"EdDSA", fuzzkeys::kEdPrivate, "ed-1"}, {"RS256", fuzzkeys::kRsaPrivate, "rs-1"},
        {"HS256", fuzzkeys::kHsSecret2, "hs-2"}, {"ES256", fuzzkeys::kEc2Public, ""},
    };
    std::vector<OracleKey> keys;
    for (const Spec &sp : specs) {
        OracleKey k;
        k.alg = sp.alg;
        k.kid = sp.kid;
        if (k.alg[0] == 'H') {
            k.secret = sp.material;
        } else {
            BIO *bio = BIO_new_mem_buf(sp.material, -1);
            if (bio == nullptr) setup_failed("oracle key", "BIO_new_mem_buf");
            k.pkey = std::strstr(sp.material, "PRIVATE KEY") != nullptr
                         ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr)
                         : PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
            BIO_free(bio);
            if (k.pkey == nullptr) setup_failed("oracle key", sp.alg);
        }
        keys.push_back(std::move(k));
    }
    return keys;
}

bool oracle_hmac(const std::string &secret, const char *digest, std::string_view input,
                 std::string_view sig)
{
    EVP_MAC *mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX *ctx = mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char *>(digest), 0),
        OSSL_PARAM_construct_end(),
    };
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t len = 0;
    bool ok = ctx != nullptr &&
              EVP_MAC_init(ctx, reinterpret_cast<const unsigned char *>(secret.data()), secret.size(),
                           params) == 1 &&
              EVP_MAC_update(ctx, reinterpret_cast<const unsigned char *>(input.data()), input.size()) ==
                  1 &&
              EVP_MAC_final(ctx, out, &len, sizeof out) == 1;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    FUZZ_CHECK(ok);  // HMAC itself failing is not the token's fault
    return sig.size() == len && std::memcmp(sig.data(), out, len) == 0;
}

bool oracle_digest_verify(EVP_PKEY *pkey, const char *md, std::string_view input, std::string_view sig)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != nullptr &&
              EVP_DigestVerifyInit_ex(ctx, nullptr, md, nullptr, nullptr, pkey, nullptr) == 1 &&
              EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char *>(sig.data()), sig.size(),
                               reinterpret_cast<const unsigned char *>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

// RFC 7518 section 3.4: exactly 32 bytes of R, then 32 of S.
bool oracle_es256(EVP_PKEY *pkey, std::string_view input, std::string_view sig)
{
    if (sig.size() != 64) return false;
    const auto *raw = reinterpret_cast<const unsigned char *>(sig.data());
    BIGNUM *r = BN_bin2bn(raw, 32, nullptr);
    BIGNUM *s = BN_bin2bn(raw + 32, 32, nullptr);
    ECDSA_SIG *esig = ECDSA_SIG_new();
    if (r == nullptr || s == nullptr || esig == nullptr || ECDSA_SIG_set0(esig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(esig);
        FUZZ_CHECK(!"ECDSA_SIG setup");
    }
    unsigned char *der = nullptr;
    int len = i2d_ECDSA_SIG(esig, &der);
    ECDSA_SIG_free(esig);
    FUZZ_CHECK(len > 0);
    bool ok = oracle_digest_verify(pkey, "SHA256",
                                   input, std::string_view(reinterpret_cast<char *>(der), len));
    OPENSSL_free(der);
    return ok;
}

bool oracle_signature(const OracleKey &k, std::string_view input, std::string_view sig)
{
    if (k.alg == "HS256") return oracle_hmac(k.secret, "SHA256", input, sig);
    if (k.alg == "ES256") return oracle_es256(k.pkey, input, sig);
    if (k.alg == "RS256") return oracle_digest_verify(k.pkey, "SHA256", input, sig);
    if (k.alg == "EdDSA") return oracle_digest_verify(k.pkey, nullptr, input, sig);
    return false;
}

const std::vector<OracleKey> &oracle_keys()
{
    static const std::vector<OracleKey> *keys = new std::vector<OracleKey>(make_oracle_keys());
    return *keys;
}

// `token` was accepted, with `claims`: it must carry a good signature by
// one of our keys, under the alg its header names.
void check_signature_oracle(std::string_view token, const cJSON *claims)
{
    size_t dot1 = token.find('.');
    FUZZ_CHECK(dot1 != std::string_view::npos);
    size_t dot2 = token.find('.', dot1 + 1);
    FUZZ_CHECK(dot2 != std::string_view::npos);
    FUZZ_CHECK(token.find('.', dot2 + 1) == std::string_view::npos);  // exactly three parts

    std::string header_json, payload_json, sig;
    FUZZ_CHECK(oracle_b64url(token.substr(0, dot1), header_json));
    FUZZ_CHECK(oracle_b64url(token.substr(dot1 + 1, dot2 - dot1 - 1), payload_json));
    FUZZ_CHECK(oracle_b64url(token.substr(dot2 + 1), sig));

    const char *end = nullptr;
    JsonPtr header(cJSON_ParseWithLengthOpts(header_json.c_str(), header_json.size(), &end, 0));
    FUZZ_CHECK(header != nullptr && cJSON_IsObject(header.get()));
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header.get(), "alg");
    FUZZ_CHECK(cJSON_IsString(alg) && alg->valuestring != nullptr);
    const std::string alg_name = alg->valuestring;
    std::string lower;
    for (char c : alg_name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    FUZZ_CHECK(lower != "none");

    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(header.get(), "kid");
    FUZZ_CHECK(kid == nullptr || (cJSON_IsString(kid) && kid->valuestring != nullptr));
    const std::string_view input = token.substr(0, dot2);
    bool alg_known = false, good = false;
    for (const OracleKey &k : oracle_keys()) {
        if (kid != nullptr && k.kid != kid->valuestring) continue;  // a kid names exactly its key
        if (k.alg != alg_name) continue;                             // the key's alg, exactly
        alg_known = true;
        if (oracle_signature(k, input, sig)) good = true;
    }
    FUZZ_CHECK(alg_known);  // the header's alg is the chosen key's algorithm
    FUZZ_CHECK(good);       // and its signature really holds

    // The claims handed out are the payload that was signed.
    JsonPtr payload(cJSON_ParseWithLengthOpts(payload_json.c_str(), payload_json.size(), &end, 0));
    FUZZ_CHECK(payload != nullptr);
    FUZZ_CHECK(claims == nullptr || same_json(payload.get(), claims));
}

// restauth_protect_verify, then every claim through restauth_identity_claim.
restauth_token_status_t protect(std::string_view token, uint8_t flags, int64_t now)
{
    const bool cookie = flags & 1, post = flags & 2;
    std::string authorization, cookie_header = "csrftoken=t0k; theme=dark";
    if (cookie) {
        cookie_header += "; access=" + std::string(token);
    } else {
        authorization = "Bearer " + std::string(token);
    }
    restauth_credentials_t cred{};  // every field set: reason was added later
    char reason[128];
    std::memset(reason, 'x', sizeof reason);
    cred.reason = reason;
    cred.reason_size = sizeof reason;
    cred.method = S(post ? "POST" : "GET");
    cred.authorization = S(authorization);
    cred.cookie = S(cookie_header);
    cred.csrf_header = S((flags & 0x30) == 0x30 ? "wrong" : "t0k");
    cred.now = now;

    restauth_identity_t *identity = nullptr;
    restauth_token_status_t st = restauth_protect_verify(world().api, &cred, &identity);
    FUZZ_CHECK((st == RESTAUTH_TOKEN_OK) == (identity != nullptr));
    FUZZ_CHECK(restauth_token_error_body(st).len > 0 || st == RESTAUTH_TOKEN_OK);
    FUZZ_CHECK(std::memchr(reason, '\0', sizeof reason) != nullptr);  // always terminated
    if (identity == nullptr) return st;

    // Re-read the claims the identity holds by verifying directly what the
    // core took from the header or the cookie (the cookie value may be
    // just a part of `token`).
    Settings settings;
    settings.cookie_access = "access";
    std::string presented;
    FUZZ_CHECK(extract_access_token(settings, authorization, cookie_header, presented) == RESTAUTH_TOKEN_OK);
    JsonPtr claims;
    JwtStatus js = world().verifier.verify(presented, now, 30, claims);
    FUZZ_CHECK(js == JwtStatus::Ok);
    check_signature_oracle(presented, claims.get());
    for (const std::string &path : claim_paths(claims.get())) {
        restauth_str_t value{nullptr, 0};
        if (!restauth_identity_claim(identity, S(path), &value)) continue;
        FUZZ_CHECK(value.data != nullptr);
        for (size_t i = 0; i < value.len; i++) {
            unsigned char c = static_cast<unsigned char>(value.data[i]);
            FUZZ_CHECK(c >= 0x20 && c != 0x7f);
        }
    }
    // The session key: present exactly when "sid" reads as non-empty text.
    restauth_str_t key{nullptr, 0};
    std::string sid;
    bool has_sid = claim_text(claims.get(), "sid", sid) && !sid.empty();
    FUZZ_CHECK(restauth_identity_session_key(world().api, identity, &key) == (has_sid ? 1 : 0));
    if (has_sid) FUZZ_CHECK(key.data != nullptr && key.len > sid.size());
    restauth_identity_destroy(identity);
    return st;
}

void verify_mode(std::string_view token, uint8_t flags)
{
    const int64_t now = kNows[(flags >> 2) & 3];
    const int64_t leeway = kLeeways[(flags >> 4) & 3];
    if (flags & 0x40) {
        protect(token, flags, now);
        return;
    }
    JsonPtr claims;
    JwtStatus st = world().verifier.verify(token, now, leeway, claims);
    FUZZ_CHECK(std::strcmp(jwt_status_name(st), "unknown") != 0);
    FUZZ_CHECK((st == JwtStatus::Ok) == (claims != nullptr));
    if (st == JwtStatus::Ok) {
        FUZZ_CHECK(cJSON_IsObject(claims.get()));
        check_signature_oracle(token, claims.get());
        check_claim_text(claims.get());
    }
    // A smaller cap only ever turns a verdict into TooLarge.
    JsonPtr claims2;
    JwtStatus st2 = world().verifier.verify(token, now, leeway, claims2, 64);
    FUZZ_CHECK(st2 == (token.size() > 64 ? JwtStatus::TooLarge : st));
}

void sign_mode(uint8_t signer_byte, std::string_view claims_json, uint8_t flags)
{
    const int64_t now = kNows[(flags >> 2) & 3];
    const int64_t leeway = kLeeways[(flags >> 4) & 3];
    const KeySet &signer = *world().signers[signer_byte % world().signers.size()];

    std::string token = signer.sign(claims_json);
    if (token.empty()) return;  // not a strict JSON object: refused

    JsonPtr claims;
    JwtStatus st = world().verifier.verify(token, now, leeway, claims, SIZE_MAX);
    // sign() and verify() share the payload rules, so the only verdicts
    // left are about time.
    FUZZ_CHECK(st == JwtStatus::Ok || st == JwtStatus::Expired || st == JwtStatus::NotYetValid ||
               st == JwtStatus::BadClaimType);
    if (st != JwtStatus::Ok) return;

    // The claims come back as they went in.
    const char *end = nullptr;
    std::string copy(claims_json);
    JsonPtr original(cJSON_ParseWithLengthOpts(copy.c_str(), copy.size(), &end, 0));
    FUZZ_CHECK(original != nullptr);
    FUZZ_CHECK(same_json(original.get(), claims.get()));
    check_signature_oracle(token, claims.get());
    check_claim_text(claims.get());

    // The C API path on the same token (iss/aud/token_type may well be
    // missing: then it is simply invalid).
    protect(token, flags, now);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    world();
    oracle_keys();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t flags = data[0];
    if (flags & 0x80) {
        if (size < 2) return 0;
        sign_mode(data[1], fuzz::view(data + 2, size - 2), flags);
    } else {
        verify_mode(fuzz::view(data + 1, size - 1), flags);
    }
    return 0;
}
