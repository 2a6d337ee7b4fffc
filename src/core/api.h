// An API location's immutable configuration, built once at config time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace restauth {

class KeySet;
class CommonPasswords;

enum class EmailVerification { None, Optional, Mandatory };

// What restauth_rate_limit counts (failed logins; registrations, reset and
// verification mails: every request).
enum class Limit { LoginIp, LoginAccount, RegistrationIp, MailAddress, MailIp, Count };

struct RateLimit {
    unsigned count = 0;  // 0: off
    int64_t window = 0;  // seconds
};

struct Settings {
    std::string redis_prefix = "restauth:";
    std::string mail_stream = "restauth:mail";
    std::string password_reset_url;
    std::string email_verify_url;
    std::string issuer;
    std::string audience;
    std::string cookie_access;
    std::string cookie_refresh;
    std::string cookie_refresh_path = "/";
    std::string cookie_domain;
    std::string cookie_samesite = "Lax";
    // User fields copied into access tokens (restauth_jwt_claims).
    std::vector<std::string> user_claims = {"username", "email"};
    int64_t access_lifetime = 300;
    int64_t refresh_lifetime = 86400;
    int64_t leeway = 0;
    int64_t reset_token_lifetime = 86400;
    int64_t verify_token_lifetime = 3 * 86400;
    unsigned password_iterations = 600000;
    unsigned password_min_length = 8;
    EmailVerification email_verification = EmailVerification::Optional;
    bool cookie_httponly = true;
    bool cookie_secure = false;
    bool old_password_field = false;
    bool logout_on_password_change = true;
    bool csrf = true;  // only ever applies to cookie-authenticated requests
    bool opaque_tokens = false;  // "Authorization: Token <key>" instead of JWTs
    std::array<RateLimit, static_cast<size_t>(Limit::Count)> limits{};
};

struct Api {
    Settings settings;
    const KeySet *keys = nullptr;                       // owned by the shim's conf
    std::unique_ptr<CommonPasswords> own_common_passwords;  // when loaded from a file
    const CommonPasswords *common_passwords = nullptr;  // builtin or own
};

}  // namespace restauth
