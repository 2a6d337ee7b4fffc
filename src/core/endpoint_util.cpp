#include "endpoint_util.h"

#include "crypto.h"
#include "validation.h"
#include "json.h"
#include "lua_scripts.h"
#include "restauth.h"

namespace restauth {

bool read_fields(Call &call, Fields &fields)
{
    BodyResult result = parse_body(call.request().content_type, call.request().body, fields);
    if (result.status == 0) return true;
    call.log(RESTAUTH_LOG_INFO, "rejected request body (" + std::to_string(result.status) + ")");
    call.respond(result.status, std::move(result.error_json));
    return false;
}

void required_char(const Fields &fields, std::string_view name, std::string &out, FieldErrors &errors)
{
    FieldState state = get_char_field(fields, name, out);
    if (state != FieldState::Ok) errors.add(name, char_field_message(state));
}

void optional_char(const Fields &fields, std::string_view name, std::string &out, FieldErrors &errors)
{
    FieldState state = get_char_field(fields, name, out);
    if (state != FieldState::Ok && state != FieldState::Missing && state != FieldState::Blank) {
        errors.add(name, char_field_message(state));
    }
}

PasswordPolicy password_policy(const Call &call)
{
    PasswordPolicy policy;
    policy.min_length = call.settings().password_min_length;
    policy.common = call.api().common_passwords;
    return policy;
}

UserAttributes attributes_of(const User &user)
{
    UserAttributes attrs;
    attrs.username = user.username;
    attrs.email = user.email;
    attrs.first_name = user.first_name;
    attrs.last_name = user.last_name;
    return attrs;
}

void respond_unauthorized(Call &call, std::string body)
{
    call.add_header("WWW-Authenticate", "Bearer realm=\"api\"");
    call.respond(401, std::move(body));
}

std::string token_not_valid_body(std::string_view message)
{
    return "{\"detail\": \"Given token not valid for any token type\", \"code\": \"token_not_valid\", "
           "\"messages\": [{\"token_class\": \"AccessToken\", \"token_type\": \"access\", \"message\": " +
           json_string(message) + "}]}";
}

Keys keys_of(const Call &call)
{
    return Keys(call.settings().redis_prefix);
}


Task<bool> log_in(Call &call, const User &user, int status, std::string upgraded_hash)
{
    const Settings &s = call.settings();
    Keys keys = keys_of(call);
    std::string now = std::to_string(call.now());

    if (s.opaque_tokens()) {
        // DRF's keys are 40 hex characters; only their digest is stored.
        std::string key = random_hex(20);
        std::string digest = sha256_hex(key);
        Command start{"EVAL", std::string(lua::start_opaque), "3", keys.user(user.id), keys.opaque_token(digest),
                      keys.user_tokens(user.id), iso8601(call.now()), user.password, upgraded_hash,
                      std::to_string(user.id), now, digest, keys.prefix(),
                      std::to_string(s.max_sessions_per_user)};
        auto started = co_await call.redis(std::move(start));
        if (started[0].integer != 1) co_return false;
        call.respond(status, "{\"key\": " + json_string(key) + "}");
        co_return true;
    }

    std::string sid = random_hex(16);
    TokenPair pair = issue_tokens(call, user, sid);
    Command start{
        "EVAL", std::string(lua::start_session), "3",
        keys.user(user.id), keys.session(sid), keys.user_sessions(user.id),
        iso8601(call.now()), std::to_string(s.refresh_lifetime), user.password, upgraded_hash, sid,
        keys.prefix(), std::to_string(s.max_sessions_per_user), now,
        "user_id", std::to_string(user.id), "jti", pair.refresh_jti, "created", now, "last_used", now,
        "user_agent", call.request().user_agent.substr(0, 512), "ip", call.request().client_ip,
        "expires", std::to_string(pair.refresh_exp),
    };
    auto started = co_await call.redis(std::move(start));
    if (started[0].integer != 1) co_return false;
    set_token_cookies(call, pair);
    call.respond(status, "{" + token_pair_fields(call, pair) + ", \"user\": " + user_json(user) + "}");
    co_return true;
}

Task<void> finish_revocation(Call &call, int64_t user_id, std::string keep)
{
    Keys keys = keys_of(call);
    // Each run deletes up to a step (lib_revoke.lua) and makes progress, so
    // this ends; the ceiling only guards against a runaway writer.
    for (int i = 0; i < 100000; i++) {
        Command more{"EVAL", std::string(lua::end_all_sessions), "2", keys.user_sessions(user_id),
                     keys.user_tokens(user_id), keys.prefix(), keep};
        auto left = co_await call.redis(std::move(more));
        if (left[0].type != RedisValue::Type::Integer || left[0].integer <= 0) co_return;
    }
    call.log(RESTAUTH_LOG_ERR, "revocation for user " + std::to_string(user_id) + " did not finish");
}

namespace {

// DRF's TokenAuthentication: "Authorization: Token <key>".
Task<std::optional<Caller>> authenticate_opaque(Call &call)
{
    const Request &req = call.request();
    auto unauthorized = [&](std::string_view detail) {
        call.add_header("WWW-Authenticate", "Token");
        call.respond(401, json_detail(detail));
    };
    std::string_view h = req.authorization;
    size_t sp = h.find(' ');
    std::string_view scheme = h.substr(0, sp);
    if (!req.has_authorization || !(scheme.size() == 5 && fold_case(scheme) == "token")) {
        unauthorized("Authentication credentials were not provided.");
        co_return std::nullopt;
    }
    std::string_view key = sp == std::string_view::npos ? std::string_view() : h.substr(sp + 1);
    if (key.empty()) {
        unauthorized("Invalid token header. No credentials provided.");
        co_return std::nullopt;
    }
    if (key.find(' ') != std::string_view::npos) {
        unauthorized("Invalid token header. Token string should not contain spaces.");
        co_return std::nullopt;
    }

    Caller caller;
    caller.opaque_digest = sha256_hex(key);
    Keys keys = keys_of(call);
    Command lookup{"HGET", keys.opaque_token(caller.opaque_digest), "user_id"};
    auto owner = co_await call.redis(std::move(lookup));
    if (!owner[0].is_string()) {
        unauthorized("Invalid token.");
        co_return std::nullopt;
    }
    Command get = get_user_command(keys, std::strtoll(owner[0].str.c_str(), nullptr, 10));
    auto user = co_await call.redis(std::move(get));
    if (!parse_user(user[0], caller.user) || !caller.user.is_active) {
        unauthorized("User inactive or deleted.");
        co_return std::nullopt;
    }
    co_return caller;
}

}  // namespace

Task<std::optional<Caller>> authenticate(Call &call)
{
    if (call.settings().opaque_tokens()) co_return co_await authenticate_opaque(call);

    const Request &req = call.request();
    std::string token;

    if (req.has_authorization) {
        std::string_view h = req.authorization;
        // simplejwt: a header of another scheme is ignored, not rejected.
        size_t sp = h.find(' ');
        std::string_view scheme = h.substr(0, sp);
        if (scheme == "Bearer") {
            std::string_view rest = sp == std::string_view::npos ? std::string_view() : h.substr(sp + 1);
            if (rest.empty() || rest.find(' ') != std::string_view::npos) {
                respond_unauthorized(call, "{\"detail\": \"Authorization header must contain two "
                                           "space-delimited values\", \"code\": \"bad_authorization_header\"}");
                co_return std::nullopt;
            }
            token.assign(rest);
        }
    }
    bool from_cookie = false;
    if (token.empty() && !call.settings().cookie_access.empty()) {
        token = cookie_value(req.cookie, call.settings().cookie_access);
        from_cookie = !token.empty();
    }
    if (token.empty()) {
        respond_unauthorized(call, "{\"detail\": \"Authentication credentials were not provided.\"}");
        co_return std::nullopt;
    }

    Caller caller;
    TokenCheck check = check_token(call, token, "access", caller.token);
    if (check != TokenCheck::Ok) {
        respond_unauthorized(call, token_not_valid_body(check == TokenCheck::WrongType
                                                            ? "Token has wrong type"
                                                            : "Token is invalid or expired"));
        co_return std::nullopt;
    }
    // A cookie-authenticated unsafe request: its CSRF token must be bound
    // to this token's session.
    if (from_cookie && !csrf_passes(call, caller.token.sid)) co_return std::nullopt;

    Keys keys = keys_of(call);
    Command cmd = get_user_command(keys, caller.token.user_id);
    auto replies = co_await call.redis(std::move(cmd));
    if (!parse_user(replies[0], caller.user)) {
        respond_unauthorized(call, R"({"detail": "User not found", "code": "user_not_found"})");
        co_return std::nullopt;
    }
    if (!caller.user.is_active) {
        respond_unauthorized(call, R"({"detail": "User is inactive", "code": "user_inactive"})");
        co_return std::nullopt;
    }
    co_return caller;
}

}  // namespace restauth
