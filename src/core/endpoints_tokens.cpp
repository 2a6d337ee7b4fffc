// token/verify/, token/refresh/ (rotation with reuse detection), sessions/,
// .well-known/jwks.json.
#include "crypto.h"
#include "endpoint_util.h"
#include "endpoints.h"
#include "json.h"
#include "jwt.h"
#include "lua_scripts.h"
#include "responses.h"
#include "restauth.h"

namespace restauth {

namespace {

std::string refresh_error(std::string_view message)
{
    return "{\"detail\": " + json_string(message) + ", \"code\": \"token_not_valid\"}";
}

}  // namespace

Task<void> token_verify(Call &call)
{
    Fields fields;
    if (!read_fields(call, fields)) co_return;
    FieldErrors errors;
    std::string token;
    required_char(fields, "token", token, errors);
    if (!errors.empty()) {
        call.respond(400, errors.to_json());
        co_return;
    }
    VerifiedToken verified;
    if (check_token(call, token, "", verified) != TokenCheck::Ok) {
        respond_unauthorized(call, refresh_error("Token is invalid or expired"));
        co_return;
    }
    if (verified.token_type == "refresh") {
        Keys keys = keys_of(call);
        Command cmd{"HGET", keys.session(verified.sid), "jti"};
        auto jti = co_await call.redis(std::move(cmd));
        if (!jti[0].is_string() || !constant_time_equal(jti[0].str, verified.jti)) {
            errors.add("non_field_errors", "Token is blacklisted");
            call.respond(400, errors.to_json());
            co_return;
        }
    }
    call.respond(200, "{}");
}

Task<void> token_refresh(Call &call)
{
    Fields fields;
    if (!read_fields(call, fields)) co_return;
    const Settings &s = call.settings();
    FieldErrors errors;
    std::string refresh;
    auto given = get_char_field(fields, "refresh", refresh);
    bool from_cookie = false;
    if (refresh.empty() && !s.cookie_refresh.empty()) {
        refresh = cookie_value(call.request().cookie, s.cookie_refresh);
        from_cookie = !refresh.empty();
    }
    if (refresh.empty()) {
        if (given == FieldState::Blank) {
            errors.add("refresh", MSG_BLANK);
            call.respond(400, errors.to_json());
        } else {
            respond_unauthorized(call, refresh_error("No valid refresh token found."));
        }
        co_return;
    }

    VerifiedToken token;
    TokenCheck check = check_token(call, refresh, "refresh", token);
    if (check != TokenCheck::Ok || token.sid.empty()) {
        respond_unauthorized(call, refresh_error(check == TokenCheck::WrongType ? "Token has wrong type"
                                                                                : "Token is invalid or expired"));
        co_return;
    }
    if (from_cookie && !csrf_passes(call, token.sid)) co_return;

    // Sign the new refresh first: rotation must store its jti atomically.
    TokenPair pair;
    pair.refresh_jti = random_hex(16);
    pair.sid = token.sid;
    pair.access_exp = call.now() + s.access_lifetime;
    pair.refresh_exp = call.now() + s.refresh_lifetime;
    pair.refresh = issue_refresh(call, token.user_id, token.sid, pair.refresh_jti, pair.refresh_exp);

    Keys keys = keys_of(call);
    Command cmd{"EVAL", std::string(lua::rotate_session), "2", keys.session(token.sid),
                                         keys.user(token.user_id), token.jti, pair.refresh_jti,
                                         std::to_string(call.now()), std::to_string(s.refresh_lifetime),
                                         token.sid, keys.user_sessions(token.user_id)};
    auto rotated = co_await call.redis(std::move(cmd));
    const RedisValue &r = rotated[0];
    long long status = r.elements.empty() ? 0 : r.elements[0].integer;
    if (status == -1) {
        call.log(RESTAUTH_LOG_WARN, "refresh token reuse detected for user " + std::to_string(token.user_id) +
                                        ": session " + token.sid + " revoked");
    }
    if (status == -2) {
        respond_unauthorized(call, R"({"detail": "No active account found for the given token.", "code": "no_active_account"})");
        co_return;
    }
    if (status != 1) {
        respond_unauthorized(call, refresh_error("Token is blacklisted"));
        co_return;
    }
    RedisValue user_hash;
    user_hash.type = RedisValue::Type::Array;
    user_hash.elements.assign(r.elements.begin() + 1, r.elements.end());
    User user;
    if (!parse_user(user_hash, user)) {
        respond_unauthorized(call, refresh_error("Token is blacklisted"));
        co_return;
    }
    pair.access = issue_access(call, user, token.sid, pair.access_exp);

    set_token_cookies(call, pair);
    call.respond(200, "{" + token_pair_fields(call, pair, HiddenRefresh::Omit) + ", \"access_expiration\": " +
                          json_string(iso8601(pair.access_exp)) +
                          ", \"refresh_expiration\": " + json_string(iso8601(pair.refresh_exp)) + "}");
}

Task<void> sessions_list(Call &call)
{
    auto caller = co_await authenticate(call);
    if (!caller) co_return;
    const std::string &method = call.request().method;
    if (method != "GET" && method != "HEAD") {
        respond_method_not_allowed(call, "GET, HEAD, OPTIONS");
        co_return;
    }
    Keys keys = keys_of(call);
    Command cmd{"EVAL", std::string(lua::list_sessions), "1", keys.user_sessions(caller->user.id), keys.prefix(),
                std::to_string(call.settings().max_sessions_per_user)};
    auto list = co_await call.redis(std::move(cmd));
    std::string out = "[";
    for (const RedisValue &session : list[0].elements) {
        std::string id, created, last_used, ua, ip;
        for (size_t i = 0; i + 1 < session.elements.size(); i += 2) {
            const std::string &k = session.elements[i].str;
            const std::string &v = session.elements[i + 1].str;
            if (k == "id") id = v;
            else if (k == "created") created = iso8601(std::strtoll(v.c_str(), nullptr, 10));
            else if (k == "last_used") last_used = iso8601(std::strtoll(v.c_str(), nullptr, 10));
            else if (k == "user_agent") ua = v;
            else if (k == "ip") ip = v;
        }
        if (out.size() > 1) out += ", ";
        out += "{\"id\": " + json_string(id) + ", \"created\": " + json_string(created) +
               ", \"last_used\": " + json_string(last_used) + ", \"user_agent\": " + json_string(ua) +
               ", \"ip\": " + json_string(ip) + ", \"current\": " + (id == caller->token.sid ? "true" : "false") +
               "}";
    }
    out += "]";
    call.respond(200, out);
}

Task<void> session_delete(Call &call, std::string id)
{
    auto caller = co_await authenticate(call);
    if (!caller) co_return;
    if (call.request().method != "DELETE") {
        respond_method_not_allowed(call, "DELETE, OPTIONS");
        co_return;
    }
    Keys keys = keys_of(call);
    Command cmd{"EVAL", std::string(lua::delete_own_session), "2", keys.session(id),
                                         keys.user_sessions(caller->user.id), std::to_string(caller->user.id), id};
    auto deleted = co_await call.redis(std::move(cmd));
    if (deleted[0].integer != 1) {
        respond_detail(call, 404, "Not found.");
        co_return;
    }
    call.log(RESTAUTH_LOG_INFO, "session " + id + " revoked by user " + std::to_string(caller->user.id));
    call.respond(204, "");
}

Task<void> jwks(Call &call)
{
    call.respond(200, call.api().keys->jwks_json());
    co_return;
}

}  // namespace restauth
