// Users and sessions in Redis: key names, the commands that read users, and
// the conversion between Redis hashes and User.  Every multi-key change is
// one Lua script (lua_scripts.h, src/core/lua/), so concurrent writers never
// leave a half-written user.  The schema is documented in README.md ("Redis
// key schema").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "call.h"

namespace restauth {

struct User {
    int64_t id = 0;
    std::string username;
    std::string email;
    std::string password;     // Django-format hash; never logged
    std::string first_name;
    std::string last_name;
    bool is_active = true;
    bool is_staff = false;
    bool is_superuser = false;
    bool email_verified = false;
    std::string date_joined;
    std::string last_login;
};

// Every key name, in one place.  Scripts that reach keys they are not
// passed build user:, session:, token:, verify: from the prefix the same
// way (src/core/lua/*.lua); so does scripts/restauth-user.
class Keys {
public:
    explicit Keys(std::string_view prefix) : prefix_(prefix) {}
    std::string next_id() const { return prefix_ + "users:next_id"; }
    std::string by_username() const { return prefix_ + "users:by_username"; }
    std::string by_email() const { return prefix_ + "users:by_email"; }
    std::string user(int64_t id) const { return prefix_ + "user:" + std::to_string(id); }
    std::string user_sessions(int64_t id) const { return user(id) + ":sessions"; }
    std::string user_tokens(int64_t id) const { return user(id) + ":tokens"; }
    std::string opaque_token(std::string_view digest) const { return prefix_ + "token:" + std::string(digest); }
    std::string session(std::string_view sid) const { return prefix_ + "session:" + std::string(sid); }
    std::string reset_token(std::string_view digest) const { return prefix_ + "reset:" + std::string(digest); }
    std::string verify_key(std::string_view digest) const { return prefix_ + "verify:" + std::string(digest); }
    // A rate-limit counter: kind (login_ip, ...) and a digest of the subject.
    std::string rate_limit(std::string_view kind, std::string_view digest) const
    {
        return prefix_ + "rl:" + std::string(kind) + ":" + std::string(digest);
    }
    const std::string &prefix() const { return prefix_; }

private:
    std::string prefix_;
};

// HGETALL reply (flat field/value array) -> User.  False when empty.
bool parse_user(const RedisValue &reply, User &user);

// dj-rest-auth's UserDetailsSerializer: pk, username, email, first_name, last_name.
std::string user_json(const User &user);

std::string iso8601(int64_t unix_time);

// Which index a login name is looked up in.  Either (a "username" that
// holds an '@') is two lookups, one per index: the endpoint weighs both.
enum class LoginField { Username, Email, Either };

// One step: index lookup + HGETALL; an empty array when unknown.  field is
// Username or Email (Either is the caller's two commands).
Command find_user_command(const Keys &keys, LoginField field, std::string_view folded);
Command get_user_command(const Keys &keys, int64_t id);

}  // namespace restauth
