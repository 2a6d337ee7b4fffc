// Stateless checks for restauth_protect: the access token of a request to
// some other location, and the claims handed to the upstream.
#pragma once

#include <deque>
#include <string>
#include <string_view>

#include "api.h"
#include "json_ptr.h"
#include "restauth.h"

namespace restauth {

struct Identity {
    JsonPtr claims;
    std::deque<std::string> values;  // claim texts handed out; stable addresses
};

// The token a request presents: Bearer header first, else the access cookie.
restauth_token_status_t extract_access_token(const Settings &settings, std::string_view authorization,
                                             std::string_view cookie, std::string &token,
                                             bool *from_cookie = nullptr);

// Everything restauth_protect decides about a request's credentials: where
// the token comes from (Bearer header, else the access cookie), its
// verification as an access token, and the CSRF check that a cookie-borne
// token needs for unsafe methods.  On Ok, identity holds the claims.
struct Credentials {
    std::string_view method;
    std::string_view authorization;
    std::string_view cookie;
    std::string_view csrf_header;
    int64_t now = 0;
    std::string *why = nullptr;  // optional: why a presented token was refused
};
restauth_token_status_t verify_credentials(const Api &api, const Credentials &credentials, Identity &identity);

// The Redis key whose existence says the identity's session is alive;
// empty when the token names no session.
std::string session_key(const Api &api, const Identity &identity);

// 401/403 bodies and WWW-Authenticate challenges for a token status.
const std::string &token_error_body(restauth_token_status_t status);
const std::string &token_challenge(restauth_token_status_t status);
// $restauth_token_status
const std::string &token_status_name(restauth_token_status_t status);

// nullptr-safe lookup of "a.b.c" rendered as header-safe text.
bool claim_text(const cJSON *claims, std::string_view path, std::string &out);

}  // namespace restauth
