// Unit tests for src/jwt.*: RFC known answers, round trips for every
// algorithm, key loading rules, and one test per attack on verification.
//
// Test keys are generated at run time (EVP_PKEY_Q_keygen); the RFC keys are
// rebuilt from the published JWK parameters.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "crypto.h"
#include "encoding.h"
#include "jwt.h"
#include "ossl.h"

using namespace restauth;

namespace {

constexpr int64_t kNow = 1700000000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";         // 32 bytes
const std::string kSecret2 = "fedcba9876543210fedcba9876543210fedcba98";  // 40 bytes

// ---- helpers ------------------------------------------------------------------

std::string b64(std::string_view s)
{
    return base64url_encode(s);
}

std::string unb64(std::string_view s)
{
    std::string out;
    if (!base64url_decode(s, out)) fail_msg("bad base64url in test: %.*s", int(s.size()), s.data());
    return out;
}

std::vector<std::string> split(const std::string &token)
{
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        size_t dot = token.find('.', start);
        parts.push_back(token.substr(start, dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return parts;
}

// An HS256 token over arbitrary (already encoded) parts, so tests can
// build tokens our signer would never produce.
std::string hs256_over(const std::string &header64, const std::string &payload64,
                       const std::string &secret = kSecret)
{
    std::string input = header64 + "." + payload64;
    return input + "." + b64(hmac_sha256(secret, input));
}

std::string hs256_token(const std::string &header_json, const std::string &payload_json,
                        const std::string &secret = kSecret)
{
    return hs256_over(b64(header_json), b64(payload_json), secret);
}

std::string pem_private(EVP_PKEY *pkey)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    assert_non_null(bio.get());
    assert_int_equal(PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr), 1);
    char *data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, size_t(len));
}

std::string pem_public(EVP_PKEY *pkey)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    assert_non_null(bio.get());
    assert_int_equal(PEM_write_bio_PUBKEY(bio.get(), pkey), 1);
    char *data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, size_t(len));
}

struct Pem {
    std::string priv;
    std::string pub;
};

Pem to_pem(EVP_PKEY *raw)
{
    EvpPkeyPtr pkey(raw);
    assert_non_null(pkey.get());
    return Pem{pem_private(pkey.get()), pem_public(pkey.get())};
}

// Generated once per run: RSA key generation is slow.
const Pem &rsa_key()
{
    static const Pem k = to_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048)));
    return k;
}
const Pem &rsa_key2()
{
    static const Pem k = to_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048)));
    return k;
}
const Pem &ec_key()
{
    static const Pem k = to_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    return k;
}
const Pem &ec_key2()
{
    static const Pem k = to_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    return k;
}
const Pem &ed_key()
{
    static const Pem k = to_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    return k;
}

void add(KeySet &ks, JwtAlg alg, std::string_view material, std::string_view kid = "")
{
    std::string error;
    if (!ks.add_key(alg, material, kid, error)) fail_msg("add_key: %s", error.c_str());
}

bool add_fails(JwtAlg alg, std::string_view material, std::string_view kid = "",
               KeySet *into = nullptr)
{
    KeySet local;
    KeySet &ks = into ? *into : local;
    size_t before = ks.size();
    std::string error;
    bool ok = ks.add_key(alg, material, kid, error);
    if (ok) return false;
    assert_false(error.empty());
    assert_int_equal(ks.size(), before);
    return true;
}

KeySet keyset(JwtAlg alg, std::string_view material, std::string_view kid = "")
{
    KeySet ks;
    add(ks, alg, material, kid);
    return ks;
}

// A verify-only key cannot come first, so RFC public keys sit behind a
// throwaway signing secret.
KeySet verify_only(JwtAlg alg, std::string_view public_pem, std::string_view kid = "")
{
    KeySet ks;
    add(ks, JwtAlg::HS512, std::string(64, 'x'), "signer");
    add(ks, alg, public_pem, kid);
    return ks;
}

void assert_status(JwtStatus got, JwtStatus want)
{
    if (got != want) fail_msg("got %s, want %s", jwt_status_name(got), jwt_status_name(want));
}

std::string printed(const cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json);
    assert_non_null(text);
    std::string out = text;
    cJSON_free(text);
    return out;
}

// verify's verdict, after checking that verify_cached agrees with it, on
// first sight and again (when a token that held comes from the cache),
// and hands out the same claims.
JwtStatus verify(const KeySet &ks, const std::string &token, int64_t now = kNow, int64_t leeway = 0)
{
    JsonPtr claims;
    JwtStatus st = ks.verify(token, now, leeway, claims);
    if (st == JwtStatus::Ok) assert_non_null(claims.get());
    else assert_null(claims.get());
    for (int round = 0; round < 2; round++) {
        std::shared_ptr<const VerifiedJwt> cached;
        assert_status(ks.verify_cached(token, now, leeway, cached), st);
        if (st != JwtStatus::Ok) {
            assert_null(cached.get());
            continue;
        }
        assert_non_null(cached.get());
        assert_true(cached->token == token);
        assert_string_equal(printed(cached->claims.get()).c_str(), printed(claims.get()).c_str());
    }
    return st;
}

const char *string_member(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(item) ? item->valuestring : nullptr;
}

EvpPkeyPtr from_params(const char *type, int selection, OSSL_PARAM *params)
{
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    assert_non_null(ctx.get());
    assert_int_equal(EVP_PKEY_fromdata_init(ctx.get()), 1);
    EVP_PKEY *pkey = nullptr;
    assert_int_equal(EVP_PKEY_fromdata(ctx.get(), &pkey, selection, params), 1);
    return EvpPkeyPtr(pkey);
}

// ---- RFC 7515 appendix A / RFC 8037 appendix A values -------------------------

const char *const kRfcPayload64 =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
constexpr int64_t kRfcExp = 1300819380;

const char *const kA1Token =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const char *const kA1Key =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

const char *const kA2N =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d"
    "4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexM"
    "dbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvU"
    "K-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
const char *const kA2E = "AQAB";
const char *const kA2Token =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5j"
    "ujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L0"
    "7Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUi"
    "pUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

const char *const kA3X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const char *const kA3Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const char *const kA3Token =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

const char *const kEdD = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const char *const kEdX = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const char *const kEdToken =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

std::string rfc_rsa_public_pem()
{
    std::string n = unb64(kA2N), e = unb64(kA2E);
    BignumPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char *>(n.data()), int(n.size()), nullptr));
    BignumPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char *>(e.data()), int(e.size()), nullptr));
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    assert_non_null(bld);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get()), 1);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get()), 1);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    assert_non_null(params);
    EvpPkeyPtr pkey = from_params("RSA", EVP_PKEY_PUBLIC_KEY, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pem_public(pkey.get());
}

std::string rfc_ec_public_pem()
{
    std::string point = "\x04" + unb64(kA3X) + unb64(kA3Y);
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, &point[0], point.size()),
        OSSL_PARAM_construct_end(),
    };
    EvpPkeyPtr pkey = from_params("EC", EVP_PKEY_PUBLIC_KEY, params);
    return pem_public(pkey.get());
}

std::string rfc_ed25519_private_pem()
{
    std::string d = unb64(kEdD);
    EvpPkeyPtr pkey(EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char *>(d.data()), d.size()));
    assert_non_null(pkey.get());
    return pem_private(pkey.get());
}

// ---- names ----------------------------------------------------------------------

void test_alg_names_round_trip(void **)
{
    for (JwtAlg a : {JwtAlg::HS256, JwtAlg::HS384, JwtAlg::HS512, JwtAlg::RS256, JwtAlg::ES256,
                     JwtAlg::EdDSA}) {
        auto parsed = parse_jwt_alg(jwt_alg_name(a));
        assert_true(parsed.has_value());
        assert_true(*parsed == a);
    }
    for (const char *bad : {"none", "None", "hs256", "HS256 ", "RS512", "ES512", "PS256", "Ed25519", ""}) {
        assert_false(parse_jwt_alg(bad).has_value());
    }
    assert_string_equal(jwt_status_name(JwtStatus::BadSignature), "bad_signature");
    assert_string_equal(jwt_status_name(JwtStatus::AlgNone), "alg_none");
}

// ---- RFC known answers -----------------------------------------------------------

void test_rfc7515_a1_hs256(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, unb64(kA1Key));
    JsonPtr claims;
    assert_status(ks.verify(kA1Token, kRfcExp - 380, 0, claims), JwtStatus::Ok);
    assert_string_equal(string_member(claims.get(), "iss"), "joe");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(claims.get(), "http://example.com/is_root")));
    // exp is 1300819380: expired from that second on, unless leeway covers it.
    assert_status(verify(ks, kA1Token, kRfcExp), JwtStatus::Expired);
    assert_status(verify(ks, kA1Token, kRfcExp, 1), JwtStatus::Ok);
    assert_status(verify(ks, kA1Token, kNow), JwtStatus::Expired);
}

void test_rfc7515_a2_rs256(void **)
{
    KeySet ks = verify_only(JwtAlg::RS256, rfc_rsa_public_pem());
    assert_status(verify(ks, kA2Token, kRfcExp - 1), JwtStatus::Ok);
    // The published key comes back out of the JWKS unchanged.
    JsonPtr jwks(cJSON_Parse(ks.jwks_json().c_str()));
    const cJSON *key = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jwks.get(), "keys"), 0);
    assert_string_equal(string_member(key, "kty"), "RSA");
    assert_string_equal(string_member(key, "n"), kA2N);
    assert_string_equal(string_member(key, "e"), kA2E);
}

void test_rfc7515_a3_es256(void **)
{
    // The published signature is raw R || S, so this also checks the
    // conversion to OpenSSL's DER.
    KeySet ks = verify_only(JwtAlg::ES256, rfc_ec_public_pem(), "a3");
    assert_status(verify(ks, kA3Token, kRfcExp - 1), JwtStatus::Ok);
    JsonPtr jwks(cJSON_Parse(ks.jwks_json().c_str()));
    const cJSON *key = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jwks.get(), "keys"), 0);
    assert_string_equal(string_member(key, "kty"), "EC");
    assert_string_equal(string_member(key, "crv"), "P-256");
    assert_string_equal(string_member(key, "x"), kA3X);
    assert_string_equal(string_member(key, "y"), kA3Y);
    assert_string_equal(string_member(key, "kid"), "a3");
}

// RFC 8037's example signs the plain text "Example of Ed25519 signing",
// not a claims object.  verify() parses the payload only after the
// signature has been accepted, so BadJson here proves the signature passed,
// and flipping one signature bit turns it into BadSignature.
void test_rfc8037_a4_ed25519(void **)
{
    KeySet ks = keyset(JwtAlg::EdDSA, rfc_ed25519_private_pem());
    assert_status(verify(ks, kEdToken), JwtStatus::BadJson);

    auto parts = split(kEdToken);
    std::string sig = unb64(parts[2]);
    sig[10] ^= 0x01;
    assert_status(verify(ks, parts[0] + "." + parts[1] + "." + b64(sig)), JwtStatus::BadSignature);

    JsonPtr jwks(cJSON_Parse(ks.jwks_json().c_str()));
    const cJSON *key = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jwks.get(), "keys"), 0);
    assert_string_equal(string_member(key, "kty"), "OKP");
    assert_string_equal(string_member(key, "crv"), "Ed25519");
    assert_string_equal(string_member(key, "x"), kEdX);
}

// ---- round trips -------------------------------------------------------------------

void round_trip(JwtAlg alg, const std::string &material, size_t sig_len)
{
    KeySet ks = keyset(alg, material, "key-1");
    const std::string claims = R"({"sub":"42","exp":1700000600,"iat":1700000000})";
    std::string token = ks.sign(claims);
    assert_false(token.empty());

    auto parts = split(token);
    assert_int_equal(parts.size(), 3);
    std::string header = unb64(parts[0]);
    std::string want = std::string(R"({"alg":")") + jwt_alg_name(alg) + R"(","typ":"JWT","kid":"key-1"})";
    assert_string_equal(header.c_str(), want.c_str());
    assert_string_equal(unb64(parts[1]).c_str(), claims.c_str());
    assert_int_equal(unb64(parts[2]).size(), sig_len);

    JsonPtr out;
    assert_status(ks.verify(token, kNow, 0, out), JwtStatus::Ok);
    assert_string_equal(string_member(out.get(), "sub"), "42");

    // Tampered payload.
    std::string forged = parts[0] + "." + b64(R"({"sub":"1","exp":1700000600,"iat":1700000000})") +
                         "." + parts[2];
    assert_status(verify(ks, forged), JwtStatus::BadSignature);
    // Tampered header (kid removed, alg kept).
    forged = b64(std::string(R"({"alg":")") + jwt_alg_name(alg) + R"(","typ":"JWT"})") + "." +
             parts[1] + "." + parts[2];
    assert_status(verify(ks, forged), JwtStatus::BadSignature);
    // Signature with one bit flipped, truncated by a byte, extended by one,
    // and missing.
    std::string sig = unb64(parts[2]);
    std::string flipped = sig;
    flipped[sig.size() / 2] ^= 0x40;
    std::string head = parts[0] + "." + parts[1] + ".";
    assert_status(verify(ks, head + b64(flipped)), JwtStatus::BadSignature);
    assert_status(verify(ks, head + b64(sig.substr(0, sig.size() - 1))), JwtStatus::BadSignature);
    assert_status(verify(ks, head + b64(sig + '\0')), JwtStatus::BadSignature);
    assert_status(verify(ks, head), JwtStatus::BadSignature);
    // Expiry applies to our own tokens too.
    assert_status(verify(ks, token, 1700000600), JwtStatus::Expired);
}

void test_round_trip_hs256(void **)
{
    round_trip(JwtAlg::HS256, kSecret, 32);
}
void test_round_trip_hs384(void **)
{
    round_trip(JwtAlg::HS384, std::string(48, 'k'), 48);
}
void test_round_trip_hs512(void **)
{
    round_trip(JwtAlg::HS512, std::string(64, 'k'), 64);
}
void test_round_trip_rs256(void **)
{
    round_trip(JwtAlg::RS256, rsa_key().priv, 256);
}
void test_round_trip_es256(void **)
{
    round_trip(JwtAlg::ES256, ec_key().priv, 64);
}
void test_round_trip_eddsa(void **)
{
    round_trip(JwtAlg::EdDSA, ed_key().priv, 64);
}

void test_sign_without_kid_omits_it(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string token = ks.sign(R"({"a":1})");
    assert_string_equal(unb64(split(token)[0]).c_str(), R"({"alg":"HS256","typ":"JWT"})");
    assert_status(verify(ks, token), JwtStatus::Ok);
}

void test_sign_escapes_kid(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret, R"(we"ird\kid)");
    std::string token = ks.sign(R"({"a":1})");
    assert_string_equal(unb64(split(token)[0]).c_str(),
                        R"({"alg":"HS256","typ":"JWT","kid":"we\"ird\\kid"})");
    assert_status(verify(ks, token), JwtStatus::Ok);
}

void test_sign_rejects_bad_claims(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    for (const char *bad : {"", "[1]", "42", "not json", R"({"a":1,"a":2})", R"({"a":1} x)",
                            "{\"a\":\"\\u0000\"}", "{\"a\":\"\xff\"}"}) {
        assert_true(ks.sign(bad).empty());
    }
    KeySet empty;
    assert_true(empty.sign(R"({"a":1})").empty());
}

// ---- key selection ---------------------------------------------------------------

void test_verify_selects_key_by_kid(void **)
{
    KeySet ks;
    add(ks, JwtAlg::HS256, kSecret, "k1");
    add(ks, JwtAlg::HS256, kSecret2, "k2");
    std::string claims = R"({"sub":"x"})";
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","kid":"k2"})", claims, kSecret2)),
                  JwtStatus::Ok);
    // The kid pins the key: k1's secret under kid k2 does not verify.
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","kid":"k2"})", claims, kSecret)),
                  JwtStatus::BadSignature);
    // Without a kid every HS256 key is tried.
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256"})", claims, kSecret2)), JwtStatus::Ok);
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256"})", claims, kSecret)), JwtStatus::Ok);
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256"})", claims, kSecret + "!")),
                  JwtStatus::BadSignature);
}

void test_verify_accepts_retired_public_key(void **)
{
    // Key rotation: tokens signed by the old private key still verify once
    // only its public half is kept.
    KeySet old_keys = keyset(JwtAlg::ES256, ec_key2().priv, "old");
    std::string token = old_keys.sign(R"({"sub":"7"})");
    KeySet rotated;
    add(rotated, JwtAlg::ES256, ec_key().priv, "new");
    add(rotated, JwtAlg::ES256, ec_key2().pub, "old");
    assert_status(verify(rotated, token), JwtStatus::Ok);
    // New tokens come from the first key.
    assert_string_equal(unb64(split(rotated.sign("{}"))[0]).c_str(),
                        R"({"alg":"ES256","typ":"JWT","kid":"new"})");
}

void test_verify_rejects_unknown_kid(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret, "k1");
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","kid":"k9"})", "{}")), JwtStatus::UnknownKid);
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","kid":""})", "{}")), JwtStatus::UnknownKid);
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","kid":"K1"})", "{}")), JwtStatus::UnknownKid);
    // A key without a kid cannot be reached through one.
    KeySet nokid = keyset(JwtAlg::HS256, kSecret);
    assert_status(verify(nokid, hs256_token(R"({"alg":"HS256","kid":"k1"})", "{}")), JwtStatus::UnknownKid);
}

void test_verify_rejects_kid_of_another_alg(void **)
{
    KeySet ks;
    add(ks, JwtAlg::HS256, kSecret, "hmac");
    add(ks, JwtAlg::HS512, std::string(64, 'z'), "big");
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","kid":"big"})", "{}")), JwtStatus::AlgMismatch);
    assert_status(verify(ks, hs256_token(R"({"alg":"HS384"})", "{}")), JwtStatus::AlgMismatch);
}

void test_verify_rejects_non_string_kid(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret, "1");
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","kid":1})", "{}")), JwtStatus::Malformed);
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","kid":null})", "{}")), JwtStatus::Malformed);
}

// ---- attacks -------------------------------------------------------------------------

void test_verify_rejects_alg_none(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret, "k1");
    std::string payload = b64(R"({"sub":"admin"})");
    for (const char *none : {"none", "None", "NONE", "nOnE"}) {
        std::string header = b64(std::string(R"({"alg":")") + none + R"("})");
        // The classic form: empty signature.
        assert_status(verify(ks, header + "." + payload + "."), JwtStatus::AlgNone);
        // With a kid, and with something in the signature slot.
        std::string with_kid = b64(std::string(R"({"alg":")") + none + R"(","kid":"k1"})");
        assert_status(verify(ks, with_kid + "." + payload + "."), JwtStatus::AlgNone);
        assert_status(verify(ks, hs256_over(header, payload)), JwtStatus::AlgNone);
    }
}

void test_verify_rejects_unsupported_alg(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    for (const char *alg : {"hs256", "HS257", "RS512", "ES512", "PS256", "ES256K", "Ed25519", ""}) {
        assert_status(verify(ks, hs256_token(std::string(R"({"alg":")") + alg + R"("})", "{}")),
                      JwtStatus::AlgUnsupported);
    }
    assert_status(verify(ks, hs256_token(R"({"typ":"JWT"})", "{}")), JwtStatus::Malformed);
    assert_status(verify(ks, hs256_token(R"({"alg":256})", "{}")), JwtStatus::Malformed);
    assert_status(verify(ks, hs256_token(R"({"alg":["HS256"]})", "{}")), JwtStatus::Malformed);
}

// The classic algorithm confusion: the verifier holds an RSA public key,
// the attacker signs an HS256 token using that public key's PEM as the HMAC
// secret and hopes the verifier does the same.
void test_verify_rejects_alg_confusion_rs256_pem_as_hs256_secret(void **)
{
    KeySet ks;
    add(ks, JwtAlg::RS256, rsa_key().priv, "rsa");
    const std::string &pub = rsa_key().pub;
    const std::string claims = R"({"sub":"admin"})";
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256"})", claims, pub)), JwtStatus::AlgMismatch);
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","kid":"rsa"})", claims, pub)),
                  JwtStatus::AlgMismatch);
    // Nor can the public key be configured as an HMAC secret to begin with.
    assert_true(add_fails(JwtAlg::HS256, pub));
    assert_true(add_fails(JwtAlg::HS512, rsa_key().priv));
    // Same trick against verify-only keys.
    KeySet rotated = verify_only(JwtAlg::RS256, pub, "old");
    assert_status(verify(rotated, hs256_token(R"({"alg":"HS512","kid":"old"})", claims, pub)),
                  JwtStatus::AlgMismatch);
}

void test_verify_rejects_crit_header(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","crit":["exp"],"exp":1})", "{}")),
                  JwtStatus::UnsupportedCrit);
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","b64":false,"crit":["b64"]})", "{}")),
                  JwtStatus::UnsupportedCrit);
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","crit":[]})", "{}")), JwtStatus::UnsupportedCrit);
}

void test_verify_ignores_embedded_keys(void **)
{
    // jwk/jku/x5u in the header must never be used to verify: the
    // signature below is made with a secret the key set does not hold.
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string evil = std::string(32, 'e');
    std::string header = R"({"alg":"HS256","jwk":{"kty":"oct","k":")" + b64(evil) +
                         R"("},"jku":"https://evil.example/jwks"})";
    assert_status(verify(ks, hs256_token(header, "{}", evil)), JwtStatus::BadSignature);
}

void test_verify_rejects_bad_base64(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string token = ks.sign(R"({"sub":"x"})");
    auto p = split(token);
    assert_status(verify(ks, token), JwtStatus::Ok);

    // Padding on any part.
    assert_status(verify(ks, p[0] + "=." + p[1] + "." + p[2]), JwtStatus::BadBase64);
    assert_status(verify(ks, p[0] + "." + p[1] + "." + p[2] + "="), JwtStatus::BadBase64);
    std::string padded_payload = b64(R"({"sub":"xy"})") + "==";
    assert_status(verify(ks, hs256_over(p[0], padded_payload)), JwtStatus::BadBase64);
    // The standard alphabet's '+' and '/' (validly signed, so only the
    // encoding is wrong).
    std::string std_payload = b64("{\"a\":\"\xfb\xff\"}");
    assert_true(std_payload.find_first_of("-_") != std::string::npos);
    std::string plus = std_payload;
    for (char &c : plus) c = c == '-' ? '+' : c == '_' ? '/' : c;
    assert_status(verify(ks, hs256_over(p[0], plus)), JwtStatus::BadBase64);
    std::string sig_std = p[2];
    for (char &c : sig_std) c = c == '-' ? '+' : c == '_' ? '/' : c;
    if (sig_std != p[2]) assert_status(verify(ks, p[0] + "." + p[1] + "." + sig_std), JwtStatus::BadBase64);
    assert_status(verify(ks, "+" + p[0].substr(1) + "." + p[1] + "." + p[2]), JwtStatus::BadBase64);
    assert_status(verify(ks, p[0] + "." + p[1] + "." + "/" + p[2].substr(1)), JwtStatus::BadBase64);
    // Non-canonical trailing bits: same bytes, different spelling.
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string respelled = p[2];
    respelled.back() = alphabet[alphabet.find(respelled.back()) | 1];
    assert_status(verify(ks, p[0] + "." + p[1] + "." + respelled), JwtStatus::BadBase64);
    // Whitespace and impossible lengths.
    assert_status(verify(ks, p[0] + "." + p[1] + " ." + p[2]), JwtStatus::BadBase64);
    assert_status(verify(ks, p[0] + "." + p[1] + "." + p[2] + "AA"), JwtStatus::BadBase64);
}

void test_verify_rejects_wrong_part_count(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string token = ks.sign(R"({"sub":"x"})");
    auto p = split(token);
    for (const std::string &bad : {std::string(), std::string("."), std::string(".."),
                                   std::string("..."), p[0], p[0] + "." + p[1],
                                   token + ".", token + "." + p[2], "." + p[1] + "." + p[2],
                                   p[0] + ".." + p[2]}) {
        assert_status(verify(ks, bad), JwtStatus::Malformed);
    }
}

void test_verify_rejects_non_json_header(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string payload = b64(R"({"sub":"x"})");
    for (const char *header : {"not json", "[\"HS256\"]", "\"HS256\"", "{\"alg\":\"HS256\"} x",
                               "{\"alg\":\"HS256\"", "{\"alg\":\"HS256\",}", "{'alg':'HS256'}",
                               "\xef\xbb\xbf{\"alg\":\"HS256\"}"}) {
        assert_status(verify(ks, hs256_over(b64(header), payload)), JwtStatus::BadJson);
    }
    // Whitespace around the object is JSON, and RFC 7515's own example
    // uses CRLF inside it.
    assert_status(verify(ks, hs256_over(b64("\r\n {\"alg\":\"HS256\"} \n"), payload)), JwtStatus::Ok);
}

void test_verify_rejects_non_object_payload(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    for (const char *payload : {"[]", "42", "\"sub\"", "null", "", "{\"a\":1}{}", "{\"a\":1"}) {
        std::string token = hs256_over(b64(R"({"alg":"HS256"})"), b64(payload));
        JwtStatus st = verify(ks, token);
        // An empty payload is already a structural error.
        assert_status(st, *payload ? JwtStatus::BadJson : JwtStatus::Malformed);
    }
}

void test_verify_rejects_duplicate_claim(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    const std::string h = R"({"alg":"HS256"})";
    assert_status(verify(ks, hs256_token(h, R"({"sub":"alice","sub":"admin"})")), JwtStatus::DuplicateMember);
    // Names compare after unescaping: \u0065xp is exp.
    assert_status(verify(ks, hs256_token(h, R"({"exp":1,"\u0065xp":9999999999})")), JwtStatus::DuplicateMember);
    // In nested objects too, and inside arrays.
    assert_status(verify(ks, hs256_token(h, R"({"a":{"b":1,"b":2}})")), JwtStatus::DuplicateMember);
    assert_status(verify(ks, hs256_token(h, R"({"a":[{"b":1,"b":2}]})")), JwtStatus::DuplicateMember);
    // And in the header.
    assert_status(verify(ks, hs256_token(R"({"alg":"HS256","alg":"none"})", "{}")), JwtStatus::DuplicateMember);
    assert_status(verify(ks, hs256_token(R"({"alg":"none","alg":"HS256"})", "{}")), JwtStatus::DuplicateMember);
    // Similar but distinct names are fine.
    assert_status(verify(ks, hs256_token(h, R"({"sub":"a","Sub":"b","a":{"sub":1}})")), JwtStatus::Ok);
}

void test_verify_rejects_nul_and_bad_utf8(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    const std::string h = R"({"alg":"HS256"})";
    for (const char *payload : {"{\"sub\":\"admin\\u0000x\"}", "{\"sub\":\"a\tb\"}",
                                "{\"sub\":\"\xff\"}", "{\"sub\":\"\xc0\xaf\"}",
                                "{\"sub\":\"\xed\xa0\x80\"}", "{\"sub\":\"\xf4\x90\x80\x80\"}",
                                "{\"sub\":\"\xe2\x82\"}"}) {
        assert_status(verify(ks, hs256_token(h, payload)), JwtStatus::BadJson);
    }
    assert_status(verify(ks, hs256_token(h, std::string("{\"sub\":\"a\0b\"}", 13))), JwtStatus::BadJson);
    // Well-formed non-ASCII, escaped or not, and an escaped backslash
    // before "u0000" are fine.
    JsonPtr claims;
    assert_status(ks.verify(hs256_token(h, "{\"sub\":\"J\xc3\xb6rg \xf0\x9f\x98\x80\",\"e\":\"\\ud83d\\ude00\"}"),
                            kNow, 0, claims),
                  JwtStatus::Ok);
    assert_string_equal(string_member(claims.get(), "sub"), "J\xc3\xb6rg \xf0\x9f\x98\x80");
    assert_string_equal(string_member(claims.get(), "e"), "\xf0\x9f\x98\x80");
    assert_status(verify(ks, hs256_token(h, R"({"path":"C:\\u0000"})")), JwtStatus::Ok);
}

void test_verify_rejects_exp_as_string(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    const std::string h = R"({"alg":"HS256"})";
    for (const char *payload : {R"({"exp":"9999999999"})", R"({"exp":true})", R"({"exp":null})",
                                R"({"exp":[1]})", R"({"nbf":"0"})", R"({"nbf":false})",
                                R"({"iat":"1700000000"})", R"({"iat":{}})", R"({"exp":1e999})",
                                R"({"nbf":-1e999})"}) {
        assert_status(verify(ks, hs256_token(h, payload)), JwtStatus::BadClaimType);
    }
}

void test_verify_rejects_expired(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    const std::string h = R"({"alg":"HS256"})";
    assert_status(verify(ks, hs256_token(h, R"({"exp":1700000000})")), JwtStatus::Expired);
    assert_status(verify(ks, hs256_token(h, R"({"exp":1699999999})")), JwtStatus::Expired);
    assert_status(verify(ks, hs256_token(h, R"({"exp":0})")), JwtStatus::Expired);
    assert_status(verify(ks, hs256_token(h, R"({"exp":1700000000.5})")), JwtStatus::Ok);
    assert_status(verify(ks, hs256_token(h, R"({"exp":1700000001})")), JwtStatus::Ok);
    // Without exp the token does not expire here; requiring exp is policy.
    assert_status(verify(ks, hs256_token(h, R"({"sub":"x"})")), JwtStatus::Ok);
}

void test_verify_rejects_nbf_in_future(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    const std::string h = R"({"alg":"HS256"})";
    assert_status(verify(ks, hs256_token(h, R"({"nbf":1700000001})")), JwtStatus::NotYetValid);
    assert_status(verify(ks, hs256_token(h, R"({"nbf":1700000000})")), JwtStatus::Ok);
    // iat in the future is accepted: only its type is checked.
    assert_status(verify(ks, hs256_token(h, R"({"iat":1800000000})")), JwtStatus::Ok);
}

void test_verify_honours_leeway(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    const std::string h = R"({"alg":"HS256"})";
    std::string exp_past = hs256_token(h, R"({"exp":1699999995})");  // 5 s ago
    assert_status(verify(ks, exp_past, kNow, 0), JwtStatus::Expired);
    assert_status(verify(ks, exp_past, kNow, 5), JwtStatus::Expired);  // now == exp + leeway
    assert_status(verify(ks, exp_past, kNow, 6), JwtStatus::Ok);
    std::string nbf_future = hs256_token(h, R"({"nbf":1700000010})");
    assert_status(verify(ks, nbf_future, kNow, 9), JwtStatus::NotYetValid);
    assert_status(verify(ks, nbf_future, kNow, 10), JwtStatus::Ok);
    // A negative leeway counts as none rather than shortening lifetimes.
    assert_status(verify(ks, hs256_token(h, R"({"exp":1700000001})"), kNow, -100), JwtStatus::Ok);
    // Extreme values do not overflow.
    assert_status(verify(ks, exp_past, INT64_MAX, INT64_MAX), JwtStatus::Ok);
    assert_status(verify(ks, nbf_future, INT64_MIN, 0), JwtStatus::NotYetValid);
}

void test_verify_rejects_too_large(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string token = ks.sign(R"({"pad":")" + std::string(9000, 'a') + R"("})");
    assert_false(token.empty());
    JsonPtr claims;
    assert_status(ks.verify(token, kNow, 0, claims), JwtStatus::TooLarge);
    assert_status(ks.verify(token, kNow, 0, claims, token.size()), JwtStatus::Ok);
    assert_status(ks.verify(token, kNow, 0, claims, token.size() - 1), JwtStatus::TooLarge);
    // The size check comes before anything else.
    assert_status(ks.verify(std::string(9000, '.'), kNow, 0, claims), JwtStatus::TooLarge);
}

void test_verify_rejects_truncated_signature(void **)
{
    struct Case {
        JwtAlg alg;
        std::string material;
    };
    for (const Case &c : {Case{JwtAlg::HS256, kSecret}, Case{JwtAlg::RS256, rsa_key().priv},
                          Case{JwtAlg::ES256, ec_key().priv}, Case{JwtAlg::EdDSA, ed_key().priv}}) {
        KeySet ks = keyset(c.alg, c.material);
        std::string token = ks.sign(R"({"sub":"x"})");
        auto p = split(token);
        std::string sig = unb64(p[2]);
        for (size_t keep : {sig.size() - 1, sig.size() / 2, size_t(1)}) {
            assert_status(verify(ks, p[0] + "." + p[1] + "." + b64(sig.substr(0, keep))),
                          JwtStatus::BadSignature);
        }
        // Chopping encoded characters instead: either the encoding or the
        // signature is wrong, never Ok.
        for (size_t chop = 1; chop <= 3; chop++) {
            JwtStatus st = verify(ks, token.substr(0, token.size() - chop));
            assert_true(st == JwtStatus::BadBase64 || st == JwtStatus::BadSignature);
        }
    }
}

void test_verify_rejects_es256_der_signature(void **)
{
    KeySet ks = keyset(JwtAlg::ES256, ec_key().priv);
    std::string token = ks.sign(R"({"sub":"x"})");
    auto p = split(token);
    std::string raw = unb64(p[2]);
    assert_int_equal(raw.size(), 64);

    // The same signature in OpenSSL's DER form, as a naive signer emits it.
    const auto *r = reinterpret_cast<const unsigned char *>(raw.data());
    EcdsaSigPtr sig(ECDSA_SIG_new());
    assert_int_equal(ECDSA_SIG_set0(sig.get(), BN_bin2bn(r, 32, nullptr), BN_bin2bn(r + 32, 32, nullptr)), 1);
    int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    std::string der(size_t(len), '\0');
    auto *out = reinterpret_cast<unsigned char *>(&der[0]);
    assert_int_equal(i2d_ECDSA_SIG(sig.get(), &out), len);
    assert_status(verify(ks, p[0] + "." + p[1] + "." + b64(der)), JwtStatus::BadSignature);

    // R || S with a leading zero byte added: right numbers, wrong width.
    assert_status(verify(ks, p[0] + "." + p[1] + "." + b64(std::string(1, '\0') + raw)),
                  JwtStatus::BadSignature);
    // R and S swapped.
    assert_status(verify(ks, p[0] + "." + p[1] + "." + b64(raw.substr(32) + raw.substr(0, 32))),
                  JwtStatus::BadSignature);
    // All zeros (r = s = 0).
    assert_status(verify(ks, p[0] + "." + p[1] + "." + b64(std::string(64, '\0'))), JwtStatus::BadSignature);
    assert_status(verify(ks, token), JwtStatus::Ok);
}

void test_verify_rejects_tampered_payload(void **)
{
    KeySet ks = keyset(JwtAlg::RS256, rsa_key().priv);
    std::string token = ks.sign(R"({"sub":"42","admin":false})");
    auto p = split(token);
    assert_status(verify(ks, token), JwtStatus::Ok);
    assert_status(verify(ks, p[0] + "." + b64(R"({"sub":"42","admin":true})") + "." + p[2]),
                  JwtStatus::BadSignature);
    // A signature from another key of the same algorithm.
    KeySet other = keyset(JwtAlg::RS256, rsa_key2().priv);
    assert_status(verify(ks, other.sign(R"({"sub":"42","admin":false})")), JwtStatus::BadSignature);
}

void test_verify_rejects_rs256_signature_without_leading_zero(void **)
{
    // RFC 8017 signatures are as long as the modulus.  About one in 256 has
    // a leading zero byte; dropping it gives a shorter encoding of the same
    // number, which must be refused.
    KeySet ks = keyset(JwtAlg::RS256, rsa_key().priv);
    for (int i = 0; i < 5000; i++) {
        std::string token = ks.sign(R"({"n":)" + std::to_string(i) + "}");
        auto p = split(token);
        std::string sig = unb64(p[2]);
        if (sig[0] != '\0') continue;
        assert_status(verify(ks, token), JwtStatus::Ok);
        assert_status(verify(ks, p[0] + "." + p[1] + "." + b64(sig.substr(1))), JwtStatus::BadSignature);
        return;
    }
    fail_msg("no RS256 signature with a leading zero byte in 5000 tries");
}

void test_verify_across_algorithms_fails(void **)
{
    // A valid EdDSA token shown to a set holding only an ES256 key.
    KeySet ed = keyset(JwtAlg::EdDSA, ed_key().priv);
    KeySet es = keyset(JwtAlg::ES256, ec_key().priv);
    assert_status(verify(es, ed.sign("{}")), JwtStatus::AlgMismatch);
    assert_status(verify(ed, es.sign("{}")), JwtStatus::AlgMismatch);
}

// ---- adding keys -----------------------------------------------------------------

void test_add_key_hmac_secret_length(void **)
{
    assert_true(add_fails(JwtAlg::HS256, std::string(31, 'k')));
    assert_true(add_fails(JwtAlg::HS384, std::string(47, 'k')));
    assert_true(add_fails(JwtAlg::HS512, std::string(63, 'k')));
    assert_true(add_fails(JwtAlg::HS256, ""));
    KeySet ks;
    add(ks, JwtAlg::HS256, std::string(32, 'k'));
    add(ks, JwtAlg::HS384, std::string(48, 'k'));
    add(ks, JwtAlg::HS512, std::string(64, 'k'));
    assert_int_equal(ks.size(), 3);
}

void test_add_key_rejects_wrong_key_types(void **)
{
    assert_true(add_fails(JwtAlg::RS256, ec_key().priv));
    assert_true(add_fails(JwtAlg::RS256, ed_key().priv));
    assert_true(add_fails(JwtAlg::ES256, rsa_key().priv));
    assert_true(add_fails(JwtAlg::ES256, ed_key().priv));
    assert_true(add_fails(JwtAlg::EdDSA, ec_key().priv));
    assert_true(add_fails(JwtAlg::EdDSA, rsa_key().priv));
    assert_true(add_fails(JwtAlg::RS256, kSecret + kSecret));
    assert_true(add_fails(JwtAlg::ES256, "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"));
}

void test_add_key_rejects_weak_or_other_curves(void **)
{
    Pem rsa1024 = to_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(1024)));
    assert_true(add_fails(JwtAlg::RS256, rsa1024.priv));
    Pem p384 = to_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
    assert_true(add_fails(JwtAlg::ES256, p384.priv));
    Pem k256 = to_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
    assert_true(add_fails(JwtAlg::ES256, k256.priv));
    Pem ed448 = to_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"));
    assert_true(add_fails(JwtAlg::EdDSA, ed448.priv));
}

void test_add_key_rejects_encrypted_pem(void **)
{
    EvpPkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    BioPtr bio(BIO_new(BIO_s_mem()));
    char pass[] = "passphrase";
    assert_int_equal(PEM_write_bio_PrivateKey(bio.get(), pkey.get(), EVP_aes_256_cbc(), nullptr, 0,
                                              nullptr, pass),
                     1);
    char *data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    assert_true(add_fails(JwtAlg::ES256, std::string(data, size_t(len))));
}

void test_add_key_first_key_must_sign(void **)
{
    assert_true(add_fails(JwtAlg::ES256, ec_key().pub));
    assert_true(add_fails(JwtAlg::RS256, rsa_key().pub));
    assert_true(add_fails(JwtAlg::EdDSA, ed_key().pub));
    // Later keys may be public.
    KeySet ks;
    add(ks, JwtAlg::EdDSA, ed_key().priv);
    add(ks, JwtAlg::RS256, rsa_key().pub);
    add(ks, JwtAlg::ES256, ec_key().pub);
    assert_int_equal(ks.size(), 3);
}

void test_add_key_kid_rules(void **)
{
    KeySet ks;
    add(ks, JwtAlg::HS256, kSecret, "a");
    assert_true(add_fails(JwtAlg::HS256, kSecret2, "a", &ks));        // duplicate
    assert_true(add_fails(JwtAlg::HS256, kSecret2, "tab\there", &ks));
    assert_true(add_fails(JwtAlg::HS256, kSecret2, "caf\xc3\xa9", &ks));
    assert_true(add_fails(JwtAlg::HS256, kSecret2, std::string(257, 'k'), &ks));
    add(ks, JwtAlg::HS256, kSecret2, std::string(256, 'k'));
    add(ks, JwtAlg::HS256, kSecret2);  // several keys may lack a kid
    add(ks, JwtAlg::HS256, kSecret);
    assert_int_equal(ks.size(), 4);
}

// ---- JWKS -------------------------------------------------------------------------

void test_jwks_never_contains_hmac_secrets(void **)
{
    KeySet only_hmac = keyset(JwtAlg::HS256, kSecret, "h");
    assert_string_equal(only_hmac.jwks_json().c_str(), R"({"keys":[]})");

    KeySet mixed;
    add(mixed, JwtAlg::HS512, std::string(64, 's'), "hmac");
    add(mixed, JwtAlg::RS256, rsa_key().priv, "rsa");
    add(mixed, JwtAlg::ES256, ec_key().pub, "ec");
    add(mixed, JwtAlg::EdDSA, ed_key().priv);
    std::string jwks = mixed.jwks_json();
    assert_true(jwks.find("hmac") == std::string::npos);
    assert_true(jwks.find("oct") == std::string::npos);
    assert_true(jwks.find(b64(std::string(64, 's')).substr(0, 20)) == std::string::npos);
    // No private parameters either.
    for (const char *priv : {"\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "\"k\""}) {
        assert_true(jwks.find(priv) == std::string::npos);
    }

    JsonPtr doc(cJSON_Parse(jwks.c_str()));
    assert_non_null(doc.get());
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(doc.get(), "keys");
    assert_int_equal(cJSON_GetArraySize(keys), 3);
    const cJSON *rsa = cJSON_GetArrayItem(keys, 0);
    assert_string_equal(string_member(rsa, "kty"), "RSA");
    assert_string_equal(string_member(rsa, "alg"), "RS256");
    assert_string_equal(string_member(rsa, "use"), "sig");
    assert_string_equal(string_member(rsa, "kid"), "rsa");
    assert_int_equal(unb64(string_member(rsa, "n")).size(), 256);
    assert_string_equal(string_member(rsa, "e"), "AQAB");
    const cJSON *ec = cJSON_GetArrayItem(keys, 1);
    assert_string_equal(string_member(ec, "kty"), "EC");
    assert_string_equal(string_member(ec, "crv"), "P-256");
    assert_string_equal(string_member(ec, "alg"), "ES256");
    assert_int_equal(unb64(string_member(ec, "x")).size(), 32);
    assert_int_equal(unb64(string_member(ec, "y")).size(), 32);
    const cJSON *ed = cJSON_GetArrayItem(keys, 2);
    assert_string_equal(string_member(ed, "kty"), "OKP");
    assert_string_equal(string_member(ed, "crv"), "Ed25519");
    assert_string_equal(string_member(ed, "alg"), "EdDSA");
    assert_null(string_member(ed, "kid"));
    assert_int_equal(unb64(string_member(ed, "x")).size(), 32);
}

// ---- object behaviour ----------------------------------------------------------------

void test_keyset_move(void **)
{
    KeySet a = keyset(JwtAlg::HS256, kSecret);
    std::string token = a.sign("{}");
    KeySet b(std::move(a));
    assert_status(verify(b, token), JwtStatus::Ok);
    KeySet c;
    c = std::move(b);
    assert_status(verify(c, token), JwtStatus::Ok);
    assert_int_equal(c.size(), 1);
}

void test_concurrent_sign_and_verify(void **)
{
    std::vector<KeySet> sets;
    sets.push_back(keyset(JwtAlg::RS256, rsa_key().priv));
    sets.push_back(keyset(JwtAlg::ES256, ec_key().priv));
    sets.push_back(keyset(JwtAlg::EdDSA, ed_key().priv));
    sets.push_back(keyset(JwtAlg::HS256, kSecret));
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 40; i++) {
                const KeySet &ks = sets[size_t(i + t) % sets.size()];
                std::string token = ks.sign(R"({"sub":")" + std::to_string(t * 1000 + i) + R"("})");
                JsonPtr claims;
                if (token.empty() || ks.verify(token, kNow, 0, claims) != JwtStatus::Ok) failures++;
                token[token.size() / 2] ^= 1;
                if (ks.verify(token, kNow, 0, claims) == JwtStatus::Ok) failures++;
            }
        });
    }
    for (auto &th : threads) th.join();
    assert_int_equal(failures.load(), 0);
}


// ---- the cache of verified tokens (verify_cached) -------------------------------------

std::shared_ptr<const VerifiedJwt> cached_ok(const KeySet &ks, const std::string &token, int64_t now = kNow,
                                             int64_t leeway = 0)
{
    std::shared_ptr<const VerifiedJwt> out;
    assert_status(ks.verify_cached(token, now, leeway, out), JwtStatus::Ok);
    assert_non_null(out.get());
    return out;
}

JwtStatus cached_status(const KeySet &ks, const std::string &token, int64_t now = kNow, int64_t leeway = 0)
{
    std::shared_ptr<const VerifiedJwt> out;
    JwtStatus st = ks.verify_cached(token, now, leeway, out);
    assert_true((st == JwtStatus::Ok) == (out != nullptr));
    return st;
}

void test_cache_hit_is_the_same_entry(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    assert_int_equal(ks.cached_tokens(), 0);
    std::string token = ks.sign(R"({"sub":"42","exp":1700000600})");
    auto first = cached_ok(ks, token);
    assert_int_equal(ks.cached_tokens(), 1);
    auto second = cached_ok(ks, token);
    assert_ptr_equal(first.get(), second.get());
    assert_int_equal(ks.cached_tokens(), 1);
    assert_string_equal(string_member(second->claims.get(), "sub"), "42");
    // Tokens that fail are not kept.
    assert_status(cached_status(ks, token + "x"), JwtStatus::BadSignature);
    assert_status(cached_status(ks, "a.b"), JwtStatus::Malformed);
    assert_int_equal(ks.cached_tokens(), 1);
}

// Every token that differs from a cached one in any byte is verified in
// full, whatever it shares with it (the same signature, hence the same
// bucket, when only the payload changed).
void test_cache_never_hits_other_bytes(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string token = ks.sign(R"({"sub":"42","admin":false,"exp":1700000600})");
    cached_ok(ks, token);
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t i = 0; i < token.size(); i++) {
        if (token[i] == '.') continue;
        std::string other = token;
        other[i] = token[i] == 'A' ? 'B' : 'A';
        assert_int_equal(cached_status(ks, other), verify(ks, other));
        assert_int_not_equal(cached_status(ks, other), JwtStatus::Ok);
    }
    // The payload swapped for another under the same signature.
    auto parts = split(token);
    std::string forged = parts[0] + "." + b64(R"({"sub":"42","admin":true ,"exp":1700000600})") + "." + parts[2];
    assert_int_equal(forged.size(), token.size());
    assert_status(cached_status(ks, forged), JwtStatus::BadSignature);
    // Longer and shorter.
    assert_int_not_equal(cached_status(ks, token + alphabet[0]), JwtStatus::Ok);
    assert_int_not_equal(cached_status(ks, token.substr(0, token.size() - 1)), JwtStatus::Ok);
    assert_int_equal(ks.cached_tokens(), 1);
}

// exp and nbf are checked again on every hit, with that call's clock and
// leeway.
void test_cache_rechecks_time(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string token = ks.sign(R"({"exp":1700000010,"nbf":1699999990})");
    auto entry = cached_ok(ks, token, kNow);
    assert_int_equal(ks.cached_tokens(), 1);
    assert_ptr_equal(cached_ok(ks, token, kNow + 9).get(), entry.get());
    assert_status(cached_status(ks, token, kNow + 10), JwtStatus::Expired);
    assert_status(cached_status(ks, token, kNow + 10, 1), JwtStatus::Ok);
    assert_status(cached_status(ks, token, kNow + 11, 1), JwtStatus::Expired);
    assert_status(cached_status(ks, token, INT64_MAX, 0), JwtStatus::Expired);
    assert_status(cached_status(ks, token, kNow - 11), JwtStatus::NotYetValid);
    assert_status(cached_status(ks, token, kNow - 11, 1), JwtStatus::Ok);
    assert_status(cached_status(ks, token, kNow - 11, -5), JwtStatus::NotYetValid);
    assert_status(cached_status(ks, token, kNow), JwtStatus::Ok);
    assert_int_equal(ks.cached_tokens(), 1);

    // A token that is not valid yet is not kept, and is once it is.
    std::string later = ks.sign(R"({"nbf":1700000100})");
    assert_status(cached_status(ks, later, kNow), JwtStatus::NotYetValid);
    assert_int_equal(ks.cached_tokens(), 1);
    cached_ok(ks, later, kNow + 100);
    assert_int_equal(ks.cached_tokens(), 2);
    assert_status(cached_status(ks, later, kNow), JwtStatus::NotYetValid);
}

void test_cache_respects_size_cap_and_token_limit(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string token = ks.sign(R"({"sub":"42"})");
    cached_ok(ks, token);
    std::shared_ptr<const VerifiedJwt> out;
    assert_status(ks.verify_cached(token, kNow, 0, out, token.size() - 1), JwtStatus::TooLarge);
    assert_null(out.get());
    // Valid, but too long to keep.
    std::string big = ks.sign(R"({"pad":")" + std::string(TokenCache::kMaxTokenBytes, 'a') + R"("})");
    cached_ok(ks, big, kNow);
    cached_ok(ks, big, kNow);
    assert_int_equal(ks.cached_tokens(), 1);
}

void test_cache_is_bounded_per_key_set(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string first = ks.sign(R"({"n":0})");
    auto held = cached_ok(ks, first);
    for (size_t n = 1; n <= TokenCache::kMaxEntries + 50; n++) {
        cached_ok(ks, ks.sign(R"({"n":)" + std::to_string(n) + "}"));
    }
    assert_int_equal(ks.cached_tokens(), TokenCache::kMaxEntries);
    // The first one was dropped, but what a caller holds stays valid, and
    // the token verifies again as a new entry.
    assert_string_equal(printed(held->claims.get()).c_str(), R"({"n":0})");
    auto again = cached_ok(ks, first);
    assert_ptr_not_equal(again.get(), held.get());
}

VerifiedJwt *entry_for(const std::string &token)
{
    auto *e = new VerifiedJwt;
    e->token = token;
    e->cost = verified_jwt_cost(*e);
    return e;
}

void test_token_cache_drops_least_recently_used(void **)
{
    TokenCache cache(3, TokenCache::kMaxBytes);
    for (const char *t : {"t1", "t2", "t3"}) cache.insert(std::shared_ptr<const VerifiedJwt>(entry_for(t)));
    assert_int_equal(cache.size(), 3);
    assert_non_null(cache.find("t1").get());  // now the most recently used
    cache.insert(std::shared_ptr<const VerifiedJwt>(entry_for("t4")));
    assert_int_equal(cache.size(), 3);
    assert_null(cache.find("t2").get());
    assert_non_null(cache.find("t1").get());
    assert_non_null(cache.find("t3").get());
    assert_non_null(cache.find("t4").get());
    // The same token again replaces its entry.
    std::shared_ptr<const VerifiedJwt> fresh(entry_for("t3"));
    cache.insert(fresh);
    assert_int_equal(cache.size(), 3);
    assert_ptr_equal(cache.find("t3").get(), fresh.get());
    // Only whole tokens match.
    assert_null(cache.find("t").get());
    assert_null(cache.find("t33").get());
    assert_null(cache.find("").get());
    cache.clear();
    assert_int_equal(cache.size(), 0);
    assert_int_equal(cache.bytes(), 0);
    assert_null(cache.find("t1").get());
}

void test_token_cache_is_bounded_in_bytes(void **)
{
    std::shared_ptr<const VerifiedJwt> a(entry_for("a")), b(entry_for("b")), c(entry_for("c"));
    const size_t cost = a->cost;
    assert_true(cost > 0);
    TokenCache cache(100, 2 * cost + cost / 2);
    cache.insert(a);
    cache.insert(b);
    assert_int_equal(cache.size(), 2);
    assert_int_equal(cache.bytes(), 2 * cost);
    cache.insert(c);
    assert_int_equal(cache.size(), 2);
    assert_true(cache.bytes() <= 2 * cost + cost / 2);
    assert_null(cache.find("a").get());
    // An entry bigger than the whole budget is not kept, and evicts nothing.
    JsonPtr claims(cJSON_Parse(("{\"pad\":\"" + std::string(4 * cost, 'x') + "\"}").c_str()));
    auto *big = entry_for("big");
    big->claims = std::move(claims);
    big->cost = verified_jwt_cost(*big);
    assert_true(big->cost > 2 * cost + cost / 2);
    cache.insert(std::shared_ptr<const VerifiedJwt>(big));
    assert_null(cache.find("big").get());
    assert_int_equal(cache.size(), 2);
    // Long tokens are never kept.
    cache.insert(std::shared_ptr<const VerifiedJwt>(entry_for(std::string(TokenCache::kMaxTokenBytes + 1, 't'))));
    assert_int_equal(cache.size(), 2);
}

void test_cache_serves_one_thread(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string token = ks.sign(R"({"sub":"1"})");
    cached_ok(ks, token);  // this thread owns the cache from now on
    assert_int_equal(ks.cached_tokens(), 1);
    std::atomic<int> failures{0};
    std::thread other([&] {
        std::shared_ptr<const VerifiedJwt> out;
        if (ks.verify_cached(ks.sign(R"({"sub":"2"})"), kNow, 0, out) != JwtStatus::Ok) failures++;
        // A token the cache holds is verified in full here: a new entry.
        std::shared_ptr<const VerifiedJwt> again;
        if (ks.verify_cached(token, kNow, 0, again) != JwtStatus::Ok || again == nullptr) failures++;
        std::string forged = token;
        forged[forged.size() / 2] ^= 1;
        if (ks.verify_cached(forged, kNow, 0, out) == JwtStatus::Ok) failures++;
    });
    other.join();
    assert_int_equal(failures.load(), 0);
    assert_int_equal(ks.cached_tokens(), 1);
}

void test_cache_belongs_to_its_keys(void **)
{
    KeySet ks = keyset(JwtAlg::HS256, kSecret);
    std::string token = ks.sign(R"({"sub":"1"})");
    cached_ok(ks, token);
    KeySet other = keyset(JwtAlg::HS256, kSecret2);
    assert_status(cached_status(other, token), JwtStatus::BadSignature);
    // Adding a key empties the cache.
    add(ks, JwtAlg::HS256, kSecret2, "second");
    assert_int_equal(ks.cached_tokens(), 0);
    cached_ok(ks, token);
    assert_int_equal(ks.cached_tokens(), 1);
    // Moved with its keys.
    KeySet moved(std::move(ks));
    assert_int_equal(moved.cached_tokens(), 1);
    cached_ok(moved, token);
}

// Our own headers are recognized by their bytes; any other spelling of the
// same header is parsed and reaches the same verdicts.
void test_header_spellings_agree(void **)
{
    KeySet ks;
    add(ks, JwtAlg::HS256, kSecret, "k1");
    add(ks, JwtAlg::HS256, kSecret2);
    const std::string claims = R"({"sub":"x"})";
    struct Case {
        const char *header;
        const std::string *secret;
        JwtStatus want;
    } cases[] = {
        {R"({"alg":"HS256","typ":"JWT","kid":"k1"})", &kSecret, JwtStatus::Ok},
        {R"({"typ":"JWT","kid":"k1","alg":"HS256"})", &kSecret, JwtStatus::Ok},
        {R"({"alg":"HS256","typ":"JWT","kid":"k1"})", &kSecret2, JwtStatus::BadSignature},
        {R"({"alg":"HS256","typ":"JWT"})", &kSecret, JwtStatus::Ok},  // any key of the alg
        {R"({"alg":"HS256","typ":"JWT"})", &kSecret2, JwtStatus::Ok},
        {R"({"alg":"HS256", "typ":"JWT"})", &kSecret2, JwtStatus::Ok},
        {R"({"alg":"HS384","typ":"JWT"})", &kSecret, JwtStatus::AlgMismatch},
        {R"({"alg":"HS256","typ":"JWT","kid":"k2"})", &kSecret2, JwtStatus::UnknownKid},
        {R"({"alg":"HS256","typ":"JWT","crit":["x"]})", &kSecret, JwtStatus::UnsupportedCrit},
        {R"({"alg":"HS256","typ":"JWT","alg":"HS256"})", &kSecret, JwtStatus::DuplicateMember},
    };
    for (const Case &c : cases) {
        std::string token = hs256_token(c.header, claims, *c.secret);
        JwtStatus got = verify(ks, token);
        if (got != c.want) fail_msg("%s: got %s, want %s", c.header, jwt_status_name(got), jwt_status_name(c.want));
    }
}
}  // namespace

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_names_round_trip),
        cmocka_unit_test(test_rfc7515_a1_hs256),
        cmocka_unit_test(test_rfc7515_a2_rs256),
        cmocka_unit_test(test_rfc7515_a3_es256),
        cmocka_unit_test(test_rfc8037_a4_ed25519),
        cmocka_unit_test(test_round_trip_hs256),
        cmocka_unit_test(test_round_trip_hs384),
        cmocka_unit_test(test_round_trip_hs512),
        cmocka_unit_test(test_round_trip_rs256),
        cmocka_unit_test(test_round_trip_es256),
        cmocka_unit_test(test_round_trip_eddsa),
        cmocka_unit_test(test_sign_without_kid_omits_it),
        cmocka_unit_test(test_sign_escapes_kid),
        cmocka_unit_test(test_sign_rejects_bad_claims),
        cmocka_unit_test(test_verify_selects_key_by_kid),
        cmocka_unit_test(test_verify_accepts_retired_public_key),
        cmocka_unit_test(test_verify_rejects_unknown_kid),
        cmocka_unit_test(test_verify_rejects_kid_of_another_alg),
        cmocka_unit_test(test_verify_rejects_non_string_kid),
        cmocka_unit_test(test_verify_rejects_alg_none),
        cmocka_unit_test(test_verify_rejects_unsupported_alg),
        cmocka_unit_test(test_verify_rejects_alg_confusion_rs256_pem_as_hs256_secret),
        cmocka_unit_test(test_verify_rejects_crit_header),
        cmocka_unit_test(test_verify_ignores_embedded_keys),
        cmocka_unit_test(test_verify_rejects_bad_base64),
        cmocka_unit_test(test_verify_rejects_wrong_part_count),
        cmocka_unit_test(test_verify_rejects_non_json_header),
        cmocka_unit_test(test_verify_rejects_non_object_payload),
        cmocka_unit_test(test_verify_rejects_duplicate_claim),
        cmocka_unit_test(test_verify_rejects_nul_and_bad_utf8),
        cmocka_unit_test(test_verify_rejects_exp_as_string),
        cmocka_unit_test(test_verify_rejects_expired),
        cmocka_unit_test(test_verify_rejects_nbf_in_future),
        cmocka_unit_test(test_verify_honours_leeway),
        cmocka_unit_test(test_verify_rejects_too_large),
        cmocka_unit_test(test_verify_rejects_truncated_signature),
        cmocka_unit_test(test_verify_rejects_es256_der_signature),
        cmocka_unit_test(test_verify_rejects_tampered_payload),
        cmocka_unit_test(test_verify_rejects_rs256_signature_without_leading_zero),
        cmocka_unit_test(test_verify_across_algorithms_fails),
        cmocka_unit_test(test_add_key_hmac_secret_length),
        cmocka_unit_test(test_add_key_rejects_wrong_key_types),
        cmocka_unit_test(test_add_key_rejects_weak_or_other_curves),
        cmocka_unit_test(test_add_key_rejects_encrypted_pem),
        cmocka_unit_test(test_add_key_first_key_must_sign),
        cmocka_unit_test(test_add_key_kid_rules),
        cmocka_unit_test(test_jwks_never_contains_hmac_secrets),
        cmocka_unit_test(test_keyset_move),
        cmocka_unit_test(test_concurrent_sign_and_verify),
        cmocka_unit_test(test_cache_hit_is_the_same_entry),
        cmocka_unit_test(test_cache_never_hits_other_bytes),
        cmocka_unit_test(test_cache_rechecks_time),
        cmocka_unit_test(test_cache_respects_size_cap_and_token_limit),
        cmocka_unit_test(test_cache_is_bounded_per_key_set),
        cmocka_unit_test(test_token_cache_drops_least_recently_used),
        cmocka_unit_test(test_token_cache_is_bounded_in_bytes),
        cmocka_unit_test(test_cache_serves_one_thread),
        cmocka_unit_test(test_cache_belongs_to_its_keys),
        cmocka_unit_test(test_header_spellings_agree),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
