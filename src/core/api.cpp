// Building an API location's configuration: what the directives' plain
// values turn into once, at configuration time.
#include "api.h"

#include "crypto.h"
#include "jwt.h"
#include "tokens.h"
#include "validation.h"

namespace restauth {

bool finish_api(Api &api, const KeySet *keys, std::string &error)
{
    Settings &s = api.settings;
    api.keys = keys;  // none in opaque-token mode

    if (!parse_user_claims(s.jwt_claims, s.user_claims, error)) {
        error = "restauth_jwt_claims: " + error;
        return false;
    }

    // The CSRF tokens' key: never the configured bytes themselves, so the
    // same file may serve other purposes.
    if (!s.csrf_secret.empty()) {
        if (s.csrf_secret.size() < 32) {
            error = "restauth_csrf_secret: the secret must be at least 32 bytes, this one has " +
                    std::to_string(s.csrf_secret.size());
            return false;
        }
        s.csrf_key = hmac_sha256(s.csrf_secret, kCsrfKeyLabel);
    } else if (keys != nullptr) {
        s.csrf_key = keys->derived_secret(kCsrfKeyLabel);
    }
    if (!parse_trusted_origins(s.csrf_trusted_origins, s.csrf_origins, error)) {
        error = "restauth_csrf_trusted_origins: " + error;
        return false;
    }

    if (s.common_passwords.empty()) {
        api.common_passwords = &CommonPasswords::builtin();
        return true;
    }
    auto own = std::make_unique<CommonPasswords>();
    if (!own->load_file(s.common_passwords, error)) {
        error = "restauth_common_passwords: " + error;
        return false;
    }
    api.own_common_passwords = std::move(own);
    api.common_passwords = api.own_common_passwords.get();
    return true;
}

}  // namespace restauth
