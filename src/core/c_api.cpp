// The C boundary: it converts types and nothing else.  Every entry point
// runs its body through guarded(), so no exception ever reaches nginx; the
// decisions live in the core modules it calls.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <type_traits>

#include "api.h"
#include "call.h"
#include "jwt.h"
#include "protect.h"
#include "responses.h"
#include "restauth.h"
#include "tokens.h"
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

restauth_str_t view(std::string_view s)
{
    return restauth_str_t{s.data(), s.size()};
}

void set_error(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) std::snprintf(err, errlen, "%s", msg);
}

// Runs body(); any exception becomes on_error (and, with err, its message).
template <class F, class R = std::invoke_result_t<F>>
R guarded(F &&body, R on_error, char *err = nullptr, size_t errlen = 0) noexcept
{
    try {
        return body();
    } catch (const std::exception &e) {
        set_error(err, errlen, e.what());
    } catch (...) {
        set_error(err, errlen, "unexpected error");
    }
    return on_error;
}

template <class F>
void guarded_void(F &&body, void (*on_error)() = nullptr) noexcept
{
    try {
        body();
    } catch (...) {
        if (on_error) on_error();
    }
}

// restauth.h's setting types to the core's.
std::string setting_from_c(restauth_str_t v, std::string *) { return to_string(v); }
int64_t setting_from_c(int64_t v, int64_t *) { return v; }
unsigned setting_from_c(unsigned v, unsigned *) { return v; }
bool setting_from_c(int v, bool *) { return v != 0; }
template <class E>
E setting_from_c(int v, E *)
{
    static_assert(std::is_enum_v<E>);
    return static_cast<E>(v);
}

restauth_str_t setting_to_c(const std::string &v) { return view(v); }
int64_t setting_to_c(int64_t v) { return v; }
unsigned setting_to_c(unsigned v) { return v; }
int setting_to_c(bool v) { return v ? 1 : 0; }
template <class E>
int setting_to_c(E v)
{
    static_assert(std::is_enum_v<E>);
    return static_cast<int>(v);
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
    return guarded([&] {
        std::string error;
        if (!ks->keys.add_key(to_view(alg), to_view(material), to_view(kid), error)) {
            set_error(err, errlen, error.c_str());
            return -1;
        }
        return 0;
    }, -1, err, errlen);
}

size_t restauth_keyset_size(const restauth_keyset_t *ks)
{
    return ks ? ks->keys.size() : 0;
}

void restauth_settings_defaults(restauth_settings_t *s)
{
    // The core's defaults are restauth.h's; this hands them back in C form
    // (strings point into static storage).
    static const restauth::Settings defaults;
    std::memset(s, 0, sizeof(*s));
#define RESTAUTH_SETTING_TO_C(type, name, def) s->name = setting_to_c(defaults.name);
    RESTAUTH_MAIN_SETTINGS(RESTAUTH_SETTING_TO_C)
    RESTAUTH_LOC_SETTINGS(RESTAUTH_SETTING_TO_C)
#undef RESTAUTH_SETTING_TO_C
    for (size_t i = 0; i < RESTAUTH_LIMIT_COUNT; i++) {
        s->limit_count[i] = defaults.limits[i].count;
        s->limit_window[i] = defaults.limits[i].window;
    }
}

restauth_api_t *restauth_api_create(const restauth_settings_t *s, const restauth_keyset_t *keys,
                                    char *err, size_t errlen)
{
    return guarded([&]() -> restauth_api_t * {
        auto api = std::make_unique<restauth_api_s>();
        restauth::Settings &out = api->api.settings;
#define RESTAUTH_SETTING_FROM_C(type, name, def) out.name = setting_from_c(s->name, &out.name);
        RESTAUTH_MAIN_SETTINGS(RESTAUTH_SETTING_FROM_C)
        RESTAUTH_LOC_SETTINGS(RESTAUTH_SETTING_FROM_C)
#undef RESTAUTH_SETTING_FROM_C
        for (size_t i = 0; i < RESTAUTH_LIMIT_COUNT; i++) {
            out.limits[i] = restauth::RateLimit{s->limit_count[i], s->limit_window[i]};
        }
        std::string error;
        if (!restauth::finish_api(api->api, keys ? &keys->keys : nullptr, error)) {
            set_error(err, errlen, error.c_str());
            return nullptr;
        }
        return api.release();
    }, static_cast<restauth_api_t *>(nullptr), err, errlen);
}

void restauth_api_destroy(restauth_api_t *api)
{
    delete api;
}

restauth_call_t *restauth_call_create(const restauth_api_t *api, const restauth_request_t *req)
{
    return guarded([&] {
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
        r.accept = to_string(req->accept);
        r.has_accept = req->accept_count > 0;
        r.host = to_string(req->host);
        r.origin = to_string(req->origin);
        r.referer = to_string(req->referer);
        r.secure = req->secure != 0;
        r.now = req->now;
        return new restauth_call_s(api->api, std::move(r));
    }, static_cast<restauth_call_s *>(nullptr));
}

void restauth_call_destroy(restauth_call_t *call)
{
    delete call;
}

restauth_need_t restauth_call_next(restauth_call_t *call)
{
    // next() turns endpoint failures into responses itself; an exception
    // here means even that failed (out of memory).
    return guarded([&] {
        switch (call->call.next()) {
        case restauth::Call::Need::Redis: return RESTAUTH_NEED_REDIS;
        case restauth::Call::Need::Job: return RESTAUTH_NEED_JOB;
        case restauth::Call::Need::Done: break;
        }
        return RESTAUTH_DONE;
    }, RESTAUTH_DONE);
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
    guarded_void([&] { call->call.feed_reply(i, reply); });
}

void restauth_call_run_job(restauth_call_t *call)
{
    guarded_void([&] { call->call.run_job(); });
}

void restauth_call_job_failed(restauth_call_t *call, unsigned retry_after)
{
    guarded_void([&] { call->call.job_failed(retry_after); });
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
    return call->call.log_lines().size();
}

void restauth_call_log_line(const restauth_call_t *call, size_t i, int *level, restauth_str_t *msg)
{
    const auto &line = call->call.log_lines()[i];
    *level = line.level;
    *msg = view(line.text);
}

size_t restauth_call_event_count(const restauth_call_t *call)
{
    return call->call.events().size();
}

void restauth_call_event(const restauth_call_t *call, size_t i, restauth_event_t *event)
{
    const auto &e = call->call.events()[i];
    event->name = view(e.name);
    event->outcome = view(e.outcome);
    event->user_id = view(e.user_id);
    event->username = view(e.username);
    event->session_id = view(e.session_id);
}

restauth_token_status_t restauth_protect_verify(const restauth_api_t *api,
                                                const restauth_credentials_t *credentials,
                                                restauth_identity_t **identity)
{
    return guarded([&] {
        std::string why;
        restauth::Credentials c;
        c.method = to_view(credentials->method);
        c.authorization = to_view(credentials->authorization);
        c.cookie = to_view(credentials->cookie);
        c.csrf_header = to_view(credentials->csrf_header);
        c.host = to_view(credentials->host);
        c.origin = to_view(credentials->origin);
        c.referer = to_view(credentials->referer);
        c.secure = credentials->secure != 0;
        c.now = credentials->now;
        c.why = &why;
        auto out = std::make_unique<restauth_identity_s>();
        restauth_token_status_t status = restauth::verify_credentials(api->api, c, out->identity);
        if (status == RESTAUTH_TOKEN_OK) *identity = out.release();
        if (credentials->reason && credentials->reason_size) {
            // Most requests pass with no reason: not worth a printf each.
            size_t n = std::min(why.size(), credentials->reason_size - 1);
            std::memcpy(credentials->reason, why.data(), n);
            credentials->reason[n] = '\0';
        }
        return status;
    }, RESTAUTH_TOKEN_INVALID);
}

void restauth_identity_destroy(restauth_identity_t *identity)
{
    delete identity;
}

int restauth_identity_claim(restauth_identity_t *identity, restauth_str_t path, restauth_str_t *value)
{
    return guarded([&] {
        std::string_view text;
        if (!restauth::identity_claim(identity->identity, to_view(path), text)) return 0;
        *value = view(text);
        return 1;
    }, 0);
}

int restauth_identity_session_key(const restauth_api_t *api, restauth_identity_t *identity, restauth_str_t *key)
{
    return guarded([&] {
        std::string k = restauth::session_key(api->api, identity->identity);
        if (k.empty()) return 0;
        *key = view(identity->identity.values.emplace_back(std::move(k)));
        return 1;
    }, 0);
}

restauth_str_t restauth_token_error_body(restauth_token_status_t status)
{
    return view(restauth::token_error_body(status));
}

restauth_str_t restauth_token_status_name(restauth_token_status_t status)
{
    return view(restauth::token_status_name(status));
}

restauth_str_t restauth_token_challenge(restauth_token_status_t status)
{
    return view(restauth::token_challenge(status));
}

size_t restauth_csrf_error_body(const char *reason, char *buf, size_t size)
{
    return guarded([&]() -> size_t {
        std::string body = restauth::csrf_error_body(reason ? reason : "");
        if (buf != nullptr && size > 0) {
            size_t n = std::min(body.size(), size - 1);
            std::memcpy(buf, body.data(), n);
            buf[n] = '\0';
        }
        return body.size();
    }, static_cast<size_t>(0));
}

restauth_str_t restauth_error_body(int status)
{
    return view(restauth::error_body(status));
}

}  // extern "C"
