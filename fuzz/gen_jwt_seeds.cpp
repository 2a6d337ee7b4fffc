// Writes the seed inputs of fuzz_jwt (see the input layout there) into the
// directory given as argv[1], as gen-<name> files:  make -C fuzz seeds.
//
// Tokens are signed here with OpenSSL directly, not with KeySet::sign, so
// seeds can carry any header (kid, crit, duplicate members, odd alg) and
// any flaw; the keys are those of fuzz_keys.h.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "encoding.h"
#include "fuzz_keys.h"

namespace {

std::string g_dir;

void write_seed(const std::string &name, uint8_t flags, std::string_view payload)
{
    std::string path = g_dir + "/gen-" + name;
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) {
        std::perror(path.c_str());
        std::exit(1);
    }
    std::fputc(flags, f);
    std::fwrite(payload.data(), 1, payload.size(), f);
    std::fclose(f);
}

std::string b64u(std::string_view s)
{
    return restauth::base64url_encode(s);
}

EVP_PKEY *load(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (!k) {
        std::fprintf(stderr, "cannot load a key\n");
        std::exit(1);
    }
    return k;
}

std::string hs256(std::string_view secret, std::string_view input)
{
    unsigned char mac[32];
    unsigned len = sizeof mac;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char *>(input.data()), input.size(), mac, &len);
    return std::string(reinterpret_cast<char *>(mac), len);
}

std::string evp_sign(const char *pem, const EVP_MD *md, std::string_view input)
{
    EVP_PKEY *k = load(pem);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, md, nullptr, k);
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char *>(input.data()), input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char *>(&sig[0]), &len,
                   reinterpret_cast<const unsigned char *>(input.data()), input.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return sig;
}

// ECDSA as JWS wants it: R || S, 32 bytes each (der = true keeps OpenSSL's
// DER form, which verifiers must refuse).
std::string es256(const char *pem, std::string_view input, bool der = false)
{
    std::string d = evp_sign(pem, EVP_sha256(), input);
    if (der) return d;
    const unsigned char *p = reinterpret_cast<const unsigned char *>(d.data());
    ECDSA_SIG *sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(d.size()));
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    std::string raw(64, '\0');
    BN_bn2binpad(r, reinterpret_cast<unsigned char *>(&raw[0]), 32);
    BN_bn2binpad(s, reinterpret_cast<unsigned char *>(&raw[32]), 32);
    ECDSA_SIG_free(sig);
    return raw;
}

enum class Signer { HS, HS2, ES, ES2, ED, RS, None };

std::string sign(Signer s, std::string_view input)
{
    switch (s) {
    case Signer::HS: return hs256(fuzzkeys::kHsSecret, input);
    case Signer::HS2: return hs256(fuzzkeys::kHsSecret2, input);
    case Signer::ES: return es256(fuzzkeys::kEcPrivate, input);
    case Signer::ES2: return es256(fuzzkeys::kEc2Private, input);
    case Signer::ED: return evp_sign(fuzzkeys::kEdPrivate, nullptr, input);
    case Signer::RS: return evp_sign(fuzzkeys::kRsaPrivate, EVP_sha256(), input);
    case Signer::None: return "";
    }
    return "";
}

std::string token(std::string_view header, std::string_view claims, Signer s)
{
    std::string input = b64u(header) + "." + b64u(claims);
    return input + "." + b64u(sign(s, input));
}

// An access token simplejwt-style, valid at now = 1700000000 (flags 0).
const std::string kAccess =
    R"({"token_type":"access","exp":1700000300,"iat":1700000000,"jti":"6f1c2b0e9d8a4c7b","user_id":42,)"
    R"("sid":"s1","username":"alice","email":"alice@example.com","iss":"https://issuer.example","aud":"api"})";
const std::string kRefresh =
    R"({"token_type":"refresh","exp":1700086400,"iat":1700000000,"jti":"0a1b2c3d","user_id":42,)"
    R"("sid":"s1","iss":"https://issuer.example","aud":["web","api"]})";
const std::string kRich =
    R"({"token_type":"access","exp":1700000300,"jti":"j","user_id":7,"iss":"https://issuer.example",)"
    R"("aud":["x","api"],"roles":["admin","user"],"a":{"b":"c","n":1.5},"flag":true,"big":12345678901234567890,)"
    R"("name":"Zo\u00eb \u2603","ctl":"a\u0001b","nul":null,"f":0.1,"e":1e300})";

}  // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    g_dir = argv[1];

    const std::string hs = R"({"alg":"HS256","typ":"JWT"})";
    const std::string hs2 = R"({"alg":"HS256","typ":"JWT","kid":"hs-2"})";
    const std::string es = R"({"alg":"ES256","typ":"JWT","kid":"ec-1"})";
    const std::string es2 = R"({"alg":"ES256","typ":"JWT"})";
    const std::string ed = R"({"alg":"EdDSA","typ":"JWT","kid":"ed-1"})";
    const std::string rs = R"({"alg":"RS256","typ":"JWT","kid":"rs-1"})";

    // ---- valid tokens, KeySet::verify (flags 0: now 1700000000, leeway 0)
    write_seed("hs256", 0x00, token(hs, kAccess, Signer::HS));
    write_seed("hs256-kid", 0x00, token(hs2, kAccess, Signer::HS2));
    write_seed("es256-kid", 0x00, token(es, kAccess, Signer::ES));
    write_seed("es256-pubkey", 0x00, token(es2, kAccess, Signer::ES2));
    write_seed("eddsa-kid", 0x00, token(ed, kAccess, Signer::ED));
    write_seed("rs256-kid", 0x00, token(rs, kAccess, Signer::RS));
    write_seed("hs256-rich", 0x00, token(hs, kRich, Signer::HS));
    write_seed("eddsa-rich", 0x00, token(ed, kRich, Signer::ED));
    write_seed("hs256-minimal", 0x00, token(R"({"alg":"HS256"})", "{}", Signer::HS));
    write_seed("hs256-spaces", 0x00, token(" {\"alg\" : \"HS256\"}\n", " {\"x\":[1,{\"y\":[]}]} ", Signer::HS));

    // ---- time claims (flags pick now and leeway)
    write_seed("expired", 0x00, token(hs, R"({"exp":1600000000})", Signer::HS));
    write_seed("expired-leeway60", 0x10, token(hs, R"({"exp":1699999990})", Signer::HS));
    write_seed("nbf-future", 0x00, token(hs, R"({"nbf":1800000000,"exp":1900000000})", Signer::HS));
    write_seed("exp-string", 0x00, token(hs, R"({"exp":"1700000300"})", Signer::HS));
    write_seed("exp-inf", 0x00, token(hs, R"({"exp":1e999})", Signer::HS));
    write_seed("iat-bool", 0x00, token(hs, R"({"iat":true})", Signer::HS));
    write_seed("now-min", 0x0c, token(hs, R"({"exp":-9.3e18,"nbf":-1e300})", Signer::HS));
    write_seed("now-max-leeway-max", 0x38, token(hs, R"({"exp":9.3e18,"nbf":9.2e18})", Signer::HS));
    write_seed("exp-fraction", 0x20, token(es, R"({"exp":1700000000.5})", Signer::ES));

    // ---- payloads refused after the signature
    write_seed("payload-dup", 0x00, token(hs, R"({"sub":"alice","sub":"admin"})", Signer::HS));
    write_seed("payload-dup-escaped", 0x00, token(hs, R"({"exp":1,"\u0065xp":2e9})", Signer::HS));
    write_seed("payload-nul", 0x00, token(hs, R"({"sub":"admin\u0000x"})", Signer::HS));
    write_seed("payload-array", 0x00, token(hs, R"([1,2])", Signer::HS));
    write_seed("payload-trailing", 0x00, token(hs, R"({"a":1} x)", Signer::HS));
    write_seed("payload-bad-utf8", 0x00, token(hs, "{\"a\":\"\xc3\x28\"}", Signer::HS));
    write_seed("payload-bom", 0x00, token(hs, "\xef\xbb\xbf{}", Signer::HS));
    write_seed("payload-ctl", 0x00, token(hs, "{\"a\":\"x\x01y\"}", Signer::HS));

    // ---- headers and key choice
    write_seed("alg-none", 0x00, b64u(R"({"alg":"none","typ":"JWT"})") + "." + b64u(kAccess) + ".");
    write_seed("alg-NoNe", 0x00, b64u(R"({"alg":"NoNe"})") + "." + b64u(kAccess) + ".");
    write_seed("alg-HS512", 0x00, token(R"({"alg":"HS512"})", kAccess, Signer::HS));
    write_seed("alg-missing", 0x00, token(R"({"typ":"JWT"})", kAccess, Signer::HS));
    write_seed("alg-number", 0x00, token(R"({"alg":256})", kAccess, Signer::HS));
    write_seed("kid-unknown", 0x00, token(R"({"alg":"HS256","kid":"nope"})", kAccess, Signer::HS));
    write_seed("kid-wrong-alg", 0x00, token(R"({"alg":"HS256","kid":"ec-1"})", kAccess, Signer::HS));
    write_seed("kid-number", 0x00, token(R"({"alg":"ES256","kid":1})", kAccess, Signer::ES));
    write_seed("kid-empty", 0x00, token(R"({"alg":"HS256","kid":""})", kAccess, Signer::HS));
    write_seed("crit", 0x00, token(R"({"alg":"HS256","crit":["exp"],"exp":1})", kAccess, Signer::HS));
    write_seed("header-dup-alg", 0x00, token(R"({"alg":"none","alg":"HS256"})", kAccess, Signer::HS));
    write_seed("header-jwk", 0x00,
               token(R"({"alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},"jku":"http://x"})",
                     kAccess, Signer::ES2));
    write_seed("header-array", 0x00, token("[]", kAccess, Signer::HS));
    write_seed("header-not-json", 0x00, token("alg", kAccess, Signer::HS));
    // Algorithm confusion: an HS256 token whose "secret" is the EdDSA key's PEM.
    write_seed("confusion", 0x00, [&] {
        std::string input = b64u(R"({"alg":"HS256","kid":"ed-1"})") + "." + b64u(kAccess);
        return input + "." + b64u(hs256(fuzzkeys::kEdPrivate, input));
    }());

    // ---- signatures and encodings
    {
        std::string t = token(es, kAccess, Signer::ES);
        std::string flipped = t;
        flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
        write_seed("es256-flipped", 0x00, flipped);
        write_seed("es256-truncated", 0x00, t.substr(0, t.size() - 2));
        std::string input = t.substr(0, t.rfind('.'));
        write_seed("es256-der", 0x00, input + "." + b64u(es256(fuzzkeys::kEcPrivate, input, true)));
        write_seed("es256-nosig", 0x00, input + ".");
        write_seed("es256-padded", 0x00, t + "==");

        std::string h = token(hs, kAccess, Signer::HS);
        std::string other = h;
        other[h.find('.') + 3] ^= 1;  // payload changed, signature kept
        write_seed("hs256-payload-changed", 0x00, other);
        write_seed("hs256-four-parts", 0x00, h + ".x");
        write_seed("hs256-two-parts", 0x00, h.substr(0, h.rfind('.')));
        std::string plus = h;
        for (char &c : plus) c = c == '-' ? '+' : c == '_' ? '/' : c;
        write_seed("hs256-std-base64", 0x00, plus);
        write_seed("hs256-too-long", 0x00, h + std::string(8200, 'A'));
        write_seed("empty-parts", 0x00, "..");
        write_seed("dots", 0x00, "a.b.c");
        write_seed("rs256-short-sig", 0x00, token(rs, kAccess, Signer::HS));
        write_seed("eddsa-as-es256", 0x00, token(R"({"alg":"ES256","kid":"ed-1"})", kAccess, Signer::ED));
    }

    // ---- restauth_protect_verify (bit 6)
    write_seed("protect-bearer", 0x40, token(hs, kAccess, Signer::HS));
    write_seed("protect-bearer-eddsa", 0x40, token(ed, kRich, Signer::ED));
    write_seed("protect-cookie-get", 0x41, token(es, kAccess, Signer::ES));
    write_seed("protect-cookie-post", 0x43, token(hs, kAccess, Signer::HS));
    write_seed("protect-cookie-post-bad-csrf", 0x73, token(hs, kAccess, Signer::HS));
    write_seed("protect-refresh", 0x40, token(hs, kRefresh, Signer::HS));
    write_seed("protect-no-iss", 0x40,
               token(hs, R"({"token_type":"access","exp":1700000300,"jti":"j","user_id":1,"aud":"api"})",
                     Signer::HS));
    write_seed("protect-space", 0x40, "a b");

    // ---- sign mode (bit 7): byte 1 picks the signer, then claims JSON
    auto sign_seed = [](const std::string &name, uint8_t flags, char signer, std::string_view claims) {
        write_seed(name, flags, std::string(1, signer) + std::string(claims));
    };
    sign_seed("sign-hs-access", 0x80, 0, kAccess);
    sign_seed("sign-es-rich", 0x80, 1, kRich);
    sign_seed("sign-ed-refresh", 0x80, 2, kRefresh);
    sign_seed("sign-hs2-empty", 0x80, 3, "{}");
    sign_seed("sign-hs-expired", 0x80, 0, R"({"exp":1})");
    sign_seed("sign-hs-nbf", 0x84, 0, R"({"nbf":1,"exp":2})");
    sign_seed("sign-hs-nested", 0x80, 0, R"({"a":{"b":{"c":[1,"x",true,null,{"d":-0.0}]}},"e":"\ud83d\ude00"})");
    sign_seed("sign-hs-dup", 0x80, 0, R"({"a":1,"a":2})");
    sign_seed("sign-hs-nul", 0x80, 0, R"({"a":"\u0000"})");
    sign_seed("sign-hs-lone-surrogate", 0x80, 0, R"({"a":"\ud800"})");
    sign_seed("sign-hs-exp-inf", 0x80, 0, R"({"exp":-1e999})");
    sign_seed("sign-hs-not-object", 0x80, 0, "[1]");
    return 0;
}
