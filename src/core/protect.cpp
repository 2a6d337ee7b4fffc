#include "protect.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "endpoint_util.h"
#include "jwt.h"
#include "tokens.h"
#include "user_store.h"

namespace restauth {

namespace {

// The presented token: a view into the Authorization header, or the
// access cookie's value copied into storage.
restauth_token_status_t presented_token(const Settings &settings, std::string_view authorization,
                                        std::string_view cookie, std::string &storage, std::string_view &token,
                                        bool &from_cookie)
{
    from_cookie = false;
    if (!authorization.empty()) {
        size_t sp = authorization.find(' ');
        if (authorization.substr(0, sp) == "Bearer") {
            std::string_view rest = sp == std::string_view::npos ? std::string_view() : authorization.substr(sp + 1);
            if (rest.empty() || rest.find(' ') != std::string_view::npos) return RESTAUTH_TOKEN_BAD_HEADER;
            token = rest;
            return RESTAUTH_TOKEN_OK;
        }
    }
    if (!settings.cookie_access.empty()) {
        storage = cookie_value(cookie, settings.cookie_access);
        if (!storage.empty()) {
            token = storage;
            from_cookie = true;
            return RESTAUTH_TOKEN_OK;
        }
    }
    return RESTAUTH_TOKEN_MISSING;
}

// check_token_claims for an access token, worked out once per token and
// settings: the verdict is kept with the token, with the settings it
// depends on (a key set, and so its cache, may serve several locations).
// `why` points at the reason of a refusal, kept with the verdict.
TokenCheck access_token_claims(const Settings &s, const VerifiedJwt &jwt, const std::string *&why)
{
    static constexpr std::string_view kType = "access";
    VerifiedJwt::PolicyMemo &memo = jwt.policy_memo;
    if (!(memo.set && memo.type == kType && memo.issuer == s.issuer && memo.audience == s.audience)) {
        std::string reason;
        TokenCheck verdict = check_token_claims(s, jwt.claims.get(), kType, reason);
        memo.set = false;
        memo.type = kType;
        memo.issuer = s.issuer;
        memo.audience = s.audience;
        memo.why = std::move(reason);
        memo.verdict = static_cast<int>(verdict);
        memo.set = true;
    }
    why = &memo.why;
    return static_cast<TokenCheck>(memo.verdict);
}

}  // namespace

restauth_token_status_t extract_access_token(const Settings &settings, std::string_view authorization,
                                             std::string_view cookie, std::string &token, bool *from_cookie)
{
    std::string storage;
    std::string_view view;
    bool cookie_used = false;
    restauth_token_status_t status = presented_token(settings, authorization, cookie, storage, view, cookie_used);
    if (from_cookie) *from_cookie = cookie_used;
    if (status == RESTAUTH_TOKEN_OK) token.assign(view.data(), view.size());
    return status;
}

restauth_token_status_t verify_credentials(const Api &api, const Credentials &credentials, Identity &identity)
{
    const Settings &s = api.settings;
    std::string storage;
    std::string_view token;
    bool from_cookie = false;
    restauth_token_status_t status =
        presented_token(s, credentials.authorization, credentials.cookie, storage, token, from_cookie);
    if (status != RESTAUTH_TOKEN_OK) return status;

    // The same checks as verify_token, the signature's remembered.
    std::shared_ptr<const VerifiedJwt> jwt;
    JwtStatus js = api.keys->verify_cached(token, credentials.now, s.leeway, jwt);
    if (js != JwtStatus::Ok) {
        if (credentials.why) *credentials.why = jwt_status_name(js);
        return RESTAUTH_TOKEN_INVALID;
    }
    const std::string *why = nullptr;
    switch (access_token_claims(s, *jwt, why)) {
    case TokenCheck::Ok: break;
    case TokenCheck::WrongType:
        if (credentials.why) *credentials.why = *why;
        return RESTAUTH_TOKEN_WRONG_TYPE;
    case TokenCheck::Invalid:
        if (credentials.why) *credentials.why = *why;
        return RESTAUTH_TOKEN_INVALID;
    }
    if (from_cookie && s.csrf && is_unsafe_method(credentials.method)) {
        std::string sid;
        claim_text(jwt->claims.get(), "sid", sid);
        std::string reason = csrf_failure(s, csrf_request_of(credentials, sid));
        if (!reason.empty()) {
            if (credentials.why) *credentials.why = std::move(reason);
            return RESTAUTH_TOKEN_CSRF_FAILED;
        }
    }
    identity.claims = std::shared_ptr<const cJSON>(jwt, jwt->claims.get());
    identity.token = std::move(jwt);
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
            if (v == 0 && std::signbit(v)) {
                out = "-0";  // as "%.0f" prints it
                return true;
            }
            // What "%.0f" prints for an integer this small, without printf.
            auto r = std::to_chars(buf, buf + sizeof(buf), static_cast<long long>(v));
            out.assign(buf, r.ptr);
            return true;
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

bool identity_claim(Identity &identity, std::string_view path, std::string_view &out)
{
    const VerifiedJwt *jwt = identity.token.get();
    if (jwt == nullptr) return false;  // verify_credentials always sets token with claims
    for (const VerifiedJwt::ClaimMemo &m : jwt->claim_memo) {
        if (m.path == path) {
            if (m.found) out = m.text;
            return m.found;
        }
    }
    std::string text;
    bool found = claim_text(jwt->claims.get(), path, text);
    if (!found) text.clear();
    if (jwt->claim_memo.size() < VerifiedJwt::kMaxClaimMemos && path.size() <= VerifiedJwt::kMaxClaimMemoPath &&
        text.size() <= VerifiedJwt::kMaxClaimMemoText) {
        VerifiedJwt::ClaimMemo memo{std::string(path), found, std::move(text)};
        const VerifiedJwt::ClaimMemo &kept = jwt->claim_memo.emplace_back(std::move(memo));
        if (found) out = kept.text;
        return found;
    }
    if (!found) return false;
    out = identity.values.emplace_back(std::move(text));
    return true;
}

}  // namespace restauth
