// Unit tests for restauth_protect: the stateless access-token check that
// guards other locations (restauth_protect_verify), the claims handed to the
// upstream as headers (restauth_identity_claim), and the ready-made 401
// bodies and challenges -- all through the C API of src/core/restauth.h,
// but for one test of restauth::identity_claim behind it.
//
// Tokens are signed here with OpenSSL's HMAC, independently of the core's
// signer, so tests can put any claim (or any flaw) into them.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"
#include "jwt.h"
#include "protect.h"
#include "restauth.h"
#include "tokens.h"

namespace {

// ============================================================================
// Fixtures
// ============================================================================

constexpr int64_t kNow = 1700000000;
const std::string kSecret = "protect-test-hs256-secret-0123456789abcdef";  // >= 32 bytes
const std::string kOtherSecret = "another-hs256-secret-that-nobody-trusts-0123";
const char *const kHeaderJson = R"({"alg":"HS256","typ":"JWT"})";

restauth_keyset_t *g_keys = nullptr;

restauth_str_t S(const char *s)
{
    return restauth_str_t{s, std::strlen(s)};
}

restauth_str_t S(const std::string &s)
{
    return restauth_str_t{s.data(), s.size()};
}

std::string str(restauth_str_t s)
{
    return s.data ? std::string(s.data, s.len) : std::string();
}

// ---- the API object ------------------------------------------------------------

struct ApiDeleter {
    void operator()(restauth_api_t *api) const { restauth_api_destroy(api); }
};
using ApiPtr = std::unique_ptr<restauth_api_t, ApiDeleter>;

// tweak may only point the settings at string literals (static storage).
ApiPtr make_api(const std::function<void(restauth_settings_t &)> &tweak = nullptr)
{
    restauth_settings_t s;
    restauth_settings_defaults(&s);
    s.password_iterations = 1000;
    s.csrf = 0;
    for (unsigned &count : s.limit_count) count = 0;
    if (tweak) tweak(s);
    char err[256] = "";
    restauth_api_t *api = restauth_api_create(&s, g_keys, err, sizeof(err));
    if (api == nullptr) fail_msg("restauth_api_create: %s", err);
    return ApiPtr(api);
}

void with_access_cookie(restauth_settings_t &s)
{
    s.cookie_access = S("auth");
}

// ---- tokens signed by the test ---------------------------------------------------

std::string b64url(std::string_view in)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    for (unsigned char c : in) {
        buf = (buf << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(abc[(buf >> bits) & 63]);
        }
    }
    if (bits > 0) out.push_back(abc[(buf << (6 - bits)) & 63]);
    return out;
}

std::string hs256(const std::string &header_json, const std::string &payload_json,
                  const std::string &secret = kSecret)
{
    std::string input = b64url(header_json) + "." + b64url(payload_json);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), secret.data(), int(secret.size()), reinterpret_cast<const unsigned char *>(input.data()),
              input.size(), mac, &len)) {
        fail_msg("HMAC failed");
    }
    return input + "." + b64url(std::string_view(reinterpret_cast<const char *>(mac), len));
}

// simplejwt's access claims, plus `extra` members (",\"k\":v").
std::string claims(const std::string &extra = "", const char *type = "access", int64_t exp = kNow + 300,
                   int user_id = 7)
{
    return "{\"token_type\":\"" + std::string(type) + "\",\"exp\":" + std::to_string(exp) +
           ",\"iat\":" + std::to_string(kNow) + ",\"jti\":\"0123456789abcdef0123456789abcdef\",\"user_id\":" +
           std::to_string(user_id) + ",\"sid\":\"s1\"" + extra + "}";
}

std::string token(const std::string &extra = "", const char *type = "access", int64_t exp = kNow + 300,
                  int user_id = 7)
{
    return hs256(kHeaderJson, claims(extra, type, exp, user_id));
}

// ---- calling restauth_protect_verify ---------------------------------------------------

struct Creds {
    std::string method = "GET";
    std::string authorization;
    std::string cookie;
    std::string csrf_header;
    std::string host;
    std::string origin;
    std::string referer;
    bool secure = false;
    int64_t now = kNow;
    std::string *reason = nullptr;  // receives the reason of a refusal
};

Creds bearer(const std::string &tok)
{
    Creds c;
    c.authorization = "Bearer " + tok;
    return c;
}

Creds cookie(const std::string &cookie_header)
{
    Creds c;
    c.cookie = cookie_header;
    return c;
}

class Identity {
public:
    Identity() = default;
    ~Identity() { reset(); }
    Identity(const Identity &) = delete;
    Identity &operator=(const Identity &) = delete;

    restauth_identity_t **out() { return &id_; }
    restauth_identity_t *get() const { return id_; }
    void reset()
    {
        if (id_) restauth_identity_destroy(id_);
        id_ = nullptr;
    }

    // The claim as the shim would see it; nullopt when absent.
    std::optional<std::string> claim(const std::string &path)
    {
        if (id_ == nullptr) fail_msg("no identity");
        restauth_str_t v{nullptr, 0};
        if (!restauth_identity_claim(id_, S(path), &v)) return std::nullopt;
        return str(v);
    }

private:
    restauth_identity_t *id_ = nullptr;
};

restauth_token_status_t verify(const restauth_api_t *api, const Creds &c, Identity &id)
{
    restauth_credentials_t cred;
    std::memset(&cred, 0, sizeof(cred));
    cred.method = S(c.method);
    cred.authorization = S(c.authorization);
    cred.cookie = S(c.cookie);
    cred.csrf_header = S(c.csrf_header);
    cred.host = S(c.host);
    cred.origin = S(c.origin);
    cred.referer = S(c.referer);
    cred.secure = c.secure ? 1 : 0;
    cred.now = c.now;
    char reason[512] = "";
    cred.reason = reason;
    cred.reason_size = sizeof(reason);
    id.reset();
    restauth_token_status_t st = restauth_protect_verify(api, &cred, id.out());
    if (c.reason) *c.reason = reason;
    if ((st == RESTAUTH_TOKEN_OK) != (id.get() != nullptr)) {
        fail_msg("status %d but identity %p: an identity must come with OK and only with OK", int(st),
                 static_cast<void *>(id.get()));
    }
    return st;
}

restauth_token_status_t verify(const restauth_api_t *api, const Creds &c)
{
    Identity id;
    return verify(api, c, id);
}

const char *status_name(restauth_token_status_t st)
{
    switch (st) {
    case RESTAUTH_TOKEN_OK: return "OK";
    case RESTAUTH_TOKEN_MISSING: return "MISSING";
    case RESTAUTH_TOKEN_BAD_HEADER: return "BAD_HEADER";
    case RESTAUTH_TOKEN_INVALID: return "INVALID";
    case RESTAUTH_TOKEN_WRONG_TYPE: return "WRONG_TYPE";
    case RESTAUTH_TOKEN_CSRF_FAILED: return "CSRF_FAILED";
    }
    return "?";
}

void expect_status(restauth_token_status_t got, restauth_token_status_t want, const char *what, const char *file,
                   int line)
{
    if (got != want) {
        print_error("%s: expected %s, got %s\n", what, status_name(want), status_name(got));
        _fail(file, line);
    }
}
#define EXPECT_STATUS(got, want, what) expect_status((got), (want), (what), __FILE__, __LINE__)

// The user_id claim of a verified request (which token won).
std::string user_of(const restauth_api_t *api, const Creds &c)
{
    Identity id;
    restauth_token_status_t st = verify(api, c, id);
    if (st != RESTAUTH_TOKEN_OK) fail_msg("expected OK, got %s", status_name(st));
    auto uid = id.claim("user_id");
    return uid ? *uid : "<absent>";
}

// An identity carrying the given extra claims.
void claim_identity(const restauth_api_t *api, const std::string &extra, Identity &id)
{
    restauth_token_status_t st = verify(api, bearer(token(extra)), id);
    if (st != RESTAUTH_TOKEN_OK) fail_msg("token with %s: %s", extra.c_str(), status_name(st));
}

void expect_claim(Identity &id, const char *path, const char *want, const char *file, int line)
{
    auto got = id.claim(path);
    if (!got) {
        print_error("claim \"%s\": absent, want \"%s\"\n", path, want);
        _fail(file, line);
    } else if (*got != want) {
        print_error("claim \"%s\": got \"%s\", want \"%s\"\n", path, got->c_str(), want);
        _fail(file, line);
    }
}
#define EXPECT_CLAIM(id, path, want) expect_claim((id), (path), (want), __FILE__, __LINE__)

void expect_absent(Identity &id, const char *path, const char *file, int line)
{
    auto got = id.claim(path);
    if (got) {
        print_error("claim \"%s\": expected absent, got \"%s\"\n", path, got->c_str());
        _fail(file, line);
    }
}
#define EXPECT_ABSENT(id, path) expect_absent((id), (path), __FILE__, __LINE__)

// ============================================================================
// restauth_protect_verify
// ============================================================================

void test_bearer_token_verifies_with_identity(void **)
{
    auto api = make_api();
    Identity id;
    EXPECT_STATUS(verify(api.get(), bearer(token()), id), RESTAUTH_TOKEN_OK, "bearer");
    EXPECT_CLAIM(id, "user_id", "7");
    EXPECT_CLAIM(id, "token_type", "access");
    EXPECT_CLAIM(id, "sid", "s1");
}

void test_nothing_presented_is_missing(void **)
{
    auto api = make_api(with_access_cookie);
    EXPECT_STATUS(verify(api.get(), Creds{}), RESTAUTH_TOKEN_MISSING, "no header, no cookie");
    EXPECT_STATUS(verify(api.get(), cookie("theme=dark")), RESTAUTH_TOKEN_MISSING, "other cookies only");
    EXPECT_STATUS(verify(api.get(), cookie("auth=")), RESTAUTH_TOKEN_MISSING, "empty access cookie");
}

void test_access_cookie_is_the_fallback_when_configured(void **)
{
    auto api = make_api(with_access_cookie);
    EXPECT_STATUS(verify(api.get(), cookie("auth=" + token())), RESTAUTH_TOKEN_OK, "cookie alone");
    EXPECT_STATUS(verify(api.get(), cookie("theme=dark; auth=" + token() + "; lang=en")), RESTAUTH_TOKEN_OK,
                  "cookie among others");
    EXPECT_STATUS(verify(api.get(), cookie("xauth=" + token())), RESTAUTH_TOKEN_MISSING, "a longer cookie name");
    EXPECT_STATUS(verify(api.get(), cookie("auth=garbage")), RESTAUTH_TOKEN_INVALID, "bad cookie token");
}

void test_access_cookie_ignored_when_not_configured(void **)
{
    auto api = make_api();
    EXPECT_STATUS(verify(api.get(), cookie("auth=" + token())), RESTAUTH_TOKEN_MISSING, "no cookie configured");
}

void test_header_wins_over_cookie(void **)
{
    auto api = make_api(with_access_cookie);
    // Two valid tokens: the header's user is the one.
    Creds both = bearer(token("", "access", kNow + 300, 1));
    both.cookie = "auth=" + token();
    assert_string_equal(user_of(api.get(), both).c_str(), "1");

    // A failing header is not rescued by a good cookie.
    Creds bad = bearer("not.a.token");
    bad.cookie = "auth=" + token();
    EXPECT_STATUS(verify(api.get(), bad), RESTAUTH_TOKEN_INVALID, "bad header, good cookie");
    Creds malformed;
    malformed.authorization = "Bearer";
    malformed.cookie = "auth=" + token();
    EXPECT_STATUS(verify(api.get(), malformed), RESTAUTH_TOKEN_BAD_HEADER, "\"Bearer\", good cookie");
}

void test_bearer_without_single_value_is_bad_header(void **)
{
    auto api = make_api();
    for (const char *h : {"Bearer", "Bearer ", "Bearer a b", "Bearer  tok"}) {
        Creds c;
        c.authorization = h;
        EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_BAD_HEADER, h);
    }
    Creds two = bearer(token() + " " + token());
    EXPECT_STATUS(verify(api.get(), two), RESTAUTH_TOKEN_BAD_HEADER, "two tokens");
}

void test_other_scheme_is_ignored(void **)
{
    auto with_cookie = make_api(with_access_cookie);
    auto plain = make_api();
    for (const char *h : {"Basic YWxpY2U6c2VjcmV0", "Token abc", "Bearertoken"}) {
        Creds c;
        c.authorization = h;
        EXPECT_STATUS(verify(plain.get(), c), RESTAUTH_TOKEN_MISSING, h);
        c.cookie = "auth=" + token();
        EXPECT_STATUS(verify(with_cookie.get(), c), RESTAUTH_TOKEN_OK, h);
    }
}

void test_expired_token_is_invalid(void **)
{
    auto api = make_api();
    Creds c = bearer(token("", "access", kNow + 300));
    c.now = kNow + 299;
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_OK, "one second left");
    c.now = kNow + 300;
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_INVALID, "at exp");
    c.now = kNow + 86400;
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_INVALID, "long after exp");
}

void test_leeway_extends_expiry(void **)
{
    auto api = make_api([](restauth_settings_t &s) { s.leeway = 30; });
    Creds c = bearer(token("", "access", kNow));
    c.now = kNow + 29;
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_OK, "within leeway");
    c.now = kNow + 30;
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_INVALID, "past leeway");
}

void test_not_yet_valid_token_is_invalid(void **)
{
    auto api = make_api();
    EXPECT_STATUS(verify(api.get(), bearer(token(",\"nbf\":" + std::to_string(kNow + 60)))),
                  RESTAUTH_TOKEN_INVALID, "nbf in the future");
    EXPECT_STATUS(verify(api.get(), bearer(token(",\"nbf\":" + std::to_string(kNow)))), RESTAUTH_TOKEN_OK,
                  "nbf now");
}

void test_token_without_exp_is_invalid(void **)
{
    auto api = make_api();
    std::string immortal = R"({"token_type":"access","iat":1700000000,"jti":"0123456789abcdef0123456789abcdef",)"
                           R"("user_id":7,"sid":"s1"})";
    Creds c = bearer(hs256(kHeaderJson, immortal));
    c.now = kNow + 10 * 365 * 86400;
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_INVALID, "no exp, ten years later");
}

void test_refresh_token_is_wrong_type(void **)
{
    auto api = make_api();
    EXPECT_STATUS(verify(api.get(), bearer(token("", "refresh"))), RESTAUTH_TOKEN_WRONG_TYPE, "refresh");
    auto cookies = make_api(with_access_cookie);
    EXPECT_STATUS(verify(cookies.get(), cookie("auth=" + token("", "refresh"))), RESTAUTH_TOKEN_WRONG_TYPE,
                  "refresh in the cookie");
}

void test_token_without_type_is_invalid(void **)
{
    auto api = make_api();
    std::string no_type = "{\"exp\":" + std::to_string(kNow + 300) + ",\"user_id\":7}";
    EXPECT_STATUS(verify(api.get(), bearer(hs256(kHeaderJson, no_type))), RESTAUTH_TOKEN_INVALID, "no token_type");
    EXPECT_STATUS(verify(api.get(), bearer(hs256(kHeaderJson, claims("", "id")))), RESTAUTH_TOKEN_WRONG_TYPE,
                  "unknown token_type");
}

void test_forged_or_broken_tokens_are_invalid(void **)
{
    auto api = make_api();
    std::string good = token();
    std::string tampered_payload = b64url(claims(",\"is_staff\":true"));
    std::string swapped = good.substr(0, good.find('.') + 1) + tampered_payload + good.substr(good.rfind('.'));
    std::string unsigned_none = b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(claims()) + ".";
    std::string huge = token(",\"pad\":\"" + std::string(9000, 'x') + "\"");
    struct {
        const char *what;
        std::string tok;
    } cases[] = {
        {"other secret", hs256(kHeaderJson, claims(), kOtherSecret)},
        {"tampered payload", swapped},
        {"alg none", unsigned_none},
        {"HS384 header", hs256(R"({"alg":"HS384","typ":"JWT"})", claims())},
        {"garbage", "garbage"},
        {"two parts", good.substr(0, good.rfind('.'))},
        {"over 8 KiB", huge},
        {"string exp", hs256(kHeaderJson, R"({"token_type":"access","exp":"9999999999","user_id":7})")},
    };
    for (const auto &c : cases) EXPECT_STATUS(verify(api.get(), bearer(c.tok)), RESTAUTH_TOKEN_INVALID, c.what);
}

void test_issuer_enforced_when_set(void **)
{
    auto api = make_api([](restauth_settings_t &s) { s.issuer = S("https://auth.example"); });
    EXPECT_STATUS(verify(api.get(), bearer(token())), RESTAUTH_TOKEN_INVALID, "no iss");
    EXPECT_STATUS(verify(api.get(), bearer(token(",\"iss\":\"https://evil.example\""))), RESTAUTH_TOKEN_INVALID,
                  "wrong iss");
    EXPECT_STATUS(verify(api.get(), bearer(token(",\"iss\":\"https://auth.example/\""))), RESTAUTH_TOKEN_INVALID,
                  "iss with a trailing slash");
    EXPECT_STATUS(verify(api.get(), bearer(token(",\"iss\":\"https://auth.example\""))), RESTAUTH_TOKEN_OK,
                  "right iss");
}

void test_audience_enforced_when_set(void **)
{
    auto api = make_api([](restauth_settings_t &s) { s.audience = S("shop"); });
    EXPECT_STATUS(verify(api.get(), bearer(token())), RESTAUTH_TOKEN_INVALID, "no aud");
    EXPECT_STATUS(verify(api.get(), bearer(token(",\"aud\":\"blog\""))), RESTAUTH_TOKEN_INVALID, "wrong aud");
    EXPECT_STATUS(verify(api.get(), bearer(token(",\"aud\":[\"blog\",\"wiki\"]"))), RESTAUTH_TOKEN_INVALID,
                  "aud list without ours");
    EXPECT_STATUS(verify(api.get(), bearer(token(",\"aud\":\"shop\""))), RESTAUTH_TOKEN_OK, "right aud");
    EXPECT_STATUS(verify(api.get(), bearer(token(",\"aud\":[\"blog\",\"shop\"]"))), RESTAUTH_TOKEN_OK,
                  "aud list with ours");
}

void test_issuer_and_audience_not_checked_when_unset(void **)
{
    auto api = make_api();
    EXPECT_STATUS(verify(api.get(), bearer(token(",\"iss\":\"anyone\",\"aud\":[\"anything\"]"))), RESTAUTH_TOKEN_OK,
                  "foreign iss/aud");
}

// A CSRF token of session sid under the key the API derives from kSecret.
std::string csrf_for(const std::string &sid)
{
    std::string key = restauth::hmac_sha256(restauth::hmac_sha256(kSecret, "restauth derived secrets"), "restauth csrf");
    return restauth::csrf_token(key, sid);
}

void test_csrf_needed_for_unsafe_methods_on_cookie_auth(void **)
{
    auto api = make_api([](restauth_settings_t &s) {
        with_access_cookie(s);
        s.csrf = 1;
        s.csrf_trusted_origins = S("https://*.example.org");
    });
    const std::string good = csrf_for("s1");     // the token's session
    const std::string planted = csrf_for("s2");  // another session's
    const std::string jar = "csrftoken=" + good + "; auth=" + token();
    Creds c = cookie(jar);
    c.host = "api.example.com";
    for (const char *safe : {"GET", "HEAD", "OPTIONS"}) {
        c.method = safe;
        EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_OK, safe);
    }
    std::string reason;
    c.reason = &reason;
    c.method = "POST";
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_CSRF_FAILED, "POST without X-CSRFToken");
    assert_string_equal(reason.c_str(), "CSRF token missing.");
    c.csrf_header = "wrong";
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_CSRF_FAILED, "POST with a wrong X-CSRFToken");
    assert_string_equal(reason.c_str(), "CSRF token incorrect.");
    c.csrf_header = good;
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_OK, "POST with the session's X-CSRFToken");

    Creds p = cookie("csrftoken=" + planted + "; auth=" + token());
    p.method = "POST";
    p.csrf_header = planted;
    p.reason = &reason;
    EXPECT_STATUS(verify(api.get(), p), RESTAUTH_TOKEN_CSRF_FAILED, "POST with a pair of another session");
    assert_string_equal(reason.c_str(), "CSRF token incorrect.");
    Creds unbound = cookie("csrftoken=c5f0e1d2; auth=" + token());
    unbound.method = "POST";
    unbound.csrf_header = "c5f0e1d2";
    EXPECT_STATUS(verify(api.get(), unbound), RESTAUTH_TOKEN_CSRF_FAILED, "POST with an unbound pair");

    Creds no_csrf_cookie = cookie("auth=" + token());
    no_csrf_cookie.method = "DELETE";
    no_csrf_cookie.csrf_header = good;
    no_csrf_cookie.reason = &reason;
    EXPECT_STATUS(verify(api.get(), no_csrf_cookie), RESTAUTH_TOKEN_CSRF_FAILED, "DELETE without the csrftoken cookie");
    assert_string_equal(reason.c_str(), "CSRF cookie not set.");

    // The origin: the request's own, a trusted one, else refused.
    c.origin = "http://api.example.com";
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_OK, "POST from its own origin");
    c.origin = "https://app.example.org";
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_OK, "POST from a trusted origin");
    c.origin = "https://evil.example";
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_CSRF_FAILED, "POST from another origin");
    assert_string_equal(reason.c_str(),
                        "Origin checking failed - https://evil.example does not match any trusted origins.");
    c.origin.clear();
    c.secure = true;
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_CSRF_FAILED, "POST over TLS without Origin or Referer");
    assert_string_equal(reason.c_str(), "Referer checking failed - no Referer.");
    c.referer = "https://api.example.com/page";
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_OK, "POST over TLS with its own Referer");

    // A Bearer header is not sent by browsers on their own: no CSRF check.
    Creds b = bearer(token());
    b.method = "POST";
    b.origin = "https://evil.example";
    b.cookie = "csrftoken=" + planted;
    EXPECT_STATUS(verify(api.get(), b), RESTAUTH_TOKEN_OK, "POST with Bearer");
}

void test_csrf_error_body(void **)
{
    const char *reason = "Origin checking failed - https://\"evil\" does not match any trusted origins.";
    std::string want = R"({"detail": "CSRF Failed: Origin checking failed - https://\"evil\" does not match any trusted origins."})";
    size_t n = restauth_csrf_error_body(reason, nullptr, 0);
    assert_int_equal(n, want.size());
    std::string buf(n + 1, 'x');
    assert_int_equal(restauth_csrf_error_body(reason, buf.data(), buf.size()), n);
    assert_string_equal(buf.c_str(), want.c_str());
    char small[8];
    assert_int_equal(restauth_csrf_error_body(reason, small, sizeof(small)), n);
    assert_int_equal(std::strlen(small), 7);  // cut, NUL-terminated
}

void test_csrf_not_checked_when_off(void **)
{
    auto api = make_api(with_access_cookie);
    Creds c = cookie("auth=" + token());
    c.method = "POST";
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_OK, "POST by cookie, CSRF off");
}

// ============================================================================
// restauth_identity_claim
// ============================================================================

void test_claim_string(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(), R"(,"username":"alice","name":"Zoë \"Z\" O'Neil","empty":"")", id);
    EXPECT_CLAIM(id, "username", "alice");
    EXPECT_CLAIM(id, "name", "Zoë \"Z\" O'Neil");
    EXPECT_CLAIM(id, "empty", "");
    EXPECT_CLAIM(id, "jti", "0123456789abcdef0123456789abcdef");
}

void test_claim_integer(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(), R"(,"n":-3,"zero":0,"big":9007199254740992)", id);
    EXPECT_CLAIM(id, "user_id", "7");
    EXPECT_CLAIM(id, "exp", std::to_string(kNow + 300).c_str());
    EXPECT_CLAIM(id, "n", "-3");
    EXPECT_CLAIM(id, "zero", "0");
    EXPECT_CLAIM(id, "big", "9007199254740992");
}

void test_claim_float(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(), R"(,"half":1.5,"neg":-0.25,"whole":2.0)", id);
    EXPECT_CLAIM(id, "half", "1.5");
    EXPECT_CLAIM(id, "neg", "-0.25");
    EXPECT_CLAIM(id, "whole", "2");
}

void test_claim_float_in_shortest_json_form(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(), R"(,"score":0.1,"ratio":1.1)", id);
    EXPECT_CLAIM(id, "score", "0.1");
    EXPECT_CLAIM(id, "ratio", "1.1");
}

void test_claim_bool(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(), R"(,"is_staff":true,"email_verified":false)", id);
    EXPECT_CLAIM(id, "is_staff", "true");
    EXPECT_CLAIM(id, "email_verified", "false");
}

void test_claim_nested_path(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(), R"(,"org":{"id":42,"name":"ACME","team":{"lead":"bob"}},"plain":"x")", id);
    EXPECT_CLAIM(id, "org.id", "42");
    EXPECT_CLAIM(id, "org.name", "ACME");
    EXPECT_CLAIM(id, "org.team.lead", "bob");
    EXPECT_ABSENT(id, "org.missing");
    EXPECT_ABSENT(id, "org.team.lead.more");  // through a string
    EXPECT_ABSENT(id, "plain.x");
    EXPECT_ABSENT(id, "missing.id");
}

void test_claim_array_joined_with_commas(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(), R"(,"roles":["admin","staff"],"mixed":[1,2.5,true,"x"],"one":["solo"],)"
                              R"("org":{"groups":["a","b"]})", id);
    EXPECT_CLAIM(id, "roles", "admin,staff");
    EXPECT_CLAIM(id, "mixed", "1,2.5,true,x");
    EXPECT_CLAIM(id, "one", "solo");
    EXPECT_CLAIM(id, "org.groups", "a,b");
}

void test_claim_array_of_containers_is_absent(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(), R"(,"objs":[{"a":1}],"nested":[["a"]],"partly":["ok",{"b":2}])", id);
    EXPECT_ABSENT(id, "objs");
    EXPECT_ABSENT(id, "nested");
    EXPECT_ABSENT(id, "partly");
}

void test_claim_object_null_or_missing_is_absent(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(), R"(,"org":{"id":42},"nothing":null)", id);
    EXPECT_ABSENT(id, "org");
    EXPECT_ABSENT(id, "nothing");
    EXPECT_ABSENT(id, "no_such_claim");
    EXPECT_ABSENT(id, "");
}

void test_claim_with_control_characters_is_absent(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(),
                   R"(,"crlf":"alice\r\nX-Admin: 1","lf":"a\nb","cr":"a\rb","tab":"a\tb","soh":"a\u0001b",)"
                   R"("del":"a\u007fb","roles":["ok","bad\nrole"],"org":{"name":"x\r\ny"},"fine":"a b")",
                   id);
    for (const char *path : {"crlf", "lf", "cr", "tab", "soh", "del", "roles", "org.name"}) EXPECT_ABSENT(id, path);
    EXPECT_CLAIM(id, "fine", "a b");
}

void test_claim_values_live_as_long_as_the_identity(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(), R"(,"username":"alice")", id);
    restauth_str_t first{nullptr, 0};
    assert_int_equal(restauth_identity_claim(id.get(), S("username"), &first), 1);
    for (int i = 0; i < 200; i++) {  // many later lookups must not move the first value
        restauth_str_t v;
        assert_int_equal(restauth_identity_claim(id.get(), S(i % 2 ? "sid" : "user_id"), &v), 1);
    }
    assert_string_equal(str(first).c_str(), "alice");
}

// ============================================================================
// verified tokens are remembered (KeySet::verify_cached): same verdicts
// ============================================================================

// One key set serves locations with different policies: what one location
// decided about a remembered token never decides for another.
void test_remembered_token_follows_each_location_policy(void **)
{
    auto plain = make_api();
    auto strict = make_api([](restauth_settings_t &s) {
        s.issuer = S("https://auth.example");
        s.audience = S("shop");
    });
    const std::string bare = token(",\"policy_case\":1");
    const std::string full = token(",\"policy_case\":1,\"iss\":\"https://auth.example\",\"aud\":\"shop\"");
    const std::string refresh = token(",\"policy_case\":1", "refresh");
    for (int round = 0; round < 3; round++) {
        EXPECT_STATUS(verify(plain.get(), bearer(bare)), RESTAUTH_TOKEN_OK, "no iss/aud, none required");
        EXPECT_STATUS(verify(strict.get(), bearer(bare)), RESTAUTH_TOKEN_INVALID, "no iss/aud, both required");
        EXPECT_STATUS(verify(strict.get(), bearer(full)), RESTAUTH_TOKEN_OK, "iss/aud as required");
        EXPECT_STATUS(verify(plain.get(), bearer(full)), RESTAUTH_TOKEN_OK, "iss/aud, none required");
        EXPECT_STATUS(verify(plain.get(), bearer(refresh)), RESTAUTH_TOKEN_WRONG_TYPE, "refresh");
        EXPECT_STATUS(verify(strict.get(), bearer(refresh)), RESTAUTH_TOKEN_INVALID, "refresh without iss");
    }
}

void test_remembered_token_still_expires(void **)
{
    auto api = make_api();
    auto lenient = make_api([](restauth_settings_t &s) { s.leeway = 10; });
    const std::string tok = token(",\"expiry_case\":1", "access", kNow + 60);
    Creds c = bearer(tok);
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_OK, "fresh");
    c.now = kNow + 59;
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_OK, "a second before exp");
    c.now = kNow + 60;
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_INVALID, "at exp");
    EXPECT_STATUS(verify(lenient.get(), c), RESTAUTH_TOKEN_OK, "at exp, 10 s leeway");
    c.now = kNow + 70;
    EXPECT_STATUS(verify(lenient.get(), c), RESTAUTH_TOKEN_INVALID, "at exp + leeway");
    c.now = kNow;
    EXPECT_STATUS(verify(api.get(), c), RESTAUTH_TOKEN_OK, "the clock of each request counts");
}

// The reason of a refusal (for the error log) is the same whether the
// token was verified just now or remembered.
void test_remembered_token_keeps_its_reason(void **)
{
    auto plain = make_api();
    auto strict = make_api([](restauth_settings_t &s) { s.issuer = S("https://auth.example"); });
    struct Case {
        const restauth_api_t *api;
        std::string token;
        int64_t now;
        restauth_token_status_t status;
        const char *reason;
    } cases[] = {
        {strict.get(), token(",\"reason_case\":1"), kNow, RESTAUTH_TOKEN_INVALID, "wrong issuer"},
        {plain.get(), token(",\"reason_case\":1", "refresh"), kNow, RESTAUTH_TOKEN_WRONG_TYPE, "wrong token type"},
        {plain.get(), token(",\"reason_case\":1"), kNow + 300, RESTAUTH_TOKEN_INVALID, "expired"},
        {plain.get(), token(",\"reason_case\":1") + "x", kNow, RESTAUTH_TOKEN_INVALID, "bad_signature"},
    };
    for (const Case &c : cases) {
        for (int round = 0; round < 2; round++) {
            Creds creds = bearer(c.token);
            // Between the rounds, the token is remembered if it can be.
            if (round == 1) verify(plain.get(), bearer(c.token));
            restauth_credentials_t cred;
            std::memset(&cred, 0, sizeof(cred));
            cred.method = S(creds.method);
            cred.authorization = S(creds.authorization);
            cred.now = c.now;
            char reason[128] = "";
            cred.reason = reason;
            cred.reason_size = sizeof reason;
            restauth_identity_t *id = nullptr;
            EXPECT_STATUS(restauth_protect_verify(c.api, &cred, &id), c.status, c.reason);
            assert_null(id);
            assert_string_equal(reason, c.reason);
        }
    }
}

// A request's claims stay readable while later requests push its token
// out of the cache.
void test_claims_outlive_the_cache_entry(void **)
{
    auto api = make_api();
    Identity id;
    claim_identity(api.get(), R"(,"username":"early-bird-with-a-long-name","outlive_case":1)", id);
    restauth_str_t name{nullptr, 0}, uid{nullptr, 0};
    assert_int_equal(restauth_identity_claim(id.get(), S("username"), &name), 1);
    assert_int_equal(restauth_identity_claim(id.get(), S("user_id"), &uid), 1);
    for (int i = 0; i < 1100; i++) {  // more than the cache holds
        Identity other;
        EXPECT_STATUS(verify(api.get(), bearer(token(",\"outlive_case\":2", "access", kNow + 300, 1000 + i)), other),
                      RESTAUTH_TOKEN_OK, "another token");
        EXPECT_CLAIM(other, "user_id", std::to_string(1000 + i).c_str());
    }
    assert_string_equal(str(name).c_str(), "early-bird-with-a-long-name");
    assert_string_equal(str(uid).c_str(), "7");
    EXPECT_CLAIM(id, "username", "early-bird-with-a-long-name");
}

// restauth::identity_claim, which hands out texts kept with the token,
// against claim_text on the same claims.
void test_identity_claim_matches_claim_text(void **)
{
    restauth::KeySet keys;
    std::string error;
    if (!keys.add_key(restauth::JwtAlg::HS256, kSecret, "", error)) fail_msg("add_key: %s", error.c_str());
    std::string extra = R"(,"email":"a@b.example","roles":["x","y",3],"org":{"id":5,"name":"O"},"ok":true)"
                        R"(,"f":0.1,"neg":-0.0,"big":12345678901234567,"nul":null,"ctl":"a\u0001b")"
                        R"(,"long":")" + std::string(400, 'L') + "\"";
    for (int i = 0; i < 12; i++) extra += ",\"p" + std::to_string(i) + "\":" + std::to_string(i);
    const std::string tok = token(extra);
    std::vector<std::string> paths = {"user_id", "email", "roles", "org.id", "org.name", "org", "ok", "f", "neg",
                                      "big", "nul", "ctl", "long", "absent", "org.absent", "", "user_id.x"};
    for (int i = 0; i < 12; i++) paths.push_back("p" + std::to_string(i));
    paths.push_back(std::string(100, 'q'));

    std::vector<std::pair<std::string, std::string_view>> handed;  // path, text, checked at the end
    std::vector<std::shared_ptr<restauth::Identity>> alive;
    for (int round = 0; round < 2; round++) {
        std::shared_ptr<const restauth::VerifiedJwt> jwt;
        assert_int_equal(int(keys.verify_cached(tok, kNow, 0, jwt)), int(restauth::JwtStatus::Ok));
        restauth::Identity identity;
        identity.claims = std::shared_ptr<const cJSON>(jwt, jwt->claims.get());
        identity.token = jwt;
        auto keep = std::make_shared<restauth::Identity>(std::move(identity));
        for (int pass = 0; pass < 2; pass++) {
            for (const std::string &path : paths) {
                std::string want;
                bool want_found = restauth::claim_text(keep->claims.get(), path, want);
                std::string_view got;
                bool found = restauth::identity_claim(*keep, path, got);
                if (found != want_found) fail_msg("%s: found %d, want %d", path.c_str(), int(found), int(want_found));
                if (found && got != want) fail_msg("%s: got \"%.*s\", want \"%s\"", path.c_str(), int(got.size()),
                                                   got.data(), want.c_str());
                if (found) handed.emplace_back(path, got);
            }
        }
        assert_true(jwt->claim_memo.size() <= restauth::VerifiedJwt::kMaxClaimMemos);
        alive.push_back(keep);
    }
    // Texts handed out stay where they are for as long as the identity.
    for (const auto &[path, text] : handed) {
        std::string want;
        std::shared_ptr<const restauth::VerifiedJwt> jwt;
        assert_int_equal(int(keys.verify_cached(tok, kNow, 0, jwt)), int(restauth::JwtStatus::Ok));
        assert_true(restauth::claim_text(jwt->claims.get(), path, want));
        if (text != want) fail_msg("%s moved", path.c_str());
    }
}

// ============================================================================
// bodies and challenges
// ============================================================================

void expect_json_text(restauth_str_t got, const char *want, const char *file, int line)
{
    std::string g = str(got);
    cJSON *j = cJSON_ParseWithLength(g.data(), g.size());
    if (j == nullptr) {
        print_error("not JSON: %s\n", g.c_str());
        _fail(file, line);
    }
    cJSON_Delete(j);
    if (g != want) {
        print_error("got  %s\nwant %s\n", g.c_str(), want);
        _fail(file, line);
    }
}
#define EXPECT_JSON_TEXT(got, want) expect_json_text((got), (want), __FILE__, __LINE__)

void test_token_error_bodies_match_the_contract(void **)
{
    EXPECT_JSON_TEXT(restauth_token_error_body(RESTAUTH_TOKEN_MISSING),
                     R"({"detail": "Authentication credentials were not provided."})");
    EXPECT_JSON_TEXT(restauth_token_error_body(RESTAUTH_TOKEN_BAD_HEADER),
                     R"({"detail": "Authorization header must contain two space-delimited values", )"
                     R"("code": "bad_authorization_header"})");
    EXPECT_JSON_TEXT(restauth_token_error_body(RESTAUTH_TOKEN_INVALID),
                     R"({"detail": "Given token not valid for any token type", "code": "token_not_valid", )"
                     R"("messages": [{"token_class": "AccessToken", "token_type": "access", )"
                     R"("message": "Token is invalid or expired"}]})");
    EXPECT_JSON_TEXT(restauth_token_error_body(RESTAUTH_TOKEN_WRONG_TYPE),
                     R"({"detail": "Given token not valid for any token type", "code": "token_not_valid", )"
                     R"("messages": [{"token_class": "AccessToken", "token_type": "access", )"
                     R"("message": "Token has wrong type"}]})");
    EXPECT_JSON_TEXT(restauth_token_error_body(RESTAUTH_TOKEN_CSRF_FAILED),
                     R"({"detail": "CSRF Failed: CSRF token missing or incorrect."})");
}

void test_token_challenges_follow_rfc6750(void **)
{
    // No error code when no credentials were presented (RFC 6750 section 3).
    assert_string_equal(str(restauth_token_challenge(RESTAUTH_TOKEN_MISSING)).c_str(), "Bearer realm=\"api\"");
    assert_string_equal(str(restauth_token_challenge(RESTAUTH_TOKEN_BAD_HEADER)).c_str(),
                        "Bearer realm=\"api\", error=\"invalid_request\"");
    assert_string_equal(str(restauth_token_challenge(RESTAUTH_TOKEN_INVALID)).c_str(),
                        "Bearer realm=\"api\", error=\"invalid_token\"");
    assert_string_equal(str(restauth_token_challenge(RESTAUTH_TOKEN_WRONG_TYPE)).c_str(),
                        "Bearer realm=\"api\", error=\"invalid_token\"");
}

void test_shim_error_bodies(void **)
{
    EXPECT_JSON_TEXT(restauth_error_body(404), R"({"detail": "Not found."})");
    EXPECT_JSON_TEXT(restauth_error_body(503), R"({"detail": "Service temporarily unavailable, try again later."})");
    EXPECT_JSON_TEXT(restauth_error_body(413), R"({"detail": "Request body is too large."})");
    EXPECT_JSON_TEXT(restauth_error_body(599), R"({"detail": "A server error occurred."})");
}

// ============================================================================

int setup_group(void **)
{
    g_keys = restauth_keyset_create();
    if (g_keys == nullptr) return -1;
    char err[256] = "";
    return restauth_keyset_add(g_keys, S("HS256"), S(kSecret), restauth_str_t{nullptr, 0}, err, sizeof(err));
}

int teardown_group(void **)
{
    restauth_keyset_destroy(g_keys);
    g_keys = nullptr;
    return 0;
}

}  // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        // restauth_protect_verify
        cmocka_unit_test(test_bearer_token_verifies_with_identity),
        cmocka_unit_test(test_nothing_presented_is_missing),
        cmocka_unit_test(test_access_cookie_is_the_fallback_when_configured),
        cmocka_unit_test(test_access_cookie_ignored_when_not_configured),
        cmocka_unit_test(test_header_wins_over_cookie),
        cmocka_unit_test(test_bearer_without_single_value_is_bad_header),
        cmocka_unit_test(test_other_scheme_is_ignored),
        cmocka_unit_test(test_expired_token_is_invalid),
        cmocka_unit_test(test_leeway_extends_expiry),
        cmocka_unit_test(test_not_yet_valid_token_is_invalid),
        cmocka_unit_test(test_token_without_exp_is_invalid),
        cmocka_unit_test(test_refresh_token_is_wrong_type),
        cmocka_unit_test(test_token_without_type_is_invalid),
        cmocka_unit_test(test_forged_or_broken_tokens_are_invalid),
        cmocka_unit_test(test_issuer_enforced_when_set),
        cmocka_unit_test(test_audience_enforced_when_set),
        cmocka_unit_test(test_issuer_and_audience_not_checked_when_unset),
        cmocka_unit_test(test_csrf_needed_for_unsafe_methods_on_cookie_auth),
        cmocka_unit_test(test_csrf_error_body),
        cmocka_unit_test(test_csrf_not_checked_when_off),
        // restauth_identity_claim
        cmocka_unit_test(test_claim_string),
        cmocka_unit_test(test_claim_integer),
        cmocka_unit_test(test_claim_float),
        cmocka_unit_test(test_claim_float_in_shortest_json_form),
        cmocka_unit_test(test_claim_bool),
        cmocka_unit_test(test_claim_nested_path),
        cmocka_unit_test(test_claim_array_joined_with_commas),
        cmocka_unit_test(test_claim_array_of_containers_is_absent),
        cmocka_unit_test(test_claim_object_null_or_missing_is_absent),
        cmocka_unit_test(test_claim_with_control_characters_is_absent),
        cmocka_unit_test(test_claim_values_live_as_long_as_the_identity),
        // verified tokens remembered
        cmocka_unit_test(test_remembered_token_follows_each_location_policy),
        cmocka_unit_test(test_remembered_token_still_expires),
        cmocka_unit_test(test_remembered_token_keeps_its_reason),
        cmocka_unit_test(test_claims_outlive_the_cache_entry),
        cmocka_unit_test(test_identity_claim_matches_claim_text),
        // bodies and challenges
        cmocka_unit_test(test_token_error_bodies_match_the_contract),
        cmocka_unit_test(test_token_challenges_follow_rfc6750),
        cmocka_unit_test(test_shim_error_bodies),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
