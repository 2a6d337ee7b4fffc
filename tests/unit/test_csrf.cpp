// Unit tests for the CSRF check of cookie-authenticated unsafe requests
// (src/core/tokens.h): tokens bound to the session (csrf_token,
// csrf_token_bound), restauth_csrf_trusted_origins (parse_trusted_origins),
// and csrf_failure, which follows Django's CsrfViewMiddleware: the Origin
// check (the request's own origin, exact trusted origins, "*." subdomain
// patterns), the Referer check over TLS without Origin, then the token, with
// Django's reason strings.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <string>
#include <string_view>

#include "api.h"
#include "tokens.h"

extern "C" {
#include <cmocka.h>
}

using namespace restauth;

namespace {

const std::string kKey(32, 'K');
const std::string kSid = "s1";

#define EXPECT_STR(actual, expected)                                                                  \
    do {                                                                                              \
        std::string a_ = (actual);                                                                    \
        std::string e_ = (expected);                                                                  \
        if (a_ != e_) fail_msg("got \"%s\"\nwant \"%s\"", a_.c_str(), e_.c_str());                    \
    } while (0)

void test_token_format_and_binding(void **)
{
    // A known answer, so other implementations (t/RestauthTest.pm) agree:
    // nonce hex, then HMAC-SHA256(key, sid "\n" nonce hex), first 16 bytes.
    assert_true(csrf_token_bound(kKey, kSid, "00112233445566778899aabbccddeeff4a48d2745f47a074fd401d349298242d"));

    std::string t = csrf_token(kKey, kSid);
    assert_int_equal(t.size(), 64);
    assert_int_equal(t.find_first_not_of("0123456789abcdef"), std::string::npos);
    assert_true(csrf_token_bound(kKey, kSid, t));
    assert_true(t != csrf_token(kKey, kSid));  // a fresh nonce each time

    assert_false(csrf_token_bound(kKey, "s2", t));                   // another session
    assert_false(csrf_token_bound(std::string(32, 'L'), kSid, t));   // another key
    assert_false(csrf_token_bound(kKey, "", t));                     // no session
    assert_false(csrf_token_bound("", kSid, t));                     // no key
    for (size_t i : {0UL, 31UL, 32UL, 63UL}) {
        std::string flipped = t;
        flipped[i] = flipped[i] == '0' ? '1' : '0';
        if (csrf_token_bound(kKey, kSid, flipped)) fail_msg("a token changed at %zu still passes", i);
    }
    assert_false(csrf_token_bound(kKey, kSid, t.substr(0, 63)));
    assert_false(csrf_token_bound(kKey, kSid, t + "0"));
    assert_false(csrf_token_bound(kKey, kSid, ""));
    assert_false(csrf_token_bound(kKey, kSid, "0123456789abcdef"));  // a random pre-binding token

    assert_true(csrf_token("", kSid).empty());
    assert_true(csrf_token(kKey, "").empty());
}

void test_trusted_origins_parse(void **)
{
    CsrfOrigins o;
    std::string error;
    assert_true(parse_trusted_origins("", o, error));
    assert_true(o.exact.empty() && o.subdomains.empty() && o.hosts.empty());
    assert_true(parse_trusted_origins("https://app.example.com http://localhost:8080 https://*.example.org", o, error));
    assert_int_equal(o.exact.size(), 2);
    assert_string_equal(o.exact[0].c_str(), "https://app.example.com");
    assert_string_equal(o.exact[1].c_str(), "http://localhost:8080");
    assert_int_equal(o.subdomains.size(), 1);
    assert_string_equal(o.subdomains[0].first.c_str(), "https");
    assert_string_equal(o.subdomains[0].second.c_str(), ".example.org");
    assert_int_equal(o.hosts.size(), 3);
    assert_string_equal(o.hosts[2].c_str(), ".example.org");

    for (const char *bad : {"example.com", "https://", "https://a.example.com/", "https://a.*.example.com",
                            "https://*example.com", "*://example.com", "https://*.*.example.com"}) {
        error.clear();
        if (parse_trusted_origins(bad, o, error)) fail_msg("\"%s\" accepted", bad);
        assert_true(error.find(bad) != std::string::npos);
    }
}

Settings csrf_settings(std::string_view origins = "")
{
    Settings s;
    s.csrf = true;
    s.csrf_key = kKey;
    std::string error;
    if (!parse_trusted_origins(origins, s.csrf_origins, error)) fail_msg("%s", error.c_str());
    return s;
}

// A cookie-authenticated POST of session kSid with a good token pair, from
// its own origin.
struct Fixture {
    std::string token = csrf_token(kKey, kSid);
    std::string jar = "csrftoken=" + token + "; access=eyJ";
    CsrfRequest r;
    Fixture()
    {
        r.method = "POST";
        r.cookie = jar;
        r.csrf_header = token;
        r.host = "api.example.com";
        r.origin = "http://api.example.com";
        r.sid = kSid;
    }
};

void test_a_bound_token_from_the_own_origin_passes(void **)
{
    Settings s = csrf_settings();
    Fixture f;
    EXPECT_STR(csrf_failure(s, f.r), "");

    f.r.origin = "";  // no Origin over plain HTTP: the token decides, as in Django
    EXPECT_STR(csrf_failure(s, f.r), "");

    for (const char *safe : {"GET", "HEAD", "OPTIONS", "TRACE"}) {  // safe methods are not checked
        Fixture g;
        g.r.method = safe;
        g.r.origin = "https://evil.example";
        g.r.csrf_header = "";
        EXPECT_STR(csrf_failure(s, g.r), "");
    }
    for (const char *unsafe : {"PUT", "PATCH", "DELETE", "PROPFIND"}) {
        Fixture g;
        g.r.method = unsafe;
        g.r.origin = "https://evil.example";
        EXPECT_STR(csrf_failure(s, g.r),
                   "Origin checking failed - https://evil.example does not match any trusted origins.");
    }

    Settings off = csrf_settings();
    off.csrf = false;
    f.r.csrf_header = "";
    EXPECT_STR(csrf_failure(off, f.r), "");
}

void test_tokens_not_made_for_the_session_fail(void **)
{
    Settings s = csrf_settings();
    Fixture f;

    // A pair planted from a sibling domain: cookie and header agree, but the
    // token was made for another session (the attacker's own).
    std::string planted = csrf_token(kKey, "attacker-session");
    std::string jar = "csrftoken=" + planted + "; access=eyJ";
    f.r.cookie = jar;
    f.r.csrf_header = planted;
    EXPECT_STR(csrf_failure(s, f.r), "CSRF token incorrect.");

    // The old, unbound kind of token.
    std::string old_jar = "csrftoken=0123456789abcdef; access=eyJ";
    f.r.cookie = old_jar;
    f.r.csrf_header = "0123456789abcdef";
    EXPECT_STR(csrf_failure(s, f.r), "CSRF token incorrect.");

    // A token of the session, but the cookie holds something else: both
    // halves must agree.
    Fixture g;
    std::string other = csrf_token(kKey, kSid);
    std::string other_jar = "csrftoken=" + other;
    g.r.cookie = other_jar;
    EXPECT_STR(csrf_failure(s, g.r), "CSRF token incorrect.");

    // Under another key.
    Settings rekeyed = csrf_settings();
    rekeyed.csrf_key = std::string(32, 'L');
    Fixture h;
    EXPECT_STR(csrf_failure(rekeyed, h.r), "CSRF token incorrect.");

    // The sid must be the authenticating token's.
    Fixture i;
    i.r.sid = "";
    EXPECT_STR(csrf_failure(s, i.r), "CSRF token incorrect.");
}

void test_missing_halves(void **)
{
    Settings s = csrf_settings();
    Fixture f;
    f.r.cookie = "access=eyJ";
    EXPECT_STR(csrf_failure(s, f.r), "CSRF cookie not set.");
    f.r.cookie = "csrftoken=; access=eyJ";
    EXPECT_STR(csrf_failure(s, f.r), "CSRF cookie not set.");
    Fixture g;
    g.r.csrf_header = "";
    EXPECT_STR(csrf_failure(s, g.r), "CSRF token missing.");
}

void test_a_planted_cookie_beside_the_real_one(void **)
{
    // A sibling domain's cookie may come first; the client echoing the real
    // one still passes, and echoing the planted one does not.
    Settings s = csrf_settings();
    Fixture f;
    std::string planted = csrf_token(kKey, "attacker-session");
    std::string jar = "csrftoken=" + planted + "; csrftoken=" + f.token + "; access=eyJ";
    f.r.cookie = jar;
    EXPECT_STR(csrf_failure(s, f.r), "");
    f.r.csrf_header = planted;
    EXPECT_STR(csrf_failure(s, f.r), "CSRF token incorrect.");
}

void test_origin_check(void **)
{
    Settings s = csrf_settings("https://app.example.com http://localhost:3000 https://*.example.org");
    struct Case {
        const char *origin;
        bool secure;
        bool passes;
    } cases[] = {
        {"http://api.example.com", false, true},    // its own
        {"https://api.example.com", true, true},    // its own over TLS
        {"https://api.example.com", false, false},  // the scheme counts
        {"http://api.example.com", true, false},
        {"http://api.example.com:8080", false, false},  // and the port
        {"https://app.example.com", false, true},   // trusted, exactly
        {"http://app.example.com", false, false},
        {"https://app.example.com:443", false, false},
        {"http://localhost:3000", true, true},
        {"http://localhost:3001", true, false},
        {"https://example.org", true, true},        // "*." covers the domain
        {"https://a.example.org", true, true},      // and its subdomains
        {"https://a.b.example.org", true, true},
        {"http://a.example.org", true, false},      // with its scheme
        {"https://a.example.org:8443", true, false},
        {"https://aexample.org", true, false},
        {"https://a.example.org.evil.example", true, false},
        {"https://evil.example", true, false},
        {"null", false, false},
    };
    for (const Case &c : cases) {
        Fixture f;
        f.r.origin = c.origin;
        f.r.secure = c.secure;
        std::string why = csrf_failure(s, f.r);
        std::string want =
            c.passes ? "" : "Origin checking failed - " + std::string(c.origin) + " does not match any trusted origins.";
        if (why != want) fail_msg("Origin %s (secure %d): got \"%s\"", c.origin, c.secure, why.c_str());
    }

    // Origin is checked before the token, as Django does.
    Fixture f;
    f.r.origin = "https://evil.example";
    f.r.csrf_header = "";
    EXPECT_STR(csrf_failure(s, f.r),
               "Origin checking failed - https://evil.example does not match any trusted origins.");

    // A long origin is cut in the reason.
    Fixture g;
    std::string longer = "https://" + std::string(300, 'a') + ".example";
    g.r.origin = longer;
    std::string why = csrf_failure(s, g.r);
    assert_true(why.size() < 300);
    assert_true(why.find("...") != std::string::npos);
}

void test_referer_check_over_tls_without_origin(void **)
{
    Settings s = csrf_settings("https://app.example.com https://*.example.org");
    struct Case {
        const char *referer;
        const char *why;
    } cases[] = {
        {"", "Referer checking failed - no Referer."},
        {"api.example.com/page", "Referer checking failed - Referer is malformed."},
        {"https:///page", "Referer checking failed - Referer is malformed."},
        {"http://api.example.com/page", "Referer checking failed - Referer is insecure while host is secure."},
        {"https://api.example.com/page?x=1", ""},  // its own host
        {"https://api.example.com", ""},
        {"https://app.example.com/", ""},          // a trusted origin's host
        {"https://x.example.org/a", ""},           // a trusted subdomain
        {"https://evil.example/page",
         "Referer checking failed - https://evil.example/page does not match any trusted origins."},
        {"https://api.example.com:8443/",
         "Referer checking failed - https://api.example.com:8443/ does not match any trusted origins."},
    };
    for (const Case &c : cases) {
        Fixture f;
        f.r.origin = "";
        f.r.secure = true;
        f.r.referer = c.referer;
        std::string why = csrf_failure(s, f.r);
        if (why != c.why) fail_msg("Referer \"%s\": got \"%s\", want \"%s\"", c.referer, why.c_str(), c.why);
    }

    // Plain HTTP without Origin: no Referer check (as Django).
    Fixture f;
    f.r.origin = "";
    f.r.referer = "https://evil.example/";
    EXPECT_STR(csrf_failure(s, f.r), "");

    // With restauth_cookie_domain the cookie domain is the good referer.
    Settings dom = csrf_settings();
    dom.cookie_domain = ".example.com";
    Fixture g;
    g.r.origin = "";
    g.r.secure = true;
    g.r.referer = "https://www.example.com/";
    EXPECT_STR(csrf_failure(dom, g.r), "");
    g.r.referer = "https://www.example.net/";
    EXPECT_STR(csrf_failure(dom, g.r),
               "Referer checking failed - https://www.example.net/ does not match any trusted origins.");
}

void test_error_body(void **)
{
    EXPECT_STR(csrf_error_body("CSRF token incorrect."), R"({"detail": "CSRF Failed: CSRF token incorrect."})");
    EXPECT_STR(csrf_error_body(R"(Origin checking failed - https://"x\ does not match any trusted origins.)"),
               R"({"detail": "CSRF Failed: Origin checking failed - https://\"x\\ does not match any trusted origins."})");
}

}  // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_format_and_binding),
        cmocka_unit_test(test_trusted_origins_parse),
        cmocka_unit_test(test_a_bound_token_from_the_own_origin_passes),
        cmocka_unit_test(test_tokens_not_made_for_the_session_fail),
        cmocka_unit_test(test_missing_halves),
        cmocka_unit_test(test_a_planted_cookie_beside_the_real_one),
        cmocka_unit_test(test_origin_check),
        cmocka_unit_test(test_referer_check_over_tls_without_origin),
        cmocka_unit_test(test_error_body),
    };
    return cmocka_run_group_tests_name("csrf (session-bound tokens, origin checks)", tests, nullptr, nullptr);
}
