#include "tokens.h"

#include <ctime>
#include <stdexcept>

#include "crypto.h"
#include "encoding.h"
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
    pair.sid.assign(sid);
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

namespace {

// Calls f(value) for each cookie called name, in order, until f returns true.
template <class F>
bool find_cookie(std::string_view header, std::string_view name, F &&f)
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
            if (f(v)) return true;
        }
        if (semi == std::string_view::npos) break;
        header.remove_prefix(semi + 1);
    }
    return false;
}

}  // namespace

std::string cookie_value(std::string_view header, std::string_view name)
{
    std::string out;
    find_cookie(header, name, [&](std::string_view v) {
        out.assign(v);
        return true;
    });
    return out;
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
        std::string token = csrf_token(s.csrf_key, pair.sid);
        if (token.empty()) throw std::runtime_error("making a CSRF token failed");
        call.add_header("Set-Cookie", make_cookie(s, kCsrfCookie, token, call.now(), s.refresh_lifetime, "/", false));
    }
}

bool is_unsafe_method(std::string_view method)
{
    return !(method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE");
}

namespace {

constexpr size_t kCsrfNonceBytes = 16;
constexpr size_t kCsrfMacBytes = 16;

// The MAC half of a token for this nonce (hex), "" on failure.
std::string csrf_mac_hex(std::string_view key, std::string_view sid, std::string_view nonce_hex)
{
    std::string data(sid);
    data += '\n';
    data += nonce_hex;
    std::string mac = hmac_sha256(key, data);
    if (mac.size() < kCsrfMacBytes) return {};
    return hex_encode(std::string_view(mac).substr(0, kCsrfMacBytes));
}

bool ascii_lower_equal(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); i++) {
        unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
        if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Django's is_same_domain: pattern ".example.com" matches example.com and
// its subdomains, any other pattern only itself (ports included).
bool is_same_domain(std::string_view host, std::string_view pattern)
{
    if (pattern.empty()) return false;
    if (pattern.front() == '.') {
        if (host.size() > pattern.size() &&
            ascii_lower_equal(host.substr(host.size() - pattern.size()), pattern)) {
            return true;
        }
        return ascii_lower_equal(host, pattern.substr(1));
    }
    return ascii_lower_equal(host, pattern);
}

// urllib.parse.urlparse's scheme and netloc, for origins and referers.
struct UrlParts {
    std::string_view scheme;
    std::string_view netloc;
};

UrlParts split_url(std::string_view url)
{
    UrlParts out;
    size_t colon = url.find(':');
    if (colon == std::string_view::npos || colon == 0) return out;
    std::string_view scheme = url.substr(0, colon);
    for (size_t i = 0; i < scheme.size(); i++) {
        char c = scheme[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool other = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
        if (!(alpha || (i > 0 && other))) return out;
    }
    out.scheme = scheme;
    std::string_view rest = url.substr(colon + 1);
    if (rest.substr(0, 2) != "//") return out;
    rest.remove_prefix(2);
    out.netloc = rest.substr(0, rest.find_first_of("/?#"));
    return out;
}

// Header values echoed in a reason are cut, so a reason stays short.
std::string echo(std::string_view value)
{
    constexpr size_t kMax = 200;
    if (value.size() <= kMax) return std::string(value);
    return std::string(value.substr(0, kMax)) + "...";
}

bool origin_verified(const Settings &s, const CsrfRequest &r)
{
    if (!r.host.empty()) {
        std::string good = r.secure ? "https://" : "http://";
        good += r.host;
        if (r.origin == good) return true;
    }
    for (const std::string &o : s.csrf_origins.exact) {
        if (r.origin == o) return true;
    }
    UrlParts parts = split_url(r.origin);
    for (const auto &[scheme, host] : s.csrf_origins.subdomains) {
        if (parts.scheme == scheme && is_same_domain(parts.netloc, host)) return true;
    }
    return false;
}

std::string referer_failure(const Settings &s, const CsrfRequest &r)
{
    if (r.referer.empty()) return "Referer checking failed - no Referer.";
    UrlParts parts = split_url(r.referer);
    if (parts.scheme.empty() || parts.netloc.empty()) return "Referer checking failed - Referer is malformed.";
    if (parts.scheme != "https") return "Referer checking failed - Referer is insecure while host is secure.";
    for (const std::string &host : s.csrf_origins.hosts) {
        if (is_same_domain(parts.netloc, host)) return {};
    }
    // The cookie domain when one is set (with the request's port unless it
    // is 443 or 80), else the request's own host and port.
    std::string good;
    if (!s.cookie_domain.empty()) {
        good = s.cookie_domain;
        size_t colon = r.host.rfind(':');
        if (colon != std::string_view::npos && r.host.find(']', colon) == std::string_view::npos) {
            std::string_view port = r.host.substr(colon + 1);
            if (port != "443" && port != "80") good += ":" + std::string(port);
        }
    } else {
        good.assign(r.host);
    }
    if (!good.empty() && is_same_domain(parts.netloc, good)) return {};
    return "Referer checking failed - " + echo(r.referer) + " does not match any trusted origins.";
}

}  // namespace

std::string csrf_token(std::string_view key, std::string_view sid)
{
    if (key.empty() || sid.empty()) return {};
    std::string nonce = random_hex(kCsrfNonceBytes);
    if (nonce.empty()) return {};
    std::string mac = csrf_mac_hex(key, sid, nonce);
    if (mac.empty()) return {};
    return nonce + mac;
}

bool csrf_token_bound(std::string_view key, std::string_view sid, std::string_view token)
{
    // The length is no secret: every token has it.
    if (key.empty() || sid.empty() || token.size() != 2 * (kCsrfNonceBytes + kCsrfMacBytes)) return false;
    std::string_view nonce = token.substr(0, 2 * kCsrfNonceBytes);
    std::string expected(nonce);
    std::string mac = csrf_mac_hex(key, sid, nonce);
    if (mac.empty()) return false;
    expected += mac;
    return constant_time_equal(expected, token);
}

bool parse_trusted_origins(std::string_view spec, CsrfOrigins &out, std::string &error)
{
    out = CsrfOrigins{};
    while (!spec.empty()) {
        size_t sp = spec.find(' ');
        std::string_view origin = spec.substr(0, sp);
        spec = sp == std::string_view::npos ? std::string_view() : spec.substr(sp + 1);
        if (origin.empty()) continue;
        UrlParts parts = split_url(origin);
        std::string_view netloc = parts.netloc;
        size_t star = origin.find('*');
        bool wildcard = star != std::string_view::npos;
        if (parts.scheme.empty() || netloc.empty() || origin.size() != parts.scheme.size() + 3 + netloc.size() ||
            (wildcard && (netloc.substr(0, 2) != "*." || netloc.find('*', 1) != std::string_view::npos))) {
            error = "\"" + std::string(origin) +
                    "\" is not an origin: scheme://host[:port], \"*.\" allowed at the start of the host "
                    "(https://app.example.com, https://*.example.com)";
            return false;
        }
        if (wildcard) {
            out.subdomains.emplace_back(std::string(parts.scheme), std::string(netloc.substr(1)));
            out.hosts.emplace_back(netloc.substr(1));
        } else {
            out.exact.emplace_back(origin);
            out.hosts.emplace_back(netloc);
        }
    }
    return true;
}

std::string csrf_failure(const Settings &s, const CsrfRequest &r)
{
    if (!s.csrf || !is_unsafe_method(r.method)) return {};
    if (!r.origin.empty()) {
        if (!origin_verified(s, r)) {
            return "Origin checking failed - " + echo(r.origin) + " does not match any trusted origins.";
        }
    } else if (r.secure) {
        std::string why = referer_failure(s, r);
        if (!why.empty()) return why;
    }
    bool have_cookie = false, echoed = false;
    find_cookie(r.cookie, kCsrfCookie, [&](std::string_view v) {
        if (v.empty()) return false;
        have_cookie = true;
        // Any csrftoken cookie the client holds (a sibling domain may have
        // added one); no early exit.
        echoed = constant_time_equal(v, r.csrf_header) || echoed;
        return false;
    });
    if (!have_cookie) return "CSRF cookie not set.";
    if (r.csrf_header.empty()) return "CSRF token missing.";
    bool bound = csrf_token_bound(s.csrf_key, r.sid, r.csrf_header);
    if (!(echoed & bound)) return "CSRF token incorrect.";
    return {};
}

std::string csrf_error_body(std::string_view reason)
{
    return "{\"detail\": " + json_string("CSRF Failed: " + std::string(reason)) + "}";
}

bool csrf_passes(Call &call, std::string_view sid)
{
    std::string why = csrf_failure(call.settings(), csrf_request_of(call.request(), sid));
    if (why.empty()) return true;
    call.log(RESTAUTH_LOG_INFO, "CSRF check failed on a cookie-authenticated request: " + why);
    call.respond(403, csrf_error_body(why));
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
    if (s.csrf && (!s.cookie_access.empty() || !s.cookie_refresh.empty())) {
        call.add_header("Set-Cookie", clearing_cookie(s, kCsrfCookie, "/", false));
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
