#include "user_store.h"

#include <ctime>

#include "json.h"
#include "lua_scripts.h"

namespace restauth {

bool parse_user(const RedisValue &reply, User &user)
{
    if (reply.type != RedisValue::Type::Array || reply.elements.size() < 2) return false;
    bool has_id = false;
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        const std::string &k = reply.elements[i].str;
        const std::string &v = reply.elements[i + 1].str;
        if (k == "id") {
            user.id = std::strtoll(v.c_str(), nullptr, 10);
            has_id = user.id > 0;
        } else if (k == "username") user.username = v;
        else if (k == "email") user.email = v;
        else if (k == "password") user.password = v;
        else if (k == "first_name") user.first_name = v;
        else if (k == "last_name") user.last_name = v;
        else if (k == "is_active") user.is_active = v == "1";
        else if (k == "is_staff") user.is_staff = v == "1";
        else if (k == "is_superuser") user.is_superuser = v == "1";
        else if (k == "email_verified") user.email_verified = v == "1";
        else if (k == "date_joined") user.date_joined = v;
        else if (k == "last_login") user.last_login = v;
    }
    return has_id;
}

std::string user_json(const User &user)
{
    std::string out = "{\"pk\": " + std::to_string(user.id);
    out += ", \"username\": " + json_string(user.username);
    out += ", \"email\": " + json_string(user.email);
    out += ", \"first_name\": " + json_string(user.first_name);
    out += ", \"last_name\": " + json_string(user.last_name);
    out += "}";
    return out;
}

std::string iso8601(int64_t unix_time)
{
    std::time_t t = static_cast<std::time_t>(unix_time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

Command find_user_command(const Keys &keys, LoginField field, std::string_view folded)
{
    const char *mode = field == LoginField::Email ? "email" : "username";
    return {"EVAL", std::string(lua::find_user), "2", keys.by_username(), keys.by_email(), keys.prefix(), mode,
            std::string(folded)};
}

Command get_user_command(const Keys &keys, int64_t id)
{
    return {"HGETALL", keys.user(id)};
}

}  // namespace restauth
