// The C boundary: every entry point catches everything; nothing throws into
// nginx.
#include <cstdio>
#include <cstring>
#include <new>

#include "call.h"
#include "jwt.h"
#include "protect.h"
#include "tokens.h"
#include "user_store.h"
#include "endpoint_util.h"
#include "responses.h"
#include "restauth.h"
#include "validation.h"

struct restauth_keyset_s {
    restauth::KeySet keys;
};

struct restauth_api_s {
    restauth::Api api;
};

struct restauth_identity_s {
    restauth::Identity identity;
};

struct restauth_call_s {
    restauth_call_s(const restauth::Api &api, restauth::Request req) : call(api, std::move(req)) {}
    restauth::Call call;
};

namespace {

std::string to_string(restauth_str_t s)
{
    return s.data ? std::string(s.data, s.len) : std::string();
}

std::string_view to_view(restauth_str_t s)
{
    return s.data ? std::string_view(s.data, s.len) : std::string_view();
}

void set_error(char *err, size_t errlen, const std::string &msg)
{
    if (err && errlen) std::snprintf(err, errlen, "%s", msg.c_str());
}

restauth_str_t view(const std::string &s)
{
    return restauth_str_t{s.data(), s.size()};
}

}  // namespace

extern "C" {

restauth_keyset_t *restauth_keyset_create(void)
{
    return new (std::nothrow) restauth_keyset_s();
}

void restauth_keyset_destroy(restauth_keyset_t *ks)
{
    delete ks;
}

int restauth_keyset_add(restauth_keyset_t *ks, restauth_str_t alg, restauth_str_t material,
                        restauth_str_t kid, char *err, size_t errlen)
{
    try {
        auto parsed = restauth::parse_jwt_alg(to_view(alg));
        if (!parsed) {
            set_error(err, errlen, "unsupported algorithm \"" + to_string(alg) +
                                       "\" (HS256, HS384, HS512, RS256, ES256 or EdDSA)");
            return -1;
        }
        std::string error;
        if (!ks->keys.add_key(*parsed, to_view(material), to_view(kid), error)) {
            set_error(err, errlen, error);
            return -1;
        }
        return 0;
    } catch (const std::exception &e) {
        set_error(err, errlen, e.what());
        return -1;
    }
}

size_t restauth_keyset_size(const restauth_keyset_t *ks)
{
    return ks ? ks->keys.size() : 0;
}

restauth_api_t *restauth_api_create(const restauth_settings_t *s, const restauth_keyset_t *keys,
                                    char *err, size_t errlen)
{
    try {
        auto api = std::make_unique<restauth_api_s>();
        restauth::Settings &out = api->api.settings;
        out.redis_prefix = to_string(s->redis_prefix);
        out.mail_stream = to_string(s->mail_stream);
        out.password_reset_url = to_string(s->password_reset_url);
        out.email_verify_url = to_string(s->email_verify_url);
        out.issuer = to_string(s->issuer);
        out.audience = to_string(s->audience);
        out.cookie_access = to_string(s->cookie_access);
        out.cookie_refresh = to_string(s->cookie_refresh);
        out.cookie_refresh_path = to_string(s->cookie_refresh_path);
        out.cookie_domain = to_string(s->cookie_domain);
        out.cookie_samesite = to_string(s->cookie_samesite);
        out.access_lifetime = s->access_lifetime;
        out.refresh_lifetime = s->refresh_lifetime;
        out.leeway = s->leeway;
        out.reset_token_lifetime = s->reset_token_lifetime;
        out.verify_token_lifetime = s->verify_token_lifetime;
        out.password_iterations = s->password_iterations;
        out.password_min_length = s->password_min_length;
        out.email_verification = static_cast<restauth::EmailVerification>(s->email_verification);
        out.cookie_httponly = s->cookie_httponly != 0;
        out.cookie_secure = s->cookie_secure != 0;
        out.old_password_field = s->old_password_field != 0;
        out.logout_on_password_change = s->logout_on_password_change != 0;
        out.csrf = s->csrf != 0;
        out.opaque_tokens = s->opaque_tokens != 0;
        static_assert(static_cast<size_t>(restauth::Limit::Count) == RESTAUTH_LIMIT_COUNT);
        for (size_t i = 0; i < RESTAUTH_LIMIT_COUNT; i++) {
            out.limits[i].count = s->limit_count[i];
            out.limits[i].window = s->limit_window[i];
        }
        api->api.keys = keys ? &keys->keys : nullptr;  // none in opaque-token mode

        std::string claims_error;
        if (!restauth::parse_user_claims(to_view(s->user_claims), out.user_claims, claims_error)) {
            set_error(err, errlen, "restauth_jwt_claims: " + claims_error);
            return nullptr;
        }

        std::string file = to_string(s->common_passwords_file);
        if (!file.empty()) {
            auto own = std::make_unique<restauth::CommonPasswords>();
            std::string error;
            if (!own->load_file(file, error)) {
                set_error(err, errlen, "restauth_common_passwords: " + error);
                return nullptr;
            }
            api->api.own_common_passwords = std::move(own);
            api->api.common_passwords = api->api.own_common_passwords.get();
        } else {
            api->api.common_passwords = &restauth::CommonPasswords::builtin();
        }
        return api.release();
    } catch (const std::exception &e) {
        set_error(err, errlen, e.what());
        return nullptr;
    }
}

void restauth_api_destroy(restauth_api_t *api)
{
    delete api;
}

restauth_call_t *restauth_call_create(const restauth_api_t *api, const restauth_request_t *req)
{
    try {
        restauth::Request r;
        r.method = to_string(req->method);
        r.path = to_string(req->path);
        r.content_type = to_string(req->content_type);
        r.authorization = to_string(req->authorization);
        r.has_authorization = req->authorization_count > 0;
        r.cookie = to_string(req->cookie);
        r.csrf_header = to_string(req->csrf_header);
        r.user_agent = to_string(req->user_agent);
        r.client_ip = to_string(req->client_ip);
        r.body = to_string(req->body);
        r.now = req->now;
        return new restauth_call_s(api->api, std::move(r));
    } catch (...) {
        return nullptr;
    }
}

void restauth_call_destroy(restauth_call_t *call)
{
    delete call;
}

restauth_need_t restauth_call_next(restauth_call_t *call)
{
    try {
        switch (call->call.next()) {
        case restauth::Call::Need::Redis: return RESTAUTH_NEED_REDIS;
        case restauth::Call::Need::Job: return RESTAUTH_NEED_JOB;
        case restauth::Call::Need::Done: return RESTAUTH_DONE;
        }
    } catch (...) {
        // next() itself turns endpoint failures into responses; reaching
        // here means even that failed (out of memory).
        call->call.respond(500, restauth::error_body(500));
    }
    return RESTAUTH_DONE;
}

size_t restauth_call_redis_count(const restauth_call_t *call)
{
    return call->call.commands().size();
}

void restauth_call_redis_command(const restauth_call_t *call, size_t i, int *argc,
                                 const char ***argv, const size_t **argvlen)
{
    call->call.command_argv(i, argc, argv, argvlen);
}

void restauth_call_redis_reply(restauth_call_t *call, size_t i, const struct redisReply *reply)
{
    try {
        call->call.feed_reply(i, reply);
    } catch (...) {
        call->call.feed_reply(i, nullptr);
    }
}

void restauth_call_run_job(restauth_call_t *call)
{
    try {
        call->call.run_job();
    } catch (...) {
        call->call.job_failed();
    }
}

void restauth_call_job_failed(restauth_call_t *call)
{
    call->call.job_failed();
}

int restauth_call_status(const restauth_call_t *call)
{
    return call->call.status();
}

size_t restauth_call_header_count(const restauth_call_t *call)
{
    return call->call.headers().size();
}

void restauth_call_header(const restauth_call_t *call, size_t i, restauth_str_t *name,
                          restauth_str_t *value)
{
    const auto &h = call->call.headers()[i];
    *name = view(h.first);
    *value = view(h.second);
}

restauth_str_t restauth_call_body(const restauth_call_t *call)
{
    return view(call->call.body());
}

size_t restauth_call_log_count(const restauth_call_t *call)
{
    return const_cast<restauth_call_s *>(call)->call.log_lines().size();
}

void restauth_call_log_line(const restauth_call_t *call, size_t i, int *level, restauth_str_t *msg)
{
    const auto &line = const_cast<restauth_call_s *>(call)->call.log_lines()[i];
    *level = line.level;
    *msg = view(line.text);
}

restauth_token_status_t restauth_protect_verify(const restauth_api_t *api,
                                                const restauth_credentials_t *credentials,
                                                restauth_identity_t **identity)
{
    try {
        const restauth::Settings &s = api->api.settings;
        std::string token;
        bool from_cookie = false;
        restauth_token_status_t status = restauth::extract_access_token(
            s, to_view(credentials->authorization), to_view(credentials->cookie), token, &from_cookie);
        if (status != RESTAUTH_TOKEN_OK) return status;
        int64_t now = credentials->now;

        restauth::JsonPtr claims;
        std::string why;
        switch (restauth::verify_token(api->api, token, now, "access", claims, why)) {
        case restauth::TokenCheck::Ok: break;
        case restauth::TokenCheck::WrongType: return RESTAUTH_TOKEN_WRONG_TYPE;
        case restauth::TokenCheck::Invalid: return RESTAUTH_TOKEN_INVALID;
        }
        if (from_cookie && restauth::is_unsafe_method(to_view(credentials->method)) &&
            restauth::check_csrf(s, to_view(credentials->cookie), to_view(credentials->csrf_header)) !=
                restauth::CsrfCheck::Ok) {
            return RESTAUTH_TOKEN_CSRF_FAILED;
        }

        auto out = std::make_unique<restauth_identity_s>();
        out->identity.claims = std::move(claims);
        *identity = out.release();
        return RESTAUTH_TOKEN_OK;
    } catch (...) {
        return RESTAUTH_TOKEN_INVALID;
    }
}

void restauth_identity_destroy(restauth_identity_t *identity)
{
    delete identity;
}

int restauth_identity_claim(restauth_identity_t *identity, restauth_str_t path, restauth_str_t *value)
{
    try {
        std::string text;
        if (!restauth::claim_text(identity->identity.claims.get(), to_view(path), text)) return 0;
        identity->identity.values.push_back(std::move(text));
        *value = view(identity->identity.values.back());
        return 1;
    } catch (...) {
        return 0;
    }
}

int restauth_identity_session_key(const restauth_api_t *api, restauth_identity_t *identity, restauth_str_t *key)
{
    try {
        std::string sid;
        if (!restauth::claim_text(identity->identity.claims.get(), "sid", sid) || sid.empty()) return 0;
        identity->identity.values.push_back(restauth::Keys(api->api.settings.redis_prefix).session(sid));
        *key = view(identity->identity.values.back());
        return 1;
    } catch (...) {
        return 0;
    }
}

restauth_str_t restauth_token_error_body(restauth_token_status_t status)
{
    static const std::string missing = R"({"detail": "Authentication credentials were not provided."})";
    static const std::string bad_header =
        R"({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"})";
    static const std::string invalid = restauth::token_not_valid_body("Token is invalid or expired");
    static const std::string wrong_type = restauth::token_not_valid_body("Token has wrong type");
    static const std::string csrf = R"({"detail": "CSRF Failed: CSRF token missing or incorrect."})";
    switch (status) {
    case RESTAUTH_TOKEN_CSRF_FAILED: return view(csrf);
    case RESTAUTH_TOKEN_MISSING: return view(missing);
    case RESTAUTH_TOKEN_BAD_HEADER: return view(bad_header);
    case RESTAUTH_TOKEN_WRONG_TYPE: return view(wrong_type);
    default: return view(invalid);
    }
}

restauth_str_t restauth_token_challenge(restauth_token_status_t status)
{
    // RFC 6750 section 3: no error code when no credentials were presented.
    static const std::string plain = "Bearer realm=\"api\"";
    static const std::string invalid = "Bearer realm=\"api\", error=\"invalid_token\"";
    static const std::string bad_request = "Bearer realm=\"api\", error=\"invalid_request\"";
    switch (status) {
    case RESTAUTH_TOKEN_MISSING: return view(plain);
    case RESTAUTH_TOKEN_BAD_HEADER: return view(bad_request);
    default: return view(invalid);
    }
}

restauth_str_t restauth_error_body(int status)
{
    // Static storage: the shim sends these without owning them.
    static const int statuses[] = {400, 401, 403, 404, 405, 413, 415, 429, 503, 500};
    static const std::vector<std::string> bodies = [] {
        std::vector<std::string> out;
        for (int s : statuses) out.push_back(restauth::error_body(s));
        return out;
    }();
    for (size_t i = 0; i < bodies.size(); i++) {
        if (statuses[i] == status) return view(bodies[i]);
    }
    return view(bodies.back());
}

}  // extern "C"
