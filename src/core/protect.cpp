#include "protect.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "endpoint_util.h"
#include "jwt.h"
#include "tokens.h"
#include "user_store.h"

namespace restauth {

restauth_token_status_t extract_access_token(const Settings &settings, std::string_view authorization,
                                             std::string_view cookie, std::string &token, bool *from_cookie)
{
    if (from_cookie) *from_cookie = false;
    if (!authorization.empty()) {
        size_t sp = authorization.find(' ');
        if (authorization.substr(0, sp) == "Bearer") {
            std::string_view rest = sp == std::string_view::npos ? std::string_view() : authorization.substr(sp + 1);
            if (rest.empty() || rest.find(' ') != std::string_view::npos) return RESTAUTH_TOKEN_BAD_HEADER;
            token.assign(rest);
            return RESTAUTH_TOKEN_OK;
        }
    }
    if (!settings.cookie_access.empty()) {
        token = cookie_value(cookie, settings.cookie_access);
        if (!token.empty()) {
            if (from_cookie) *from_cookie = true;
            return RESTAUTH_TOKEN_OK;
        }
    }
    return RESTAUTH_TOKEN_MISSING;
}

restauth_token_status_t verify_credentials(const Api &api, const Credentials &credentials, Identity &identity)
{
    const Settings &s = api.settings;
    std::string token;
    bool from_cookie = false;
    restauth_token_status_t status =
        extract_access_token(s, credentials.authorization, credentials.cookie, token, &from_cookie);
    if (status != RESTAUTH_TOKEN_OK) return status;

    JsonPtr claims;
    std::string why;
    switch (verify_token(api, token, credentials.now, "access", claims, why)) {
    case TokenCheck::Ok: break;
    case TokenCheck::WrongType:
        if (credentials.why) *credentials.why = why;
        return RESTAUTH_TOKEN_WRONG_TYPE;
    case TokenCheck::Invalid:
        if (credentials.why) *credentials.why = why;
        return RESTAUTH_TOKEN_INVALID;
    }
    if (from_cookie && is_unsafe_method(credentials.method) &&
        check_csrf(s, credentials.cookie, credentials.csrf_header) != CsrfCheck::Ok) {
        if (credentials.why) *credentials.why = "CSRF check failed";
        return RESTAUTH_TOKEN_CSRF_FAILED;
    }
    identity.claims = std::move(claims);
    return RESTAUTH_TOKEN_OK;
}

std::string session_key(const Api &api, const Identity &identity)
{
    std::string sid;
    if (!claim_text(identity.claims.get(), "sid", sid) || sid.empty()) return {};
    return Keys(api.settings.redis_prefix).session(sid);
}

const std::string &token_error_body(restauth_token_status_t status)
{
    static const std::string missing = R"({"detail": "Authentication credentials were not provided."})";
    static const std::string bad_header =
        R"({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"})";
    static const std::string invalid = token_not_valid_body("Token is invalid or expired");
    static const std::string wrong_type = token_not_valid_body("Token has wrong type");
    static const std::string csrf = R"({"detail": "CSRF Failed: CSRF token missing or incorrect."})";
    switch (status) {
    case RESTAUTH_TOKEN_CSRF_FAILED: return csrf;
    case RESTAUTH_TOKEN_MISSING: return missing;
    case RESTAUTH_TOKEN_BAD_HEADER: return bad_header;
    case RESTAUTH_TOKEN_WRONG_TYPE: return wrong_type;
    default: return invalid;
    }
}

const std::string &token_status_name(restauth_token_status_t status)
{
    static const std::string names[] = {"valid", "missing", "bad_header", "invalid", "wrong_type", "csrf_failed"};
    switch (status) {
    case RESTAUTH_TOKEN_OK: return names[0];
    case RESTAUTH_TOKEN_MISSING: return names[1];
    case RESTAUTH_TOKEN_BAD_HEADER: return names[2];
    case RESTAUTH_TOKEN_INVALID: return names[3];
    case RESTAUTH_TOKEN_WRONG_TYPE: return names[4];
    case RESTAUTH_TOKEN_CSRF_FAILED: return names[5];
    }
    return names[3];
}

const std::string &token_challenge(restauth_token_status_t status)
{
    // RFC 6750 section 3: no error code when no credentials were presented.
    static const std::string plain = "Bearer realm=\"api\"";
    static const std::string invalid = "Bearer realm=\"api\", error=\"invalid_token\"";
    static const std::string bad_request = "Bearer realm=\"api\", error=\"invalid_request\"";
    switch (status) {
    case RESTAUTH_TOKEN_MISSING: return plain;
    case RESTAUTH_TOKEN_BAD_HEADER: return bad_request;
    default: return invalid;
    }
}

namespace {

bool header_safe(std::string_view s)
{
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) return false;
    }
    return true;
}

bool scalar_text(const cJSON *item, std::string &out)
{
    if (cJSON_IsString(item)) {
        out = item->valuestring;
        return true;
    }
    if (cJSON_IsBool(item)) {
        out = cJSON_IsTrue(item) ? "true" : "false";
        return true;
    }
    if (cJSON_IsNumber(item)) {
        double v = item->valuedouble;
        char buf[64];
        if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
            std::snprintf(buf, sizeof(buf), "%.0f", v);
        } else {
            // Shortest form that reads back as the same double, as JSON
            // serializers print it (0.1, not 0.10000000000000001).
            std::snprintf(buf, sizeof(buf), "%.15g", v);
            if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof(buf), "%.17g", v);
        }
        out = buf;
        return true;
    }
    return false;
}

}  // namespace

bool claim_text(const cJSON *claims, std::string_view path, std::string &out)
{
    const cJSON *item = claims;
    while (item != nullptr && !path.empty()) {
        size_t dot = path.find('.');
        std::string name(path.substr(0, dot));
        if (!cJSON_IsObject(item)) return false;
        item = cJSON_GetObjectItemCaseSensitive(item, name.c_str());
        path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    }
    if (item == nullptr || item == claims) return false;
    if (cJSON_IsArray(item)) {
        std::string joined, part;
        const cJSON *el;
        cJSON_ArrayForEach(el, item)
        {
            if (!scalar_text(el, part)) return false;
            if (!joined.empty()) joined += ',';
            joined += part;
        }
        out = std::move(joined);
    } else if (!scalar_text(item, out)) {
        return false;
    }
    return header_safe(out);
}

}  // namespace restauth
