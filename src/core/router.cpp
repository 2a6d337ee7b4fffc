// Maps a path below the API location to its endpoint.  Both URL forms
// ("login" and "login/") are served directly: a redirect would lose a POST.
#include <string_view>

#include "body.h"
#include "call.h"
#include "endpoints.h"
#include "responses.h"

namespace restauth {

namespace {

struct Route {
    std::string_view path;
    const char *allow;        // DRF's Allow header
    bool authenticated;       // 401 before 405
    Task<void> (*handler)(Call &);
    bool jwt_only = false;    // absent in opaque-token mode, as in dj-rest-auth
};

// Methods are checked by the handler for authenticated routes, because a
// missing credential must be reported before a wrong method.
constexpr Route routes[] = {
    {"health", "GET, HEAD, OPTIONS", false, health},
    {"login", "POST, OPTIONS", false, login},
    {"logout", "POST, OPTIONS", false, logout},
    {"user", "GET, PUT, PATCH, HEAD, OPTIONS", true, user_details},
    {"password/change", "POST, OPTIONS", true, password_change},
    {"password/reset", "POST, OPTIONS", false, password_reset},
    {"password/reset/confirm", "POST, OPTIONS", false, password_reset_confirm},
    {"registration", "POST, OPTIONS", false, registration},
    {"registration/verify-email", "POST, OPTIONS", false, verify_email},
    {"registration/resend-email", "POST, OPTIONS", false, resend_email},
    {"token/verify", "POST, OPTIONS", false, token_verify, true},
    {"token/refresh", "POST, OPTIONS", false, token_refresh, true},
    {"sessions", "GET, HEAD, OPTIONS", true, sessions_list, true},
    {".well-known/jwks.json", "GET, HEAD, OPTIONS", false, jwks, true},
};

bool method_allowed(std::string_view allow, std::string_view method)
{
    while (!allow.empty()) {
        size_t comma = allow.find(',');
        std::string_view m = allow.substr(0, comma);
        if (m == method) return true;
        if (comma == std::string_view::npos) break;
        allow.remove_prefix(comma + 1);
        while (!allow.empty() && allow.front() == ' ') allow.remove_prefix(1);
    }
    return false;
}

Task<void> not_found(Call &call)
{
    respond_detail(call, 404, "Not found.");
    co_return;
}

Task<void> method_not_allowed(Call &call, const char *allow)
{
    respond_method_not_allowed(call, allow);
    co_return;
}

// DRF negotiates the renderer first, before authentication and the method
// check: an Accept header JSON cannot satisfy is a 406 on every view.
Task<void> not_acceptable(Call &call)
{
    respond_detail(call, 406, "Could not satisfy the request Accept header.");
    co_return;
}

bool acceptable(const Call &call)
{
    return accepts_json(call.request().accept, call.request().has_accept);
}

Task<void> options(Call &call, const char *allow)
{
    call.add_header("Allow", allow);
    call.respond(200, "{}");
    co_return;
}

}  // namespace

bool route_allows(std::string_view allow, std::string_view method)
{
    return method_allowed(allow, method);
}

Task<void> dispatch(Call &call)
{
    std::string_view path = call.request().path;
    if (!path.empty() && path.back() == '/') path.remove_suffix(1);
    const std::string &method = call.request().method;

    bool opaque = call.settings().opaque_tokens();
    constexpr std::string_view sessions_prefix = "sessions/";
    if (!opaque && path.substr(0, sessions_prefix.size()) == sessions_prefix) {
        std::string id(path.substr(sessions_prefix.size()));
        if (id.empty() || id.find('/') != std::string::npos) return not_found(call);
        if (!acceptable(call)) return not_acceptable(call);
        if (method == "OPTIONS") return options(call, "DELETE, OPTIONS");
        return session_delete(call, std::move(id));
    }

    for (const Route &route : routes) {
        if (route.path != path || (opaque && route.jwt_only)) continue;
        if (!acceptable(call)) return not_acceptable(call);
        if (method == "OPTIONS") return options(call, route.allow);
        if (!route.authenticated && !method_allowed(route.allow, method)) {
            return method_not_allowed(call, route.allow);
        }
        return route.handler(call);
    }
    return not_found(call);
}

}  // namespace restauth
