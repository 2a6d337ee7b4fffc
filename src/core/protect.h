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

// nullptr-safe lookup of "a.b.c" rendered as header-safe text.
bool claim_text(const cJSON *claims, std::string_view path, std::string &out);

}  // namespace restauth
