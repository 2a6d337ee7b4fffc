// Issuing and checking our JWTs: simplejwt's claims (token_type, exp, iat,
// jti, user_id) plus sid (the session a token descends from), username and
// email on access tokens, and iss/aud when configured.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "call.h"
#include "json.h"
#include "user_store.h"

namespace restauth {

struct TokenPair {
    std::string access;
    std::string refresh;
    std::string refresh_jti;
    std::string sid;  // the session both belong to (binds the CSRF cookie)
    int64_t access_exp = 0;
    int64_t refresh_exp = 0;
};

// Parses restauth_jwt_claims (space-separated fields; "none" or "" mean no
// extra claims); false with a message for an unknown field.
bool parse_user_claims(std::string_view spec, std::vector<std::string> &out, std::string &error);

// A fresh pair for a session; the refresh jti is what the session records.
TokenPair issue_tokens(const Call &call, const User &user, std::string_view sid);

// The halves, for rotation (the refresh is signed before the user is read).
std::string issue_access(const Call &call, const User &user, std::string_view sid, int64_t exp);
std::string issue_refresh(const Call &call, int64_t user_id, std::string_view sid, std::string_view jti,
                          int64_t exp);

enum class TokenCheck { Ok, Invalid, WrongType };

struct VerifiedToken {
    JsonPtr claims;
    std::string token_type;
    std::string jti;
    std::string sid;
    int64_t user_id = 0;
    int64_t exp = 0;
};

// Signature, algorithm, time claims (with leeway), iss/aud when configured,
// and the expected token_type ("" accepts both).  `why` names the failure
// for logs.  The one verification path for the API and restauth_protect.
TokenCheck verify_token(const Api &api, std::string_view token, int64_t now, std::string_view expected_type,
                        JsonPtr &claims, std::string &why);

// The claims half of verify_token, on a payload whose signature and time
// already held: iss/aud when configured, simplejwt's required claims, the
// token_type.  It reads no settings but issuer and audience: restauth_protect
// keeps its verdict with a remembered token under those (protect.cpp).
TokenCheck check_token_claims(const Settings &settings, const cJSON *claims, std::string_view expected_type,
                              std::string &why);

// verify_token for an API call, reading the claims simplejwt defines; logs
// why a token failed.
TokenCheck check_token(Call &call, std::string_view token, std::string_view expected_type,
                       VerifiedToken &out);

// The value of one cookie from the Cookie header ("" when absent).
std::string cookie_value(std::string_view cookie_header, std::string_view name);

// Set-Cookie headers for configured cookies; HttpOnly mode is the caller's.
// The csrftoken cookie, when CSRF is on, is made for pair.sid; clearing
// clears it too.
void set_token_cookies(Call &call, const TokenPair &pair);
void clear_token_cookies(Call &call);

// CSRF protection for cookie-authenticated unsafe requests, as Django's
// CsrfViewMiddleware with DRF's answer, and the token bound to the session:
//   1. Origin, when sent, must be the request's own (scheme://Host) or a
//      trusted one (restauth_csrf_trusted_origins); without Origin, a
//      request over TLS needs a Referer of a trusted host or of its own.
//   2. The readable "csrftoken" cookie, set with the token cookies, must be
//      echoed in X-CSRFToken, and the token must have been made for the
//      session (sid) of the token that authenticates the request:
//      hex(nonce) + hex(HMAC-SHA256(csrf_key, sid "\n" hex(nonce))[:16]),
//      64 characters like Django's.  A cookie planted from a sibling domain,
//      or taken from another session, does not pass.
constexpr const char *kCsrfCookie = "csrftoken";
constexpr const char *kCsrfKeyLabel = "restauth csrf";
bool is_unsafe_method(std::string_view method);

// A fresh token for the session ("" when key or sid is empty or the CSPRNG
// fails), and whether token was made for sid under key (constant time).
std::string csrf_token(std::string_view key, std::string_view sid);
bool csrf_token_bound(std::string_view key, std::string_view sid, std::string_view token);

// restauth_csrf_trusted_origins: space-separated origins with a scheme
// ("https://app.example.com", "https://*.example.com"); false with a
// message for an entry without "scheme://" or with "*" anywhere but at the
// start of the host.
bool parse_trusted_origins(std::string_view spec, CsrfOrigins &out, std::string &error);

struct CsrfRequest {
    std::string_view method;
    std::string_view cookie;       // the Cookie header(s)
    std::string_view csrf_header;  // X-CSRFToken
    std::string_view host;         // Host header, with its port
    std::string_view origin;
    std::string_view referer;
    bool secure = false;           // over TLS
    std::string_view sid;          // of the authenticating token
};
// The CSRF view of a request, from any type with the same-named members
// (the API's Request, the edge's Credentials).
template <class Source>
CsrfRequest csrf_request_of(const Source &from, std::string_view sid)
{
    CsrfRequest r;
    r.method = from.method;
    r.cookie = from.cookie;
    r.csrf_header = from.csrf_header;
    r.host = from.host;
    r.origin = from.origin;
    r.referer = from.referer;
    r.secure = from.secure;
    r.sid = sid;
    return r;
}
// "" when the request passes (or needs no check: safe method, restauth_csrf
// off), else Django's reason ("CSRF token incorrect.", "Origin checking
// failed - ... does not match any trusted origins.", ...).
std::string csrf_failure(const Settings &settings, const CsrfRequest &request);
// {"detail": "CSRF Failed: <reason>"}
std::string csrf_error_body(std::string_view reason);
// For an API request authenticated by a cookie whose token names `sid`:
// answers 403 and returns false when csrf_failure finds a reason.
bool csrf_passes(Call &call, std::string_view sid);

// JSON body of a login/registration/refresh answer ({"access", "refresh", ...}).
// In HttpOnly refresh-cookie mode login/ sends "refresh": "" (as
// dj-rest-auth does) while token/refresh/ omits the member.
enum class HiddenRefresh { Blank, Omit };
std::string token_pair_fields(const Call &call, const TokenPair &pair, HiddenRefresh hidden = HiddenRefresh::Blank);

}  // namespace restauth
