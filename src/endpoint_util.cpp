#include "endpoint_util.h"

#include "json.h"
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


Task<std::optional<Caller>> authenticate(Call &call)
{
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
    if (token.empty() && !call.settings().cookie_access.empty()) {
        token = cookie_value(req.cookie, call.settings().cookie_access);
        if (!token.empty() && !csrf_passes(call)) co_return std::nullopt;
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
