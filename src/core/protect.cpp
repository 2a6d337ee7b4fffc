#include "protect.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "jwt.h"
#include "tokens.h"

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
