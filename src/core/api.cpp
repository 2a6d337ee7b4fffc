// Building an API location's configuration: what the directives' plain
// values turn into once, at configuration time.
#include "api.h"

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
