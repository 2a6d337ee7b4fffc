// bench/protect_cost — the core's share of one restauth_protect request,
// through the C API the nginx glue calls: restauth_protect_verify on an
// HS256 bearer token, then restauth_identity_claim for the three default
// claim headers (user_id, username, email) and two more (jti, sid), then
// restauth_identity_destroy.
//
// The token is the kind bench/run's login hands out (the same claims, the
// same t/keys/hs256.key), signed here with OpenSSL's HMAC.
//
//   bench/protect_cost [ITERATIONS] [fresh]
//
// Prints ns per request (wall clock: noisy on a shared machine).  For
// numbers that do not depend on other load, count instructions instead:
//
//   valgrind --tool=callgrind --toggle-collect='protect_loop*' \
//       --callgrind-out-file=/dev/null bench/protect_cost 1000
//
// and divide the "Collected" Ir by the iterations.  "fresh" signs a new
// token (another jti) for every iteration, so that a cache of verified
// tokens never hits: the cost of a first sight.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "restauth.h"

namespace {

std::string b64url(const std::string &in)
{
    static const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        unsigned w = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += abc[w >> 18];
        out += abc[(w >> 12) & 63];
        out += abc[(w >> 6) & 63];
        out += abc[w & 63];
    }
    if (in.size() - i == 1) {
        unsigned w = (unsigned char)in[i] << 16;
        out += abc[w >> 18];
        out += abc[(w >> 12) & 63];
    } else if (in.size() - i == 2) {
        unsigned w = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out += abc[w >> 18];
        out += abc[(w >> 12) & 63];
        out += abc[(w >> 6) & 63];
    }
    return out;
}

std::string sign(const std::string &secret, const std::string &claims)
{
    std::string input = b64url(R"({"alg":"HS256","typ":"JWT"})") + "." + b64url(claims);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret.data(), (int)secret.size(), (const unsigned char *)input.data(), input.size(),
         mac, &len);
    return input + "." + b64url(std::string((const char *)mac, len));
}

std::string token_for(const std::string &secret, long now, unsigned n)
{
    char jti[33], sid[33];
    std::snprintf(jti, sizeof jti, "%032x", n);
    std::snprintf(sid, sizeof sid, "%032x", 0x5151u);
    std::string claims = "{\"token_type\":\"access\",\"exp\":" + std::to_string(now + 3600) +
                         ",\"iat\":" + std::to_string(now) + ",\"jti\":\"" + jti +
                         "\",\"user_id\":1,\"sid\":\"" + sid +
                         "\",\"username\":\"bench_hi\",\"email\":\"bench_hi@example.com\"}";
    return sign(secret, claims);
}

restauth_str_t S(const char *s)
{
    return restauth_str_t{s, std::strlen(s)};
}

restauth_str_t S(const std::string &s)
{
    return restauth_str_t{s.data(), s.size()};
}

const char *const kClaims[] = {"user_id", "username", "email", "jti", "sid"};

}  // namespace

// Not static and not inlined, so that callgrind can collect just this.
extern "C" __attribute__((noinline)) size_t protect_loop(const restauth_api_t *api,
                                                         const std::vector<std::string> &auth,
                                                         long now, long iterations)
{
    size_t bytes = 0;
    for (long i = 0; i < iterations; i++) {
        const std::string &a = auth[static_cast<size_t>(i) % auth.size()];
        restauth_credentials_t cred{};
        cred.method = S("GET");
        cred.authorization = S(a);
        cred.now = now;
        restauth_identity_t *id = nullptr;
        if (restauth_protect_verify(api, &cred, &id) != RESTAUTH_TOKEN_OK) {
            std::fprintf(stderr, "protect_cost: the token did not verify\n");
            std::exit(1);
        }
        for (const char *c : kClaims) {
            restauth_str_t v;
            if (!restauth_identity_claim(id, S(c), &v)) {
                std::fprintf(stderr, "protect_cost: no claim %s\n", c);
                std::exit(1);
            }
            bytes += v.len;
        }
        restauth_identity_destroy(id);
    }
    return bytes;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? std::atol(argv[1]) : 200000;
    bool fresh = argc > 2 && std::strcmp(argv[2], "fresh") == 0;
    if (iterations <= 0) return 2;

    std::ifstream f(std::string(ROOT) + "/t/keys/hs256.key", std::ios::binary);
    std::string secret((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (secret.empty()) {
        std::fprintf(stderr, "protect_cost: cannot read t/keys/hs256.key\n");
        return 1;
    }

    restauth_keyset_t *keys = restauth_keyset_create();
    char err[256] = "";
    if (restauth_keyset_add(keys, S("HS256"), S(secret), S(""), err, sizeof err) != 0) {
        std::fprintf(stderr, "protect_cost: %s\n", err);
        return 1;
    }
    restauth_settings_t s;
    restauth_settings_defaults(&s);
    restauth_api_t *api = restauth_api_create(&s, keys, err, sizeof err);
    if (api == nullptr) {
        std::fprintf(stderr, "protect_cost: %s\n", err);
        return 1;
    }

    long now = static_cast<long>(std::time(nullptr));
    std::vector<std::string> auth;
    for (unsigned n = 0; n < (fresh ? static_cast<unsigned>(iterations) + 100 : 1u); n++) {
        auth.push_back("Bearer " + token_for(secret, now, n + 1));
    }

    // Warm-up (first-use allocations, OpenSSL's lazy provider loading).
    protect_loop(api, std::vector<std::string>(auth.end() - 1, auth.end()), now, 100);

    auto t0 = std::chrono::steady_clock::now();
    size_t bytes = protect_loop(api, auth, now, iterations);
    auto t1 = std::chrono::steady_clock::now();
    double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(iterations);
    std::printf("%ld requests, %.0f ns per request (verify + %zu claims; %zu claim bytes in all)\n", iterations,
                ns, sizeof kClaims / sizeof kClaims[0], bytes);

    restauth_api_destroy(api);
    restauth_keyset_destroy(keys);
    return 0;
}
