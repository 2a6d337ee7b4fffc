// An API location's immutable configuration, built once at config time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "restauth.h"

namespace restauth {

class KeySet;
class CommonPasswords;

enum class EmailVerification { None = RESTAUTH_VERIFY_NONE, Optional = RESTAUTH_VERIFY_OPTIONAL,
                               Mandatory = RESTAUTH_VERIFY_MANDATORY };
enum class TokenMode { Jwt = RESTAUTH_TOKENS_JWT, Opaque = RESTAUTH_TOKENS_OPAQUE };

// What restauth_rate_limit counts (failed logins; registrations, reset and
// verification mails: every request).
enum class Limit {
#define RESTAUTH_LIMIT_ENUM(id, kind, count, window) id = RESTAUTH_LIMIT_##id,
    RESTAUTH_LIMITS(RESTAUTH_LIMIT_ENUM)
#undef RESTAUTH_LIMIT_ENUM
    Count = RESTAUTH_LIMIT_COUNT
};

struct RateLimit {
    unsigned count = 0;  // 0: off
    int64_t window = 0;  // seconds
};

// The C++ types of the setting types of restauth.h's lists.
namespace setting {
using STR = std::string;
using SEC = int64_t;
using UINT = unsigned;
using FLAG = bool;
using VERIFY = EmailVerification;
using TOKENS = TokenMode;

template <class T, class D>
T make(D value)
{
    return static_cast<T>(value);
}
}  // namespace setting

// restauth_csrf_trusted_origins, as Django reads CSRF_TRUSTED_ORIGINS.
struct CsrfOrigins {
    std::vector<std::string> exact;  // origins without "*", compared as they are
    std::vector<std::pair<std::string, std::string>> subdomains;  // scheme, ".example.com"
    std::vector<std::string> hosts;  // every entry's host[:port], "*" removed (Referer check)
};

// Built from restauth.h's lists, defaults included: nothing here is set
// twice.
struct Settings {
#define RESTAUTH_SETTING_MEMBER(type, name, def) setting::type name = setting::make<setting::type>(def);
    RESTAUTH_MAIN_SETTINGS(RESTAUTH_SETTING_MEMBER)
    RESTAUTH_LOC_SETTINGS(RESTAUTH_SETTING_MEMBER)
#undef RESTAUTH_SETTING_MEMBER
    std::array<RateLimit, static_cast<size_t>(Limit::Count)> limits{{
#define RESTAUTH_LIMIT_DEFAULT(id, kind, count, window) RateLimit{count, window},
        RESTAUTH_LIMITS(RESTAUTH_LIMIT_DEFAULT)
#undef RESTAUTH_LIMIT_DEFAULT
    }};

    // Derived from jwt_claims when the location is configured: the user
    // fields copied into access tokens.
    std::vector<std::string> user_claims;

    // Derived when the location is configured: the key of the session-bound
    // CSRF tokens (from restauth_csrf_secret, else from the signing key;
    // empty in opaque-token mode) and the parsed trusted origins.
    std::string csrf_key;
    CsrfOrigins csrf_origins;

    bool opaque_tokens() const { return token_mode == TokenMode::Opaque; }
};

struct Api {
    Settings settings;
    const KeySet *keys = nullptr;                       // owned by the shim's conf
    std::unique_ptr<CommonPasswords> own_common_passwords;  // when loaded from a file
    const CommonPasswords *common_passwords = nullptr;  // builtin or own
};

// Derives what the settings imply (claim list, common-password list) and
// attaches the keys; false with a message naming the directive.
bool finish_api(Api &api, const KeySet *keys, std::string &error);

}  // namespace restauth
