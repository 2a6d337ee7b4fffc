#include "tokens.h"

#include <ctime>
#include <stdexcept>

#include "crypto.h"
#include "jwt.h"
#include "restauth.h"

namespace restauth {

namespace {

std::string claims_common(const Call &call, std::string_view type, int64_t exp, std::string_view jti,
                          int64_t user_id, std::string_view sid)
{
    const Settings &s = call.settings();
    std::string out = "{\"token_type\":" + json_string(type);
    out += ",\"exp\":" + std::to_string(exp);
    out += ",\"iat\":" + std::to_string(call.now());
    out += ",\"jti\":" + json_string(jti);
    out += ",\"user_id\":" + std::to_string(user_id);
    out += ",\"sid\":" + json_string(sid);
    if (!s.issuer.empty()) out += ",\"iss\":" + json_string(s.issuer);
    if (!s.audience.empty()) out += ",\"aud\":" + json_string(s.audience);
    return out;
}

const char *cookie_expires(int64_t t, char *buf, size_t len)
{
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::string cookie_attributes(const Settings &s, std::string_view path, bool httponly)
{
    std::string out = "; Path=" + std::string(path);
    if (!s.cookie_domain.empty()) out += "; Domain=" + s.cookie_domain;
    if (httponly) out += "; HttpOnly";
    if (s.cookie_secure) out += "; Secure";
    out += "; SameSite=" + s.cookie_samesite;
    return out;
}

std::string make_cookie(const Settings &s, std::string_view name, std::string_view value, int64_t now,
                        int64_t lifetime, std::string_view path, bool httponly)
{
    char date[64];
    std::string out(name);
    out += "=" + std::string(value);
    out += "; expires=";
    out += cookie_expires(now + lifetime, date, sizeof(date));
    out += "; Max-Age=" + std::to_string(lifetime);
    out += cookie_attributes(s, path, httponly);
    return out;
}

std::string clearing_cookie(const Settings &s, std::string_view name, std::string_view path, bool httponly)
{
    std::string out(name);
    out += "=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0";
    out += cookie_attributes(s, path, httponly);
    return out;
}

}  // namespace

namespace {

struct UserClaim {
    const char *name;
    std::string (*render)(const User &);
};

std::string quoted(const std::string &s)
{
    return json_string(s);
}

std::string flag(bool b)
{
    return b ? "true" : "false";
}

const UserClaim kUserClaims[] = {
    {"username", [](const User &u) { return quoted(u.username); }},
    {"email", [](const User &u) { return quoted(u.email); }},
    {"first_name", [](const User &u) { return quoted(u.first_name); }},
    {"last_name", [](const User &u) { return quoted(u.last_name); }},
    {"is_staff", [](const User &u) { return flag(u.is_staff); }},
    {"is_superuser", [](const User &u) { return flag(u.is_superuser); }},
    {"email_verified", [](const User &u) { return flag(u.email_verified); }},
    {"date_joined", [](const User &u) { return quoted(u.date_joined); }},
};

const UserClaim *find_user_claim(std::string_view name)
{
    for (const UserClaim &c : kUserClaims) {
        if (name == c.name) return &c;
    }
    return nullptr;
}

}  // namespace

bool parse_user_claims(std::string_view spec, std::vector<std::string> &out, std::string &error)
{
    out.clear();
    if (spec == "none") return true;
    while (!spec.empty()) {
        size_t sp = spec.find(' ');
        std::string_view name = spec.substr(0, sp);
        if (!name.empty()) {
            if (find_user_claim(name) == nullptr) {
                error = "unknown user field \"" + std::string(name) +
                        "\" (username, email, first_name, last_name, is_staff, is_superuser, "
                        "email_verified, date_joined)";
                return false;
            }
            out.emplace_back(name);
        }
        spec = sp == std::string_view::npos ? std::string_view() : spec.substr(sp + 1);
    }
    return true;
}

std::string issue_access(const Call &call, const User &user, std::string_view sid, int64_t exp)
{
    std::string claims = claims_common(call, "access", exp, random_hex(16), user.id, sid);
    for (const std::string &name : call.settings().user_claims) {
        claims += ",\"" + name + "\":" + find_user_claim(name)->render(user);
    }
    claims += "}";
    std::string token = call.api().keys->sign(claims);
    if (token.empty()) throw std::runtime_error("signing an access token failed");
    return token;
}

std::string issue_refresh(const Call &call, int64_t user_id, std::string_view sid, std::string_view jti,
                          int64_t exp)
{
    std::string token = call.api().keys->sign(claims_common(call, "refresh", exp, jti, user_id, sid) + "}");
    if (token.empty()) throw std::runtime_error("signing a refresh token failed");
    return token;
}

TokenPair issue_tokens(const Call &call, const User &user, std::string_view sid)
{
    const Settings &s = call.settings();
    TokenPair pair;
    pair.access_exp = call.now() + s.access_lifetime;
    pair.refresh_exp = call.now() + s.refresh_lifetime;
    pair.refresh_jti = random_hex(16);
    pair.access = issue_access(call, user, sid, pair.access_exp);
    pair.refresh = issue_refresh(call, user.id, sid, pair.refresh_jti, pair.refresh_exp);
    return pair;
}

namespace {

bool claim_string(const cJSON *claims, const char *name, std::string &out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(claims, name);
    if (!cJSON_IsString(item)) return false;
    out = item->valuestring;
    return true;
}

bool claim_matches(const cJSON *claims, const char *name, const std::string &expected)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(claims, name);
    if (cJSON_IsString(item)) return expected == item->valuestring;
    if (cJSON_IsArray(item)) {  // RFC 7519: aud may be an array
        const cJSON *el;
        cJSON_ArrayForEach(el, item)
        {
            if (cJSON_IsString(el) && expected == el->valuestring) return true;
        }
    }
    return false;
}

}  // namespace

TokenCheck verify_token(const Api &api, std::string_view token, int64_t now, std::string_view expected_type,
                        JsonPtr &claims, std::string &why)
{
    JwtStatus status = api.keys->verify(token, now, api.settings.leeway, claims);
    if (status != JwtStatus::Ok) {
        why = jwt_status_name(status);
        return TokenCheck::Invalid;
    }
    return check_token_claims(api.settings, claims.get(), expected_type, why);
}

TokenCheck check_token_claims(const Settings &s, const cJSON *claims, std::string_view expected_type,
                              std::string &why)
{
    if (!s.issuer.empty() && !claim_matches(claims, "iss", s.issuer)) {
        why = "wrong issuer";
        return TokenCheck::Invalid;
    }
    if (!s.audience.empty() && !claim_matches(claims, "aud", s.audience)) {
        why = "wrong audience";
        return TokenCheck::Invalid;
    }
    // simplejwt's required claims: without exp a token would never expire.
    std::string type, jti;
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(claims, "user_id");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    if (!claim_string(claims, "token_type", type) || !claim_string(claims, "jti", jti) ||
        !cJSON_IsNumber(uid) || !cJSON_IsNumber(exp)) {
        why = "missing claims";
        return TokenCheck::Invalid;
    }
    if (!expected_type.empty() && type != expected_type) {
        why = "wrong token type";
        return TokenCheck::WrongType;
    }
    return TokenCheck::Ok;
}

TokenCheck check_token(Call &call, std::string_view token, std::string_view expected_type,
                       VerifiedToken &out)
{
    JsonPtr claims;
    std::string why;
    TokenCheck check = verify_token(call.api(), token, call.now(), expected_type, claims, why);
    if (check != TokenCheck::Ok) {
        call.log(RESTAUTH_LOG_INFO, "token rejected: " + why);
        return check;
    }
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(claims.get(), "user_id");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims.get(), "exp");
    claim_string(claims.get(), "jti", out.jti);
    claim_string(claims.get(), "token_type", out.token_type);
    claim_string(claims.get(), "sid", out.sid);
    out.user_id = static_cast<int64_t>(uid->valuedouble);
    out.exp = static_cast<int64_t>(exp->valuedouble);
    out.claims = std::move(claims);
    return TokenCheck::Ok;
}

std::string cookie_value(std::string_view header, std::string_view name)
{
    while (!header.empty()) {
        size_t semi = header.find(';');
        std::string_view pair = header.substr(0, semi);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        size_t eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
            std::string_view v = pair.substr(eq + 1);
            while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
            return std::string(v);
        }
        if (semi == std::string_view::npos) break;
        header.remove_prefix(semi + 1);
    }
    return {};
}

void set_token_cookies(Call &call, const TokenPair &pair)
{
    const Settings &s = call.settings();
    if (!s.cookie_access.empty()) {
        call.add_header("Set-Cookie", make_cookie(s, s.cookie_access, pair.access, call.now(),
                                                  s.access_lifetime, "/", s.cookie_httponly));
    }
    if (!s.cookie_refresh.empty()) {
        call.add_header("Set-Cookie", make_cookie(s, s.cookie_refresh, pair.refresh, call.now(),
                                                  s.refresh_lifetime, s.cookie_refresh_path,
                                                  s.cookie_httponly));
    }
    if (s.csrf && (!s.cookie_access.empty() || !s.cookie_refresh.empty())) {
        // Readable by scripts on purpose: the client echoes it in X-CSRFToken.
        call.add_header("Set-Cookie", make_cookie(s, kCsrfCookie, random_hex(16), call.now(),
                                                  s.refresh_lifetime, "/", false));
    }
}

bool is_unsafe_method(std::string_view method)
{
    return !(method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE");
}

CsrfCheck check_csrf(const Settings &settings, std::string_view cookie_header, std::string_view csrf_header)
{
    if (!settings.csrf) return CsrfCheck::Ok;
    std::string expected = cookie_value(cookie_header, kCsrfCookie);
    if (expected.empty() || csrf_header.empty()) return CsrfCheck::Missing;
    return constant_time_equal(expected, csrf_header) ? CsrfCheck::Ok : CsrfCheck::Incorrect;
}

bool csrf_passes(Call &call)
{
    const Request &req = call.request();
    if (!is_unsafe_method(req.method)) return true;
    switch (check_csrf(call.settings(), req.cookie, req.csrf_header)) {
    case CsrfCheck::Ok: return true;
    case CsrfCheck::Missing:
        call.log(RESTAUTH_LOG_INFO, "CSRF token missing on a cookie-authenticated request");
        call.respond(403, R"({"detail": "CSRF Failed: CSRF token missing."})");
        return false;
    case CsrfCheck::Incorrect:
        call.log(RESTAUTH_LOG_INFO, "CSRF token incorrect on a cookie-authenticated request");
        call.respond(403, R"({"detail": "CSRF Failed: CSRF token incorrect."})");
        return false;
    }
    return false;
}

void clear_token_cookies(Call &call)
{
    const Settings &s = call.settings();
    if (!s.cookie_access.empty()) {
        call.add_header("Set-Cookie", clearing_cookie(s, s.cookie_access, "/", s.cookie_httponly));
    }
    if (!s.cookie_refresh.empty()) {
        call.add_header("Set-Cookie",
                        clearing_cookie(s, s.cookie_refresh, s.cookie_refresh_path, s.cookie_httponly));
    }
}

std::string token_pair_fields(const Call &call, const TokenPair &pair, HiddenRefresh hidden)
{
    const Settings &s = call.settings();
    std::string out = "\"access\": " + json_string(pair.access);
    // HttpOnly refresh cookies exist to keep the token away from scripts.
    bool hide_refresh = !s.cookie_refresh.empty() && s.cookie_httponly;
    if (!hide_refresh) {
        out += ", \"refresh\": " + json_string(pair.refresh);
    } else if (hidden == HiddenRefresh::Blank) {
        out += ", \"refresh\": \"\"";
    }
    return out;
}

}  // namespace restauth
