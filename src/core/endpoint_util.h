// Pieces every endpoint shares: reading the body into fields, and
// authenticating the caller with simplejwt's answers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "body.h"
#include "json.h"
#include "validation.h"
#include "call.h"
#include "task.h"
#include "tokens.h"
#include "user_store.h"

namespace restauth {

// Parses the request body; on failure answers 400/413/415 and returns false.
bool read_fields(Call &call, Fields &fields);

// DRF CharField readers: a problem adds the field's message to `errors`.
void required_char(const Fields &fields, std::string_view name, std::string &out, FieldErrors &errors);
void optional_char(const Fields &fields, std::string_view name, std::string &out, FieldErrors &errors);

// Django's validators as configured for this location, and the user
// attributes the similarity validator compares with.
PasswordPolicy password_policy(const Call &call);
UserAttributes attributes_of(const User &user);

struct Caller {
    User user;
    VerifiedToken token;        // JWT mode
    std::string opaque_digest;  // opaque-token mode: sha256_hex of the key
};

// Authorization: Bearer, else the access cookie.  On failure answers the
// contract's 401 and returns nothing.
Task<std::optional<Caller>> authenticate(Call &call);

// Logs the user in and answers `status` with dj-rest-auth's body: a JWT
// pair tied to a new session record ({"access", "refresh", "user"}, cookies
// when configured), or in opaque mode a stored key ({"key"}).  Returns
// false, answering nothing, when the user disappeared meanwhile.
Task<bool> log_in(Call &call, const User &user, int status, std::string upgraded_hash);

// Runs end_all_sessions.lua (keeping `keep`, a session id or key digest, or
// none) until no session or opaque key of the user is left: after a script
// that revoked one step and reported more (an index larger than one step
// holds, written before restauth_max_sessions_per_user or under a larger
// cap).
Task<void> finish_revocation(Call &call, int64_t user_id, std::string keep);

// 401 with WWW-Authenticate, as every 401 carries.
void respond_unauthorized(Call &call, std::string body);

// simplejwt's "Given token not valid..." body for access tokens.
std::string token_not_valid_body(std::string_view message);

Keys keys_of(const Call &call);

}  // namespace restauth
