// Stateless checks for restauth_protect: the access token of a request to
// some other location, and the claims handed to the upstream.
#pragma once

#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "api.h"
#include "json_ptr.h"
#include "restauth.h"
#include "token_cache.h"

namespace restauth {

// A verified access token, possibly shared with the keys' cache of
// verified tokens (KeySet::verify_cached): one request's view of it.
struct Identity {
    std::shared_ptr<const VerifiedJwt> token;
    std::shared_ptr<const cJSON> claims;  // token->claims
    std::list<std::string> values;        // texts handed out; stable addresses
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
    std::string_view host;     // for the CSRF origin check
    std::string_view origin;
    std::string_view referer;
    bool secure = false;
    int64_t now = 0;
    std::string *why = nullptr;  // optional: why a presented token was refused
                                 // (for CSRF_FAILED: Django's reason)
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

// claim_text of the identity's claims, without copying: out stays valid as
// long as the identity.  The texts of a token are worked out once and
// kept with it, so a token seen again costs a lookup per claim.
bool identity_claim(Identity &identity, std::string_view path, std::string_view &out);

}  // namespace restauth
