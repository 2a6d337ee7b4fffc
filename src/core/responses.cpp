#include "responses.h"

#include "call.h"
#include "json.h"

namespace restauth {

const std::string &error_body(int status)
{
    static const std::string bad_request = R"({"detail": "Bad request."})";
    static const std::string unauthorized = R"({"detail": "Authentication credentials were not provided."})";
    static const std::string forbidden = R"({"detail": "You do not have permission to perform this action."})";
    static const std::string not_found = R"({"detail": "Not found."})";
    static const std::string not_allowed = R"({"detail": "Method not allowed."})";
    static const std::string too_large = R"({"detail": "Request body is too large."})";
    static const std::string media_type = R"({"detail": "Unsupported media type in request."})";
    static const std::string throttled = R"({"detail": "Request was throttled."})";
    static const std::string unavailable = R"({"detail": "Service temporarily unavailable, try again later."})";
    static const std::string server_error = R"({"detail": "A server error occurred."})";
    switch (status) {
    case 400: return bad_request;
    case 401: return unauthorized;
    case 403: return forbidden;
    case 404: return not_found;
    case 405: return not_allowed;
    case 413: return too_large;
    case 415: return media_type;
    case 429: return throttled;
    case 503: return unavailable;
    default: return server_error;
    }
}

void respond_method_not_allowed(Call &call, std::string_view allow)
{
    call.add_header("Allow", std::string(allow));
    std::string msg = "Method \"" + call.request().method + "\" not allowed.";
    call.respond(405, json_detail(msg));
}

void respond_detail(Call &call, int status, std::string_view message)
{
    call.respond(status, json_detail(message));
}

}  // namespace restauth
