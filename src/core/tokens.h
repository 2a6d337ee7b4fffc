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
void set_token_cookies(Call &call, const TokenPair &pair);
void clear_token_cookies(Call &call);

// Double-submit CSRF protection for cookie-authenticated unsafe requests:
// a readable "csrftoken" cookie set with the token cookies, echoed by the
// client in X-CSRFToken.
constexpr const char *kCsrfCookie = "csrftoken";
enum class CsrfCheck { Ok, Missing, Incorrect };
bool is_unsafe_method(std::string_view method);
CsrfCheck check_csrf(const Settings &settings, std::string_view cookie_header, std::string_view csrf_header);
// Answers 403 and returns false when an unsafe request authenticated by a
// cookie fails the CSRF check.
bool csrf_passes(Call &call);

// JSON body of a login/registration/refresh answer ({"access", "refresh", ...}).
// In HttpOnly refresh-cookie mode login/ sends "refresh": "" (as
// dj-rest-auth does) while token/refresh/ omits the member.
enum class HiddenRefresh { Blank, Omit };
std::string token_pair_fields(const Call &call, const TokenPair &pair, HiddenRefresh hidden = HiddenRefresh::Blank);

}  // namespace restauth
