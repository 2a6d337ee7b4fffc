#include "responses.h"

#include "call.h"
#include "json.h"

namespace restauth {

std::string error_body(int status)
{
    switch (status) {
    case 400: return R"({"detail": "Bad request."})";
    case 401: return R"({"detail": "Authentication credentials were not provided."})";
    case 403: return R"({"detail": "You do not have permission to perform this action."})";
    case 404: return R"({"detail": "Not found."})";
    case 405: return R"({"detail": "Method not allowed."})";
    case 413: return R"({"detail": "Request body is too large."})";
    case 415: return R"({"detail": "Unsupported media type in request."})";
    case 429: return R"({"detail": "Request was throttled."})";
    case 503: return R"({"detail": "Service temporarily unavailable, try again later."})";
    default: return R"({"detail": "A server error occurred."})";
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
