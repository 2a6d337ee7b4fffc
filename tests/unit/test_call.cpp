// Unit tests for the sans-IO core, driven the way the nginx shim drives it:
// only through the C API of src/core/restauth.h, with a fake Redis made of
// hand-built hiredis replies.  Each test plays the shim: it advances a call
// with restauth_call_next(), checks the exact Redis commands or job the core
// asks for, feeds replies back, and checks the answer against the contract
// (/work/shared/API.md).  The fake Redis tells EVALs apart by their script:
// a test names the script it expects (lua_scripts.h), and answers an EVAL
// only through REPLY_EVAL, which checks that name.  What each script does in
// a real Redis is tested in tests/lua/.
//
// Password hashes are made with the core's make_password_hash at 1000
// iterations (settings.password_iterations = 1000) so login jobs are fast.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "crypto.h"  // sha256_hex, for rate-limit key names
#include "lua_scripts.h"  // the scripts' texts, to tell EVALs apart
#include "crypto.h"    // hmac_sha256: the CSRF key, derived independently
#include "tokens.h"    // csrf_token_bound
#include "password.h"  // make_password_hash / check_password, for fixtures only
#include "restauth.h"

namespace {

// ============================================================================
// Fixtures
// ============================================================================

constexpr int64_t kNow = 1700000000;  // 2023-11-14T22:13:20Z
const char *const kNowIso = "2023-11-14T22:13:20Z";
const char *const kAccessExpIso = "2023-11-14T22:18:20Z";   // kNow + 300
const char *const kRefreshExpIso = "2023-11-15T22:13:20Z";  // kNow + 86400
const char *const kSecret = "unit-test-hs256-secret-0123456789abcdef";  // >= 32 bytes
const char *const kPassword = "correct horse battery";
const char *const kUserAgent = "unit-test-agent/1.0";
const char *const kClientIp = "192.0.2.10";

const char *const kLoginFailed = R"({"non_field_errors": ["Unable to log in with provided credentials."]})";
const char *const k503 = R"({"detail": "Service temporarily unavailable, try again later."})";
const char *const kChallenge = "Bearer realm=\"api\"";

restauth_keyset_t *g_keys = nullptr;
std::string g_hash;  // kPassword at 1000 iterations

restauth_str_t S(const char *s)
{
    return restauth_str_t{s, std::strlen(s)};
}

restauth_str_t S(const std::string &s)
{
    return restauth_str_t{s.data(), s.size()};
}

std::string str(restauth_str_t s)
{
    return s.data ? std::string(s.data, s.len) : std::string();
}

bool contains(std::string_view hay, std::string_view needle)
{
    return hay.find(needle) != std::string_view::npos;
}

// ---- the API object ------------------------------------------------------------

struct ApiDeleter {
    void operator()(restauth_api_t *api) const { restauth_api_destroy(api); }
};
using ApiPtr = std::unique_ptr<restauth_api_t, ApiDeleter>;

// The module's defaults, but with fast hashing and without the CSRF check
// and rate limits, which the tests that need them turn on.
restauth_settings_t default_settings()
{
    restauth_settings_t s;
    restauth_settings_defaults(&s);
    s.password_iterations = 1000;
    s.csrf = 0;
    for (unsigned &count : s.limit_count) count = 0;
    return s;
}

// tweak may only point the settings at string literals (static storage).
ApiPtr make_api(const std::function<void(restauth_settings_t &)> &tweak = nullptr)
{
    restauth_settings_t s = default_settings();
    if (tweak) tweak(s);
    char err[256] = "";
    restauth_api_t *api = restauth_api_create(&s, g_keys, err, sizeof(err));
    if (api == nullptr) fail_msg("restauth_api_create: %s", err);
    return ApiPtr(api);
}

void with_cookies(restauth_settings_t &s)
{
    s.cookie_access = S("auth");
    s.cookie_refresh = S("refresh-auth");
}

// ---- fake Redis: hand-built hiredis replies ----------------------------------------

void free_reply(redisReply *r)
{
    if (r == nullptr) return;
    for (size_t i = 0; i < r->elements; i++) free_reply(r->element[i]);
    std::free(r->element);
    std::free(r->str);
    std::free(r);
}

struct ReplyDeleter {
    void operator()(redisReply *r) const { free_reply(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

Reply r_new(int type)
{
    auto *r = static_cast<redisReply *>(std::calloc(1, sizeof(redisReply)));
    if (r == nullptr) fail_msg("out of memory");
    r->type = type;
    return Reply(r);
}

Reply r_text(int type, std::string_view s)
{
    Reply r = r_new(type);
    r->str = static_cast<char *>(std::malloc(s.size() + 1));
    std::memcpy(r->str, s.data(), s.size());
    r->str[s.size()] = '\0';
    r->len = s.size();
    return r;
}

Reply r_string(std::string_view s) { return r_text(REDIS_REPLY_STRING, s); }
Reply r_status(std::string_view s) { return r_text(REDIS_REPLY_STATUS, s); }
Reply r_error(std::string_view s) { return r_text(REDIS_REPLY_ERROR, s); }

Reply r_int(long long v)
{
    Reply r = r_new(REDIS_REPLY_INTEGER);
    r->integer = v;
    return r;
}

Reply r_array(std::vector<Reply> items)
{
    Reply r = r_new(REDIS_REPLY_ARRAY);
    r->elements = items.size();
    r->element = static_cast<redisReply **>(std::calloc(items.size() ? items.size() : 1, sizeof(redisReply *)));
    for (size_t i = 0; i < items.size(); i++) r->element[i] = items[i].release();
    return r;
}

using Hash = std::vector<std::pair<std::string, std::string>>;

// An HGETALL reply: a flat field/value array.
Reply r_hash(const Hash &h)
{
    std::vector<Reply> items;
    for (const auto &kv : h) {
        items.push_back(r_string(kv.first));
        items.push_back(r_string(kv.second));
    }
    return r_array(std::move(items));
}

// The rotation script's reply: {status, user hash...}.
Reply r_rotated(long long status, const Hash &user = {})
{
    std::vector<Reply> items;
    items.push_back(r_int(status));
    for (const auto &kv : user) {
        items.push_back(r_string(kv.first));
        items.push_back(r_string(kv.second));
    }
    return r_array(std::move(items));
}

// ---- the user of most tests ---------------------------------------------------------

Hash alice()
{
    return {
        {"id", "7"},           {"username", "Alice"},      {"email", "alice@example.com"},
        {"password", g_hash},  {"first_name", "Alice"},    {"last_name", "Liddell"},
        {"is_active", "1"},    {"is_staff", "0"},          {"is_superuser", "0"},
        {"email_verified", "1"}, {"date_joined", "2023-01-01T00:00:00Z"},
    };
}

Hash with(Hash h, const std::string &field, const std::string &value)
{
    for (auto &kv : h) {
        if (kv.first == field) {
            kv.second = value;
            return h;
        }
    }
    h.emplace_back(field, value);
    return h;
}

const char *const kAliceJson =
    R"({"pk": 7, "username": "Alice", "email": "alice@example.com", "first_name": "Alice", "last_name": "Liddell"})";

// ---- the core's Lua scripts, by name ----------------------------------------------------

const std::vector<std::pair<std::string_view, std::string_view>> &lua_scripts()
{
    static const std::vector<std::pair<std::string_view, std::string_view>> all = {
        {"create_user", restauth::lua::create_user},
        {"delete_own_session", restauth::lua::delete_own_session},
        {"end_all_sessions", restauth::lua::end_all_sessions},
        {"end_session", restauth::lua::end_session},
        {"find_user", restauth::lua::find_user},
        {"list_sessions", restauth::lua::list_sessions},
        {"login_attempt", restauth::lua::login_attempt},
        {"rate_limit", restauth::lua::rate_limit},
        {"register_user", restauth::lua::register_user},
        {"request_reset", restauth::lua::request_reset},
        {"resend_verification", restauth::lua::resend_verification},
        {"reset_password", restauth::lua::reset_password},
        {"rotate_session", restauth::lua::rotate_session},
        {"set_password", restauth::lua::set_password},
        {"start_opaque", restauth::lua::start_opaque},
        {"start_session", restauth::lua::start_session},
        {"update_profile", restauth::lua::update_profile},
        {"verify_email", restauth::lua::verify_email},
    };
    return all;
}

// A command argument as tests see it: "lua:<name>" for a script's text.
std::string shown(const std::string &arg)
{
    for (const auto &[name, text] : lua_scripts()) {
        if (arg == text) return "lua:" + std::string(name);
    }
    return arg;
}

// The expected script argument of an EVAL: script("find_user") is
// src/core/lua/find_user.lua.
std::string script(std::string_view name)
{
    for (const auto &entry : lua_scripts()) {
        if (entry.first == name) return "lua:" + std::string(name);
    }
    fail_msg("no Lua script is named %.*s", int(name.size()), name.data());
    return {};
}

// ---- requests and calls ---------------------------------------------------------------

struct Req {
    std::string method = "POST";
    std::string path;
    std::string content_type = "application/json";
    std::string authorization;
    int authorization_count = -1;  // -1: 1 when authorization is set, else 0
    std::string cookie;
    std::string csrf_header;  // X-CSRFToken
    std::string user_agent = kUserAgent;
    std::string client_ip = kClientIp;
    std::string body;
    std::string accept;
    int accept_count = -1;  // -1: 1 when accept is set, else 0
    std::string host;       // Host, Origin, Referer, TLS: the CSRF origin check
    std::string origin;
    std::string referer;
    bool secure = false;
    int64_t now = kNow;
};

Req post(std::string path, std::string json_body)
{
    Req r;
    r.path = std::move(path);
    r.body = std::move(json_body);
    return r;
}

Req request(std::string method, std::string path)
{
    Req r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.content_type.clear();
    return r;
}

Req authed(std::string method, std::string path, const std::string &access, int64_t now = kNow)
{
    Req r = request(std::move(method), std::move(path));
    r.authorization = "Bearer " + access;
    r.now = now;
    return r;
}

Req login_req(const std::string &username, const std::string &password)
{
    return post("login/", "{\"username\": \"" + username + "\", \"password\": \"" + password + "\"}");
}

struct LogLine {
    int level;
    std::string text;
};

const char *need_name(restauth_need_t n)
{
    switch (n) {
    case RESTAUTH_NEED_REDIS: return "NEED_REDIS";
    case RESTAUTH_NEED_JOB: return "NEED_JOB";
    case RESTAUTH_DONE: return "DONE";
    }
    return "?";
}

// One API request, with the shim's side of the protocol.
class Flow {
public:
    Flow(const restauth_api_t *api, const Req &r)
    {
        restauth_request_t req;
        std::memset(&req, 0, sizeof(req));
        req.method = S(r.method);
        req.path = S(r.path);
        req.content_type = S(r.content_type);
        req.authorization = S(r.authorization);
        req.authorization_count =
            r.authorization_count >= 0 ? r.authorization_count : (r.authorization.empty() ? 0 : 1);
        req.cookie = S(r.cookie);
        req.csrf_header = S(r.csrf_header);
        req.user_agent = S(r.user_agent);
        req.client_ip = S(r.client_ip);
        req.body = S(r.body);
        req.accept = S(r.accept);
        req.accept_count = r.accept_count >= 0 ? r.accept_count : (r.accept.empty() ? 0 : 1);
        req.host = S(r.host);
        req.origin = S(r.origin);
        req.referer = S(r.referer);
        req.secure = r.secure ? 1 : 0;
        req.now = r.now;
        call_ = restauth_call_create(api, &req);
        if (call_ == nullptr) fail_msg("restauth_call_create returned NULL");
    }
    ~Flow() { restauth_call_destroy(call_); }
    Flow(const Flow &) = delete;
    Flow &operator=(const Flow &) = delete;

    // Advances the call; keeps every log line, since the core only holds
    // those of the latest step.
    restauth_need_t next()
    {
        restauth_need_t need = restauth_call_next(call_);
        for (size_t i = 0; i < restauth_call_log_count(call_); i++) {
            int level = 0;
            restauth_str_t msg;
            restauth_call_log_line(call_, i, &level, &msg);
            logs.push_back(LogLine{level, str(msg)});
        }
        return need;
    }

    size_t count() const { return restauth_call_redis_count(call_); }

    std::vector<std::string> command(size_t i) const
    {
        int argc = 0;
        const char **argv = nullptr;
        const size_t *argvlen = nullptr;
        restauth_call_redis_command(call_, i, &argc, &argv, &argvlen);
        std::vector<std::string> out;
        for (int k = 0; k < argc; k++) out.emplace_back(argv[k], argvlen[k]);
        return out;
    }

    // Like hiredis, the reply is freed once the callback returns.  An EVAL
    // is answered only through REPLY_EVAL, naming its script.
    void reply(size_t i, Reply r, const char *file = __builtin_FILE(), int line = __builtin_LINE())
    {
        auto cmd = command(i);
        if (!cmd.empty() && cmd[0] == "EVAL") {
            print_error("EVAL of %s answered without naming the script (use REPLY_EVAL)\n", shown(cmd.at(1)).c_str());
            _fail(file, line);
        }
        restauth_call_redis_reply(call_, i, r.get());
    }

    void reply_eval(size_t i, std::string_view name, Reply r, const char *file, int line)
    {
        auto cmd = command(i);
        std::string want = script(name);
        std::string got = cmd.empty() ? "no command" : cmd[0] == "EVAL" && cmd.size() > 1 ? shown(cmd[1]) : cmd[0];
        if (got != want) {
            print_error("expected an EVAL of %s, the core sent %s\n", want.c_str(), got.c_str());
            _fail(file, line);
        }
        restauth_call_redis_reply(call_, i, r.get());
    }
    void fail_reply(size_t i) { restauth_call_redis_reply(call_, i, nullptr); }
    void run_job() { restauth_call_run_job(call_); }
    void job_failed(unsigned retry_after = 7) { restauth_call_job_failed(call_, retry_after); }

    int status() const { return restauth_call_status(call_); }
    std::string body() const { return str(restauth_call_body(call_)); }
    size_t header_count() const { return restauth_call_header_count(call_); }

    std::vector<std::string> headers(std::string_view name) const
    {
        std::vector<std::string> out;
        for (size_t i = 0; i < header_count(); i++) {
            restauth_str_t n, v;
            restauth_call_header(call_, i, &n, &v);
            if (str(n) == name) out.push_back(str(v));
        }
        return out;
    }

    std::string header(std::string_view name) const
    {
        auto all = headers(name);
        if (all.size() != 1) fail_msg("expected one %.*s header, got %zu", int(name.size()), name.data(), all.size());
        return all[0];
    }

    std::string all_logs() const
    {
        std::string out;
        for (const auto &l : logs) out += l.text + "\n";
        return out;
    }

    std::vector<LogLine> logs;

private:
    restauth_call_t *call_ = nullptr;
};

// ---- assertions with the caller's line -------------------------------------------------

// Answers command i of the flow, an EVAL of the named script (fails on any
// other command or script).
#define REPLY_EVAL(flow, i, name, reply) (flow).reply_eval((i), (name), (reply), __FILE__, __LINE__)

void expect_need(restauth_need_t got, restauth_need_t want, const char *file, int line)
{
    if (got != want) {
        print_error("expected %s, the call answered %s\n", need_name(want), need_name(got));
        _fail(file, line);
    }
}
#define STEP(flow, want) expect_need((flow).next(), (want), __FILE__, __LINE__)

struct JsonDeleter {
    void operator()(cJSON *j) const { cJSON_Delete(j); }
};
using Json = std::unique_ptr<cJSON, JsonDeleter>;

Json parse_json(const std::string &text, const char *file, int line)
{
    Json j(cJSON_ParseWithLength(text.data(), text.size()));
    if (!j) {
        print_error("not JSON: %s\n", text.c_str());
        _fail(file, line);
    }
    return j;
}
#define PARSE(text) parse_json((text), __FILE__, __LINE__)

// Compares JSON values, not bytes (member order and spacing aside).
void expect_json(const std::string &got, const std::string &want, const char *file, int line)
{
    Json g = parse_json(got, file, line);
    Json w = parse_json(want, file, line);
    if (!cJSON_Compare(g.get(), w.get(), true)) {
        print_error("JSON differs\n  got:  %s\n  want: %s\n", got.c_str(), want.c_str());
        _fail(file, line);
    }
}
#define EXPECT_JSON(got, want) expect_json((got), (want), __FILE__, __LINE__)

// Compares a command; "*" in `want` matches any argument (a random id),
// script("name") the text of that Lua script.
const std::string kAny = "*";

void expect_command(const std::vector<std::string> &got, const std::vector<std::string> &want, const char *file,
                    int line)
{
    bool same = got.size() == want.size();
    for (size_t i = 0; same && i < got.size(); i++) {
        if (want[i] != kAny && want[i] != shown(got[i])) same = false;
    }
    if (!same) {
        std::string g, w;
        for (const auto &x : got) {
            std::string a = shown(x);
            g += " [" + (a.size() > 60 ? a.substr(0, 60) + "..." : a) + "]";
        }
        for (const auto &a : want) w += " [" + a + "]";
        print_error("command differs\n  got: %s\n  want:%s\n", g.c_str(), w.c_str());
        _fail(file, line);
    }
}
#define EXPECT_COMMAND(got, ...) expect_command((got), std::vector<std::string> __VA_ARGS__, __FILE__, __LINE__)

void expect_one_command(const Flow &f, const char *file, int line)
{
    if (f.count() != 1) {
        print_error("expected a batch of 1 command, got %zu\n", f.count());
        _fail(file, line);
    }
}
#define EXPECT_ONE_COMMAND(flow) expect_one_command((flow), __FILE__, __LINE__)

// ---- JWT payloads (read, never trusted: verification is the core's) ------------------

std::string b64url_decode(std::string_view in)
{
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    for (char c : in) {
        int v = 0;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-') v = 62;
        else if (c == '_') v = 63;
        else fail_msg("not base64url: %.*s", int(in.size()), in.data());
        buf = (buf << 6) | unsigned(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(char((buf >> bits) & 0xff));
        }
    }
    return out;
}

Json jwt_payload(const std::string &token)
{
    size_t d1 = token.find('.');
    size_t d2 = token.find('.', d1 + 1);
    if (d1 == std::string::npos || d2 == std::string::npos) fail_msg("not a JWT: %s", token.c_str());
    std::string payload = b64url_decode(std::string_view(token).substr(d1 + 1, d2 - d1 - 1));
    Json j(cJSON_Parse(payload.c_str()));
    if (!j) fail_msg("JWT payload is not JSON: %s", payload.c_str());
    return j;
}

std::string json_str(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(item)) fail_msg("no string member \"%s\"", name);
    return item->valuestring;
}

double json_num(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(item)) fail_msg("no number member \"%s\"", name);
    return item->valuedouble;
}

std::string signature_of(const std::string &token)
{
    return token.substr(token.rfind('.') + 1);
}

// restauth_protect_verify, returning one claim ("" when the token fails).
restauth_token_status_t verify_access(const restauth_api_t *api, const std::string &access, int64_t now,
                                      const char *claim, std::string *value)
{
    restauth_identity_t *id = nullptr;
    std::string header = "Bearer " + access;
    restauth_credentials_t cred;
    std::memset(&cred, 0, sizeof(cred));
    cred.method = S("GET");
    cred.authorization = S(header);
    cred.now = now;
    restauth_token_status_t st = restauth_protect_verify(api, &cred, &id);
    if (st == RESTAUTH_TOKEN_OK) {
        restauth_str_t v{nullptr, 0};
        if (claim && value) *value = restauth_identity_claim(id, S(claim), &v) ? str(v) : std::string("<absent>");
        restauth_identity_destroy(id);
    }
    return st;
}

// ---- a whole successful login, for tests that need tokens --------------------------

struct Session {
    std::string access;
    std::string refresh;
    std::string sid;
    std::string refresh_jti;
    std::string csrf;  // the csrftoken cookie, when one was set
};

// The value of the cookie `name` among Set-Cookie headers ("" when absent).
std::string set_cookie_value(const std::vector<std::string> &set_cookies, const std::string &name)
{
    for (const std::string &c : set_cookies) {
        if (c.compare(0, name.size() + 1, name + "=") == 0) return c.substr(name.size() + 1, c.find(';') - name.size() - 1);
    }
    return {};
}

Session login_alice(const restauth_api_t *api, int64_t now = kNow)
{
    Req r = login_req("alice", kPassword);
    r.now = now;
    Flow f(api, r);
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_NEED_REDIS);
    auto start = f.command(0);
    REPLY_EVAL(f, 0, "start_session", r_int(1));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
    Json body = PARSE(f.body());
    Session s;
    s.access = json_str(body.get(), "access");
    s.refresh = json_str(body.get(), "refresh");
    s.sid = start.at(10);
    s.refresh_jti = start.at(17);
    s.csrf = set_cookie_value(f.headers("Set-Cookie"), "csrftoken");
    return s;
}

// Drives token/refresh/ up to the rotation script; returns its command.
std::vector<std::string> refresh_until_rotation(Flow &f)
{
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_ONE_COMMAND(f);
    return f.command(0);
}

Req refresh_req(const std::string &refresh, int64_t now = kNow)
{
    Req r = post("token/refresh/", "{\"refresh\": \"" + refresh + "\"}");
    r.now = now;
    return r;
}

std::string token_not_valid(const char *message)
{
    return std::string(R"({"detail": "Given token not valid for any token type", "code": "token_not_valid", )"
                       R"("messages": [{"token_class": "AccessToken", "token_type": "access", "message": ")") +
           message + "\"}]}";
}

// ============================================================================
// health/
// ============================================================================

void test_health_pong_is_200_redis_ok(void **)
{
    auto api = make_api();
    Flow f(api.get(), request("GET", "health/"));
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_ONE_COMMAND(f);
    EXPECT_COMMAND(f.command(0), {"PING"});
    f.reply(0, r_status("PONG"));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
    EXPECT_JSON(f.body(), R"({"redis": "ok"})");
}

void test_health_redis_down_is_503(void **)
{
    auto api = make_api();
    Flow f(api.get(), request("GET", "health/"));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.fail_reply(0);
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 503);
    EXPECT_JSON(f.body(), R"({"detail": "Redis is unavailable."})");
    assert_true(f.logs.size() >= 1);
    assert_int_equal(f.logs[0].level, RESTAUTH_LOG_ERR);
}

void test_health_redis_error_reply_is_503(void **)
{
    auto api = make_api();
    Flow f(api.get(), request("GET", "health"));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.reply(0, r_error("LOADING Redis is loading the dataset in memory"));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 503);
    EXPECT_JSON(f.body(), R"({"detail": "Redis is unavailable."})");
}

void test_health_unexpected_ping_reply_is_503(void **)
{
    auto api = make_api();
    Flow f(api.get(), request("GET", "health/"));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.reply(0, r_status("NOT PONG"));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 503);
}

void test_unanswered_command_counts_as_redis_failure(void **)
{
    // A shim that resumes without feeding a reply must not get a 200.
    auto api = make_api();
    Flow f(api.get(), request("GET", "health/"));
    STEP(f, RESTAUTH_NEED_REDIS);
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 503);
}

// ============================================================================
// router
// ============================================================================

void test_unknown_path_is_404_json_without_redis(void **)
{
    auto api = make_api();
    for (const char *path : {"nope/", "nope", "", "login/extra/", "Login/", "health//"}) {
        for (const char *method : {"GET", "POST"}) {
            Flow f(api.get(), request(method, path));
            STEP(f, RESTAUTH_DONE);
            if (f.status() != 404) fail_msg("%s \"%s\": status %d", method, path, f.status());
            EXPECT_JSON(f.body(), R"({"detail": "Not found."})");
        }
    }
}

void test_get_login_is_405_with_allow(void **)
{
    auto api = make_api();
    for (const char *path : {"login/", "login"}) {
        Flow f(api.get(), request("GET", path));
        STEP(f, RESTAUTH_DONE);
        assert_int_equal(f.status(), 405);
        assert_string_equal(f.header("Allow").c_str(), "POST, OPTIONS");
        EXPECT_JSON(f.body(), R"({"detail": "Method \"GET\" not allowed."})");
    }
}

void test_put_health_is_405_naming_the_method(void **)
{
    auto api = make_api();
    Flow f(api.get(), request("PUT", "health/"));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 405);
    assert_string_equal(f.header("Allow").c_str(), "GET, HEAD, OPTIONS");
    EXPECT_JSON(f.body(), R"({"detail": "Method \"PUT\" not allowed."})");
}

void test_options_answers_allow_without_redis(void **)
{
    auto api = make_api();
    struct {
        const char *path;
        const char *allow;
    } cases[] = {
        {"login/", "POST, OPTIONS"},
        {"login", "POST, OPTIONS"},
        {"health/", "GET, HEAD, OPTIONS"},
        {"token/refresh/", "POST, OPTIONS"},
        {"password/reset/confirm/", "POST, OPTIONS"},
        {"user/", "GET, PUT, PATCH, HEAD, OPTIONS"},
        {"sessions/", "GET, HEAD, OPTIONS"},
    };
    for (const auto &c : cases) {
        Flow f(api.get(), request("OPTIONS", c.path));
        STEP(f, RESTAUTH_DONE);
        if (f.status() != 200) fail_msg("OPTIONS %s: status %d", c.path, f.status());
        assert_string_equal(f.header("Allow").c_str(), c.allow);
    }
}

void test_both_url_forms_reach_the_endpoint(void **)
{
    auto api = make_api();
    for (const char *path : {"health", "health/"}) {
        Flow f(api.get(), request("GET", path));
        STEP(f, RESTAUTH_NEED_REDIS);
        EXPECT_COMMAND(f.command(0), {"PING"});
    }
    for (const char *path : {"login", "login/"}) {
        Req r = login_req("alice", kPassword);
        r.path = path;
        Flow f(api.get(), r);
        STEP(f, RESTAUTH_NEED_REDIS);
        EXPECT_COMMAND(f.command(0), {"EVAL", script("find_user"), "2",
                                      "restauth:users:by_username", "restauth:users:by_email",
                                      "restauth:", "username", "alice"});
    }
}

void test_sessions_id_routes_to_delete_in_both_forms(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    for (const char *path : {"sessions/abc123/", "sessions/abc123"}) {
        Flow f(api.get(), authed("DELETE", path, s.access));
        STEP(f, RESTAUTH_NEED_REDIS);
        EXPECT_COMMAND(f.command(0), {"HGETALL", "restauth:user:7"});
        f.reply(0, r_hash(alice()));
        STEP(f, RESTAUTH_NEED_REDIS);
        EXPECT_ONE_COMMAND(f);
        EXPECT_COMMAND(f.command(0), {"EVAL", script("delete_own_session"), "2",
                                      "restauth:session:abc123", "restauth:user:7:sessions", "7", "abc123"});
        REPLY_EVAL(f, 0, "delete_own_session", r_int(1));
        STEP(f, RESTAUTH_DONE);
        assert_int_equal(f.status(), 204);
        assert_string_equal(f.body().c_str(), "");
    }
}

void test_sessions_id_of_someone_else_is_404(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), authed("DELETE", "sessions/not-mine/", s.access));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.reply(0, r_hash(alice()));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "delete_own_session", r_int(0));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 404);
    EXPECT_JSON(f.body(), R"({"detail": "Not found."})");
}

void test_sessions_id_malformed_paths_are_404(void **)
{
    auto api = make_api();
    for (const char *path : {"sessions//", "sessions/a/b/", "sessions/a/b"}) {
        Flow f(api.get(), request("DELETE", path));
        STEP(f, RESTAUTH_DONE);
        if (f.status() != 404) fail_msg("DELETE %s: status %d", path, f.status());
    }
}

void test_sessions_id_needs_credentials_before_method(void **)
{
    auto api = make_api();
    Flow anon(api.get(), request("GET", "sessions/abc/"));
    STEP(anon, RESTAUTH_DONE);
    assert_int_equal(anon.status(), 401);
    assert_string_equal(anon.header("WWW-Authenticate").c_str(), kChallenge);

    Session s = login_alice(api.get());
    Flow f(api.get(), authed("GET", "sessions/abc/", s.access));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.reply(0, r_hash(alice()));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 405);
    assert_string_equal(f.header("Allow").c_str(), "DELETE, OPTIONS");
}

void test_options_sessions_id_answers_allow(void **)
{
    auto api = make_api();
    Flow f(api.get(), request("OPTIONS", "sessions/abc123/"));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
    assert_string_equal(f.header("Allow").c_str(), "DELETE, OPTIONS");
}

void test_sessions_list_marks_the_current_session(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), authed("GET", "sessions/", s.access));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.reply(0, r_hash(alice()));
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("list_sessions"), "1", "restauth:user:7:sessions", "restauth:", "100"});
    std::vector<Reply> sessions;
    sessions.push_back(r_hash({{"id", s.sid}, {"user_id", "7"}, {"created", std::to_string(kNow)},
                               {"last_used", std::to_string(kNow + 300)}, {"user_agent", kUserAgent},
                               {"ip", kClientIp}}));
    sessions.push_back(r_hash({{"id", "other"}, {"user_id", "7"}, {"created", std::to_string(kNow)},
                               {"last_used", std::to_string(kNow)}, {"user_agent", "curl"}, {"ip", "::1"}}));
    REPLY_EVAL(f, 0, "list_sessions", r_array(std::move(sessions)));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
    EXPECT_JSON(f.body(), "[{\"id\": \"" + s.sid + "\", \"created\": \"" + kNowIso +
                              "\", \"last_used\": \"" + kAccessExpIso + "\", \"user_agent\": \"" + kUserAgent +
                              "\", \"ip\": \"" + kClientIp + "\", \"current\": true}, "
                              "{\"id\": \"other\", \"created\": \"" + kNowIso + "\", \"last_used\": \"" + kNowIso +
                              "\", \"user_agent\": \"curl\", \"ip\": \"::1\", \"current\": false}]");
}

void test_call_destroyed_mid_flow_is_clean(void **)
{
    // A client that goes away: the shim destroys the call wherever it is.
    // (Run under ASan/LSan to see a leaked or double-freed coroutine frame.)
    auto api = make_api();
    {
        Flow f(api.get(), login_req("alice", kPassword));
        STEP(f, RESTAUTH_NEED_REDIS);
    }
    {
        Flow f(api.get(), login_req("alice", kPassword));
        STEP(f, RESTAUTH_NEED_REDIS);
        REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
        STEP(f, RESTAUTH_NEED_JOB);
    }
    {
        Flow f(api.get(), login_req("alice", kPassword));
        STEP(f, RESTAUTH_NEED_REDIS);
        REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
        STEP(f, RESTAUTH_NEED_JOB);
        f.run_job();  // finished on the pool, the client gone before resuming
    }
    Session s = login_alice(api.get());
    {
        Flow f(api.get(), authed("GET", "user/", s.access));  // suspended inside authenticate()
        STEP(f, RESTAUTH_NEED_REDIS);
    }
    {
        Flow f(api.get(), request("GET", "health/"));  // never started
    }
}

void test_next_after_done_stays_done(void **)
{
    auto api = make_api();
    Flow f(api.get(), request("GET", "nope/"));
    STEP(f, RESTAUTH_DONE);
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 404);
}

// ============================================================================
// login/
// ============================================================================

void test_login_happy_path_commands_job_and_tokens(void **)
{
    auto api = make_api();
    Flow f(api.get(), login_req("Alice", kPassword));

    // 1. one round trip: the find-user script, by username, folded.
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_ONE_COMMAND(f);
    auto find = f.command(0);
    EXPECT_COMMAND(find, {"EVAL", script("find_user"), "2",
                          "restauth:users:by_username", "restauth:users:by_email", "restauth:", "username", "alice"});
    assert_true(contains(find[1], "HGETALL"));
    REPLY_EVAL(f, 0, "find_user", r_hash(alice()));

    // 2. the password check, off the event loop.
    STEP(f, RESTAUTH_NEED_JOB);
    assert_int_equal(f.count(), 0);
    f.run_job();

    // 3. the session starts atomically with its fields.
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_ONE_COMMAND(f);
    auto start = f.command(0);
    const std::string sid = start.at(10);
    EXPECT_COMMAND(start, {"EVAL", script("start_session"), "3", "restauth:user:7", "restauth:session:" + sid,
                           "restauth:user:7:sessions", kNowIso, "86400", g_hash, "", sid,
                           "restauth:", "100", std::to_string(kNow), "user_id", "7", "jti", kAny, "created", std::to_string(kNow),
                           "last_used", std::to_string(kNow), "user_agent", kUserAgent, "ip", kClientIp,
                           "expires", std::to_string(kNow + 86400)});
    assert_int_equal(sid.size(), 32);
    assert_true(contains(start[1], "index_add"));
    REPLY_EVAL(f, 0, "start_session", r_int(1));

    // 4. the answer.
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
    Json body = PARSE(f.body());
    const std::string access = json_str(body.get(), "access");
    const std::string refresh = json_str(body.get(), "refresh");
    cJSON *user = cJSON_DetachItemFromObjectCaseSensitive(body.get(), "user");
    assert_non_null(user);
    char *user_text = cJSON_PrintUnformatted(user);
    EXPECT_JSON(user_text, kAliceJson);
    cJSON_free(user_text);
    cJSON_Delete(user);
    assert_int_equal(cJSON_GetArraySize(body.get()), 2);  // access, refresh
    assert_int_equal(f.header_count(), 0);                 // no cookies configured

    // The access token verifies with the same keyset, for this user and session.
    std::string claim;
    assert_int_equal(verify_access(api.get(), access, kNow, "user_id", &claim), RESTAUTH_TOKEN_OK);
    assert_string_equal(claim.c_str(), "7");
    verify_access(api.get(), access, kNow, "sid", &claim);
    assert_string_equal(claim.c_str(), sid.c_str());
    verify_access(api.get(), access, kNow, "token_type", &claim);
    assert_string_equal(claim.c_str(), "access");
    verify_access(api.get(), access, kNow, "username", &claim);
    assert_string_equal(claim.c_str(), "Alice");
    assert_int_equal(verify_access(api.get(), access, kNow + 299, nullptr, nullptr), RESTAUTH_TOKEN_OK);
    assert_int_equal(verify_access(api.get(), access, kNow + 300, nullptr, nullptr), RESTAUTH_TOKEN_INVALID);

    // The refresh token is the one the session records.
    assert_int_equal(verify_access(api.get(), refresh, kNow, nullptr, nullptr), RESTAUTH_TOKEN_WRONG_TYPE);
    Json rp = jwt_payload(refresh);
    assert_string_equal(json_str(rp.get(), "jti").c_str(), start[17].c_str());
    assert_string_equal(json_str(rp.get(), "sid").c_str(), sid.c_str());
    assert_int_equal(int64_t(json_num(rp.get(), "exp")), kNow + 86400);
    assert_int_equal(int64_t(json_num(rp.get(), "user_id")), 7);
    Json ap = jwt_payload(access);
    assert_int_equal(int64_t(json_num(ap.get(), "exp")), kNow + 300);
    assert_int_equal(int64_t(json_num(ap.get(), "iat")), kNow);
    assert_int_equal(json_str(ap.get(), "jti").size(), 32);
    assert_string_not_equal(json_str(ap.get(), "jti").c_str(), start[14].c_str());
}

void test_login_ignores_stale_credentials(void **)
{
    // Differs from dj-rest-auth: a stale access cookie or header does not
    // block a login.
    auto api = make_api(with_cookies);
    Session s = login_alice(api.get());
    Req r = login_req("alice", kPassword);
    r.authorization = "Bearer " + s.access;
    r.cookie = "auth=" + s.access;
    r.now = kNow + 3600;  // both expired
    Flow f(api.get(), r);
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("find_user"), "2",
                                  "restauth:users:by_username", "restauth:users:by_email",
                                  "restauth:", "username", "alice"});
}

void test_login_email_wins_over_username(void **)
{
    auto api = make_api();
    Flow f(api.get(), post("login/", R"({"username": "bob", "email": "Alice@Example.COM", "password": "x"})"));
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("find_user"), "2",
                                  "restauth:users:by_username", "restauth:users:by_email",
                                  "restauth:", "email", "alice@example.com"});
}

void test_login_username_holding_an_email_looks_up_either(void **)
{
    auto api = make_api();
    Flow f(api.get(), post("login/", R"({"username": "ALICE@example.com", "email": "", "password": "x"})"));
    STEP(f, RESTAUTH_NEED_REDIS);
    // Two lookups in one round trip: the address's owner first (allauth's
    // username_email), then the username.
    assert_int_equal(f.count(), 2);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("find_user"), "2",
                                  "restauth:users:by_username", "restauth:users:by_email",
                                  "restauth:", "email", "alice@example.com"});
    EXPECT_COMMAND(f.command(1), {"EVAL", script("find_user"), "2",
                                  "restauth:users:by_username", "restauth:users:by_email",
                                  "restauth:", "username", "alice@example.com"});
}

void test_login_uses_the_configured_prefix(void **)
{
    auto api = make_api([](restauth_settings_t &s) { s.redis_prefix = S("app1:"); });
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("find_user"), "2",
                                  "app1:users:by_username", "app1:users:by_email", "app1:", "username", "alice"});
    REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_NEED_REDIS);
    auto start = f.command(0);
    assert_string_equal(start.at(3).c_str(), "app1:user:7");
    assert_string_equal(start.at(4).c_str(), ("app1:session:" + start.at(10)).c_str());
    assert_string_equal(start.at(5).c_str(), "app1:user:7:sessions");
    assert_string_equal(start.at(11).c_str(), "app1:");  // the evicted sessions' records
}

// restauth_max_sessions_per_user reaches the scripts that evict and list.
void test_session_cap_reaches_the_scripts(void **)
{
    auto api = make_api([](restauth_settings_t &s) { s.max_sessions_per_user = 3; });
    Session s = login_alice(api.get());
    Flow f(api.get(), authed("GET", "sessions/", s.access));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.reply(0, r_hash(alice()));
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("list_sessions"), "1", "restauth:user:7:sessions", "restauth:", "3"});

    Flow in(api.get(), login_req("alice", kPassword));
    STEP(in, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(in, 0, "find_user", r_hash(alice()));
    STEP(in, RESTAUTH_NEED_JOB);
    in.run_job();
    STEP(in, RESTAUTH_NEED_REDIS);
    assert_string_equal(in.command(0).at(12).c_str(), "3");
    assert_string_equal(in.command(0).at(13).c_str(), std::to_string(kNow).c_str());  // its score
}

// A revocation that one script run does not finish (an index larger than
// a step) is run again until the script reports nothing left.
void test_logout_all_runs_until_nothing_is_left(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), post("logout/", "{\"refresh\": \"" + s.refresh + "\", \"all\": true}"));
    for (long long left : {1500LL, 500LL, 0LL}) {
        STEP(f, RESTAUTH_NEED_REDIS);
        EXPECT_COMMAND(f.command(0), {"EVAL", script("end_all_sessions"), "2", "restauth:user:7:sessions",
                                      "restauth:user:7:tokens", "restauth:", ""});
        REPLY_EVAL(f, 0, "end_all_sessions", r_int(left));
    }
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
}

void test_login_unknown_user_is_refused_after_a_job(void **)
{
    auto api = make_api();
    Flow f(api.get(), login_req("nobody", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_array({}));
    STEP(f, RESTAUTH_NEED_JOB);  // a hash is still paid for
    f.run_job();
    STEP(f, RESTAUTH_DONE);      // and no session is started
    assert_int_equal(f.status(), 400);
    assert_string_equal(f.body().c_str(), kLoginFailed);
    assert_int_equal(f.header_count(), 0);
}

double job_seconds(const restauth_api_t *api, Reply found)
{
    Flow f(api, login_req("alice", "not the password"));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", std::move(found));
    STEP(f, RESTAUTH_NEED_JOB);
    auto t0 = std::chrono::steady_clock::now();
    f.run_job();
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    return dt;
}

void test_login_unknown_user_costs_a_hash(void **)
{
    // At a cost high enough to measure, "no such user" must take about as
    // long as "wrong password" (no enumeration by timing).
    const unsigned iterations = 200000;
    auto api = make_api([](restauth_settings_t &s) { s.password_iterations = 200000; });
    std::string slow = restauth::make_password_hash(kPassword, iterations);
    assert_false(slow.empty());
    double known = job_seconds(api.get(), r_hash(with(alice(), "password", slow)));
    double unknown = job_seconds(api.get(), r_array({}));
    if (!(unknown > known / 3)) fail_msg("unknown user job %.4fs vs wrong password %.4fs", unknown, known);
}

void test_login_inactive_user_is_refused_like_a_wrong_password(void **)
{
    auto api = make_api();
    Flow f(api.get(), login_req("alice", kPassword));  // the right password
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(with(alice(), "is_active", "0")));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    assert_string_equal(f.body().c_str(), kLoginFailed);
}

void test_login_wrong_password_is_400(void **)
{
    auto api = make_api();
    Flow f(api.get(), login_req("alice", "correct horse batterY"));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    assert_string_equal(f.body().c_str(), kLoginFailed);
    bool logged = false;
    for (const auto &l : f.logs) logged |= contains(l.text, "login failed") && contains(l.text, kClientIp);
    assert_true(logged);
}

// ---- failed-login limits: counted before the hash, handed back on success ----------

void with_login_limits(restauth_settings_t &s)
{
    s.limit_count[RESTAUTH_LIMIT_LOGIN_IP] = 100;
    s.limit_window[RESTAUTH_LIMIT_LOGIN_IP] = 900;
    s.limit_count[RESTAUTH_LIMIT_LOGIN_ACCOUNT] = 10;
    s.limit_window[RESTAUTH_LIMIT_LOGIN_ACCOUNT] = 600;
}

std::string rl_key(const std::string &kind, const std::string &subject)
{
    return "restauth:rl:" + kind + ":" + restauth::sha256_hex(subject).substr(0, 32);
}

const long long kIpEnd = 1700000900123LL, kAccountEnd = 1700000600456LL;

// Drives a login with both limits on up to the password job: checks the
// lookup round trip (find_user, then the take) and answers the take.
void login_until_job(Flow &f, Reply found, Reply taken)
{
    STEP(f, RESTAUTH_NEED_REDIS);
    assert_int_equal(f.count(), 2);
    EXPECT_COMMAND(f.command(1), {"EVAL", script("login_attempt"), "2", rl_key("login_ip", kClientIp),
                                  rl_key("login_account", "alice"), "take", "100", "900", "10", "600"});
    REPLY_EVAL(f, 0, "find_user", std::move(found));
    REPLY_EVAL(f, 1, "login_attempt", std::move(taken));
}

Reply r_counted() { return r_array([] { std::vector<Reply> v; v.push_back(r_int(0)); v.push_back(r_int(kIpEnd)); v.push_back(r_int(kAccountEnd)); return v; }()); }
Reply r_pair(long long a, long long b) { return r_array([&] { std::vector<Reply> v; v.push_back(r_int(a)); v.push_back(r_int(b)); return v; }()); }

void test_login_counts_the_attempt_before_the_hash(void **)
{
    auto api = make_api(with_login_limits);
    Flow f(api.get(), login_req("alice", "not the password"));
    login_until_job(f, r_hash(alice()), r_counted());
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    // A failure: already counted, nothing more to send.
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    assert_string_equal(f.body().c_str(), kLoginFailed);
}

void test_login_success_hands_the_attempt_back(void **)
{
    auto api = make_api(with_login_limits);
    Flow f(api.get(), login_req("alice", kPassword));
    login_until_job(f, r_hash(alice()), r_counted());
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_ONE_COMMAND(f);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("login_attempt"), "2", rl_key("login_ip", kClientIp),
                                  rl_key("login_account", "alice"), "release", std::to_string(kIpEnd),
                                  std::to_string(kAccountEnd)});
    REPLY_EVAL(f, 0, "login_attempt", r_int(1));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "start_session", r_int(1));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
}

void test_login_locked_account_burns_a_hash_and_hands_back_nothing(void **)
{
    auto api = make_api(with_login_limits);
    Flow f(api.get(), login_req("alice", kPassword));  // even the right password
    login_until_job(f, r_hash(alice()), r_pair(2, kIpEnd));
    STEP(f, RESTAUTH_NEED_JOB);  // the same cost as any refusal
    f.run_job();
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    assert_string_equal(f.body().c_str(), kLoginFailed);
    assert_true(contains(f.all_logs(), "login_account limit reached"));
}

void test_login_throttled_address_gets_429_without_a_hash(void **)
{
    auto api = make_api(with_login_limits);
    Flow f(api.get(), login_req("alice", kPassword));
    login_until_job(f, r_hash(alice()), r_pair(1, 42));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 429);
    assert_string_equal(f.header("Retry-After").c_str(), "42");
    EXPECT_JSON(f.body(), R"({"detail": "Request was throttled. Expected available in 42 seconds."})");
}

void test_login_refused_job_hands_the_attempt_back(void **)
{
    // The pool refused the job: no password was checked, so the attempt
    // got no verdict and does not count.
    auto api = make_api(with_login_limits);
    Flow f(api.get(), login_req("alice", "not the password"));
    login_until_job(f, r_hash(alice()), r_counted());
    STEP(f, RESTAUTH_NEED_JOB);
    f.job_failed(7);
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_ONE_COMMAND(f);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("login_attempt"), "2", rl_key("login_ip", kClientIp),
                                  rl_key("login_account", "alice"), "release", std::to_string(kIpEnd),
                                  std::to_string(kAccountEnd)});
    REPLY_EVAL(f, 0, "login_attempt", r_int(1));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 503);
    assert_string_equal(f.header("Retry-After").c_str(), "7");
}

void test_login_unexpected_take_reply_is_503(void **)
{
    auto api = make_api(with_login_limits);
    Flow f(api.get(), login_req("alice", kPassword));
    login_until_job(f, r_hash(alice()), r_int(0));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 503);
}

// ---- a "username" holding an address: both candidates --------------------------------

// Carol (id 8) has the address; id 9 registered it as a username.
Hash carol() { return with(with(with(alice(), "id", "8"), "username", "carol"), "email", "carol@example.com"); }
Hash impostor(const std::string &password_hash)
{
    return with(with(with(with(alice(), "id", "9"), "username", "carol@example.com"), "email", "imp@example.com"),
                "password", password_hash);
}

void expect_either_lookup(Flow &f)
{
    STEP(f, RESTAUTH_NEED_REDIS);
    assert_int_equal(f.count(), 2);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("find_user"), "2", "restauth:users:by_username",
                                  "restauth:users:by_email", "restauth:", "email", "carol@example.com"});
    EXPECT_COMMAND(f.command(1), {"EVAL", script("find_user"), "2", "restauth:users:by_username",
                                  "restauth:users:by_email", "restauth:", "username", "carol@example.com"});
}

// Logs in and returns the user_id of the session started, or 0.
int64_t either_login(const std::string &password, Reply by_email, Reply by_username)
{
    auto api = make_api();
    Flow f(api.get(), login_req("Carol@Example.com", password));
    expect_either_lookup(f);
    REPLY_EVAL(f, 0, "find_user", std::move(by_email));
    REPLY_EVAL(f, 1, "find_user", std::move(by_username));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    if (f.next() == RESTAUTH_DONE) {
        assert_int_equal(f.status(), 400);
        assert_string_equal(f.body().c_str(), kLoginFailed);
        return 0;
    }
    auto start = f.command(0);
    REPLY_EVAL(f, 0, "start_session", r_int(1));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
    return std::strtoll(start.at(3).substr(std::string("restauth:user:").size()).c_str(), nullptr, 10);
}

void test_login_address_as_username_finds_the_address_owner(void **)
{
    std::string other = restauth::make_password_hash("the impostor's own", 1000);
    // Carol's password logs Carol in, although a username equals her address.
    assert_int_equal(either_login(kPassword, r_hash(carol()), r_hash(impostor(other))), 8);
    // The other account's own password logs that one in.
    assert_int_equal(either_login("the impostor's own", r_hash(carol()), r_hash(impostor(other))), 9);
    // Neither: refused.
    assert_int_equal(either_login("neither", r_hash(carol()), r_hash(impostor(other))), 0);
    // Both share the password: the address's owner, as allauth's
    // username_email tries the e-mail first.
    assert_int_equal(either_login(kPassword, r_hash(carol()), r_hash(impostor(g_hash))), 8);
    // An inactive candidate is skipped, as allauth skips it.
    assert_int_equal(either_login(kPassword, r_hash(with(carol(), "is_active", "0")), r_hash(impostor(g_hash))), 9);
    // Only one of them exists.
    assert_int_equal(either_login(kPassword, r_array({}), r_hash(carol())), 8);
    assert_int_equal(either_login(kPassword, r_hash(carol()), r_array({})), 8);
}

// The password job of a "username or e-mail" login, in seconds (the
// fastest of three, so that load on the machine only ever slows a run).
double either_job_seconds(const restauth_api_t *api, const std::function<Reply()> &by_email,
                          const std::function<Reply()> &by_username)
{
    double best = 1e9;
    for (int run = 0; run < 3; run++) {
        Flow f(api, login_req("carol@example.com", "not the password"));
        expect_either_lookup(f);
        REPLY_EVAL(f, 0, "find_user", by_email());
        REPLY_EVAL(f, 1, "find_user", by_username());
        STEP(f, RESTAUTH_NEED_JOB);
        auto t0 = std::chrono::steady_clock::now();
        f.run_job();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        STEP(f, RESTAUTH_DONE);
        assert_int_equal(f.status(), 400);
    }
    return best;
}

void test_login_address_as_username_always_costs_two_hashes(void **)
{
    // Whoever exists (both, one, none, or one account under both names),
    // a refusal costs two hashes at the target cost: no enumeration by
    // timing.
    auto api = make_api([](restauth_settings_t &s) { s.password_iterations = 200000; });
    std::string slow = restauth::make_password_hash(kPassword, 200000);
    auto c = [&] { return r_hash(with(carol(), "password", slow)); };
    auto i = [&] { return r_hash(impostor(slow)); };
    auto none = [] { return r_array({}); };
    double both = either_job_seconds(api.get(), c, i);
    double times[] = {either_job_seconds(api.get(), c, none), either_job_seconds(api.get(), none, i),
                      either_job_seconds(api.get(), none, none), either_job_seconds(api.get(), c, c)};
    for (double t : times) {
        if (!(t > both * 0.7)) fail_msg("a refusal took %.4fs, with both candidates %.4fs", t, both);
    }
}

void test_login_unusable_password_never_matches(void **)
{
    auto api = make_api();
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(with(alice(), "password", "!" + g_hash)));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    assert_string_equal(f.body().c_str(), kLoginFailed);
}

void test_login_mandatory_verification_refuses_unverified_email(void **)
{
    auto api = make_api([](restauth_settings_t &s) { s.email_verification = RESTAUTH_VERIFY_MANDATORY; });
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(with(alice(), "email_verified", "0")));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    EXPECT_JSON(f.body(), R"({"non_field_errors": ["E-mail is not verified."]})");
}

void test_login_mandatory_verification_hides_status_behind_wrong_password(void **)
{
    auto api = make_api([](restauth_settings_t &s) { s.email_verification = RESTAUTH_VERIFY_MANDATORY; });
    Flow f(api.get(), login_req("alice", "wrong password"));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(with(alice(), "email_verified", "0")));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    assert_string_equal(f.body().c_str(), kLoginFailed);
}

void test_login_mandatory_verification_admits_verified_email(void **)
{
    auto api = make_api([](restauth_settings_t &s) { s.email_verification = RESTAUTH_VERIFY_MANDATORY; });
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_NEED_REDIS);  // the session starts
}

void test_login_optional_verification_admits_unverified_email(void **)
{
    auto api = make_api();
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(with(alice(), "email_verified", "0")));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "start_session", r_int(1));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
}

void test_login_stale_hash_is_upgraded_at_session_start(void **)
{
    auto api = make_api();
    std::string old_hash = restauth::make_password_hash(kPassword, 2000);
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(with(alice(), "password", old_hash)));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_NEED_REDIS);
    auto start = f.command(0);
    assert_string_equal(start.at(8).c_str(), old_hash.c_str());  // compare-and-set: the hash that was checked
    const std::string &upgraded = start.at(9);
    assert_true(contains(upgraded, "pbkdf2_sha256$1000$"));
    assert_int_equal(restauth::check_password(kPassword, upgraded, 1000, nullptr), restauth::PasswordCheck::Match);
    REPLY_EVAL(f, 0, "start_session", r_int(1));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
}

void test_login_user_vanished_before_session_start_is_400(void **)
{
    auto api = make_api();
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "start_session", r_int(0));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    assert_string_equal(f.body().c_str(), kLoginFailed);
}

void test_login_sets_cookies_when_configured(void **)
{
    auto api = make_api(with_cookies);
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_NEED_REDIS);
    const std::string jti = f.command(0).at(17);
    REPLY_EVAL(f, 0, "start_session", r_int(1));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
    Json body = PARSE(f.body());
    const std::string access = json_str(body.get(), "access");
    assert_string_equal(json_str(body.get(), "refresh").c_str(), "");  // HttpOnly: dj-rest-auth's ""

    auto cookies = f.headers("Set-Cookie");
    assert_int_equal(cookies.size(), 2);
    assert_string_equal(cookies[0].c_str(), ("auth=" + access +
                                             "; expires=Tue, 14 Nov 2023 22:18:20 GMT; Max-Age=300; Path=/; "
                                             "HttpOnly; SameSite=Lax").c_str());
    const std::string prefix = "refresh-auth=";
    assert_true(cookies[1].compare(0, prefix.size(), prefix) == 0);
    std::string refresh = cookies[1].substr(prefix.size(), cookies[1].find(';') - prefix.size());
    assert_true(contains(cookies[1], "; expires=Wed, 15 Nov 2023 22:13:20 GMT; Max-Age=86400; Path=/; HttpOnly; "
                                     "SameSite=Lax"));
    Json rp = jwt_payload(refresh);
    assert_string_equal(json_str(rp.get(), "jti").c_str(), jti.c_str());
    assert_string_equal(json_str(rp.get(), "token_type").c_str(), "refresh");
}

void test_login_job_rejected_is_503(void **)
{
    auto api = make_api(with_cookies);
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
    STEP(f, RESTAUTH_NEED_JOB);
    f.job_failed(7);
    STEP(f, RESTAUTH_DONE);  // no session is started
    assert_int_equal(f.status(), 503);
    assert_string_equal(f.body().c_str(), k503);
    assert_int_equal(f.header_count(), 1);
    assert_string_equal(f.header("Retry-After").c_str(), "7");
    assert_true(!f.logs.empty() && f.logs.back().level == RESTAUTH_LOG_ERR);
}

void test_login_redis_down_at_lookup_is_503_without_a_job(void **)
{
    auto api = make_api();
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.fail_reply(0);
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 503);
    assert_string_equal(f.body().c_str(), k503);
}

void test_login_redis_error_at_lookup_is_503(void **)
{
    auto api = make_api();
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_error("NOSCRIPT No matching script"));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 503);
    assert_string_equal(f.body().c_str(), k503);
}

void test_login_redis_failing_at_session_start_gives_no_half_response(void **)
{
    auto api = make_api(with_cookies);
    for (int error_reply = 0; error_reply < 2; error_reply++) {
        Flow f(api.get(), login_req("alice", kPassword));
        STEP(f, RESTAUTH_NEED_REDIS);
        REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
        STEP(f, RESTAUTH_NEED_JOB);
        f.run_job();
        STEP(f, RESTAUTH_NEED_REDIS);
        if (error_reply) {
            REPLY_EVAL(f, 0, "start_session", r_error("READONLY You can't write against a read only replica."));
        } else {
            f.fail_reply(0);
        }
        STEP(f, RESTAUTH_DONE);
        assert_int_equal(f.status(), 503);
        assert_string_equal(f.body().c_str(), k503);  // no tokens
        assert_int_equal(f.header_count(), 0);        // no cookies
    }
}

void test_login_field_errors(void **)
{
    auto api = make_api();
    struct {
        const char *body;
        const char *answer;
    } cases[] = {
        {R"({"username": "alice"})", R"({"password": ["This field is required."]})"},
        {R"({"username": "alice", "password": ""})", R"({"password": ["This field may not be blank."]})"},
        {R"({"username": "alice", "password": null})", R"({"password": ["This field may not be null."]})"},
        {R"({"password": "x"})",
         R"({"non_field_errors": ["Must include either \"username\" or \"email\" and \"password\"."]})"},
        {R"({"username": "", "email": "", "password": "x"})",
         R"({"non_field_errors": ["Must include either \"username\" or \"email\" and \"password\"."]})"},
        {R"({"email": "not-an-email", "password": "x"})", R"({"email": ["Enter a valid email address."]})"},
    };
    for (const auto &c : cases) {
        Flow f(api.get(), post("login/", c.body));
        STEP(f, RESTAUTH_DONE);  // never reaches Redis
        if (f.status() != 400) fail_msg("%s: status %d", c.body, f.status());
        EXPECT_JSON(f.body(), c.answer);
    }
}

// ============================================================================
// request bodies
// ============================================================================

void test_body_malformed_json_is_400_parse_error(void **)
{
    auto api = make_api();
    Flow f(api.get(), post("login/", R"({"username": "alice",)"));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    EXPECT_JSON(f.body(), R"x({"detail": "JSON parse error - Expecting property name enclosed in double quotes: )x"
                          R"x(line 1 column 22 (char 21)"})x");
}

void test_body_json_list_is_400_naming_the_type(void **)
{
    auto api = make_api();
    Flow f(api.get(), post("login/", R"(["alice", "secret"])"));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    EXPECT_JSON(f.body(), R"({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})");
}

void test_body_text_plain_is_415(void **)
{
    auto api = make_api();
    Req r = post("login/", "username=alice&password=x");
    r.content_type = "text/plain";
    Flow f(api.get(), r);
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 415);
    EXPECT_JSON(f.body(), R"({"detail": "Unsupported media type \"text/plain\" in request."})");
}

void test_body_empty_form_is_password_required(void **)
{
    auto api = make_api();
    Req r = post("login/", "");
    r.content_type = "application/x-www-form-urlencoded";
    Flow f(api.get(), r);
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 400);
    EXPECT_JSON(f.body(), R"({"password": ["This field is required."]})");
}

void test_body_form_login_reaches_redis(void **)
{
    auto api = make_api();
    Req r = post("login/", "username=Alice&password=correct+horse+battery");
    r.content_type = "application/x-www-form-urlencoded";
    Flow f(api.get(), r);
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("find_user"), "2",
                                  "restauth:users:by_username", "restauth:users:by_email",
                                  "restauth:", "username", "alice"});
    REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_NEED_REDIS);  // "+" decoded to spaces: the password matched
}

// ============================================================================
// authentication of requests (user/)
// ============================================================================

void expect_401(const Flow &f, const std::string &body, const char *file, int line)
{
    if (f.status() != 401) {
        print_error("expected 401, got %d %s\n", f.status(), f.body().c_str());
        _fail(file, line);
    }
    expect_json(f.body(), body, file, line);
    auto challenges = f.headers("WWW-Authenticate");
    if (challenges.size() != 1 || challenges[0] != kChallenge) {
        print_error("expected one WWW-Authenticate: %s\n", kChallenge);
        _fail(file, line);
    }
}
#define EXPECT_401(flow, body) expect_401((flow), (body), __FILE__, __LINE__)

void test_user_get_returns_the_user(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    for (const char *method : {"GET", "HEAD"}) {
        Flow f(api.get(), authed(method, "user/", s.access));
        STEP(f, RESTAUTH_NEED_REDIS);
        EXPECT_ONE_COMMAND(f);
        EXPECT_COMMAND(f.command(0), {"HGETALL", "restauth:user:7"});
        f.reply(0, r_hash(alice()));
        STEP(f, RESTAUTH_DONE);
        assert_int_equal(f.status(), 200);
        EXPECT_JSON(f.body(), kAliceJson);
    }
}

void test_user_without_credentials_is_401_not_provided(void **)
{
    auto api = make_api();
    Flow f(api.get(), request("GET", "user/"));
    STEP(f, RESTAUTH_DONE);
    EXPECT_401(f, R"({"detail": "Authentication credentials were not provided."})");
}

void test_user_bearer_without_single_value_is_bad_header(void **)
{
    auto api = make_api();
    for (const char *header : {"Bearer", "Bearer ", "Bearer a b"}) {
        Req r = request("GET", "user/");
        r.authorization = header;
        Flow f(api.get(), r);
        STEP(f, RESTAUTH_DONE);
        EXPECT_401(f, R"({"detail": "Authorization header must contain two space-delimited values", )"
                      R"("code": "bad_authorization_header"})");
    }
}

void test_user_other_scheme_is_ignored(void **)
{
    auto api = make_api();
    Req r = request("GET", "user/");
    r.authorization = "Basic YWxpY2U6c2VjcmV0";
    Flow f(api.get(), r);
    STEP(f, RESTAUTH_DONE);
    EXPECT_401(f, R"({"detail": "Authentication credentials were not provided."})");
}

void test_user_expired_token_is_401_token_not_valid(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), authed("GET", "user/", s.access, kNow + 300));
    STEP(f, RESTAUTH_DONE);  // rejected before Redis
    EXPECT_401(f, token_not_valid("Token is invalid or expired"));

    Flow still(api.get(), authed("GET", "user/", s.access, kNow + 299));
    STEP(still, RESTAUTH_NEED_REDIS);
}

void test_user_tampered_token_is_401_token_not_valid(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    std::string tampered = s.access;
    char &c = tampered[tampered.size() - 2];
    c = c == 'A' ? 'B' : 'A';
    Flow f(api.get(), authed("GET", "user/", tampered));
    STEP(f, RESTAUTH_DONE);
    EXPECT_401(f, token_not_valid("Token is invalid or expired"));
}

void test_user_refresh_token_has_wrong_type(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), authed("GET", "user/", s.refresh));
    STEP(f, RESTAUTH_DONE);
    EXPECT_401(f, token_not_valid("Token has wrong type"));
}

void test_user_deleted_is_401_user_not_found(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), authed("GET", "user/", s.access));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.reply(0, r_array({}));  // HGETALL of a missing key
    STEP(f, RESTAUTH_DONE);
    EXPECT_401(f, R"({"detail": "User not found", "code": "user_not_found"})");
}

void test_user_inactive_is_401_user_inactive(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), authed("GET", "user/", s.access));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.reply(0, r_hash(with(alice(), "is_active", "0")));
    STEP(f, RESTAUTH_DONE);
    EXPECT_401(f, R"({"detail": "User is inactive", "code": "user_inactive"})");
}

void test_user_redis_down_while_authenticating_is_503(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), authed("GET", "user/", s.access));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.fail_reply(0);
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 503);
    assert_int_equal(f.header_count(), 0);
}

// A rename sends the name the request read; when the script says it changed
// meanwhile (-2, a concurrent rename), the endpoint reads the user again and
// retries with the current name, then answers with the fields it wrote.
void test_user_rename_retries_with_the_current_name(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Req patch = authed("PATCH", "user/", s.access);
    patch.content_type = "application/json";
    patch.body = R"({"username": "Alicia", "first_name": "Al"})";
    Flow f(api.get(), patch);
    STEP(f, RESTAUTH_NEED_REDIS);
    f.reply(0, r_hash(alice()));
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("update_profile"), "2", "restauth:user:7",
                                  "restauth:users:by_username", "7", "alicia", "Alice", "alice", "username",
                                  "Alicia", "first_name", "Al"});
    REPLY_EVAL(f, 0, "update_profile", r_int(-2));
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_COMMAND(f.command(0), {"HGETALL", "restauth:user:7"});
    f.reply(0, r_hash(with(with(alice(), "username", "Ally"), "last_name", "Other")));
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_COMMAND(f.command(0), {"EVAL", script("update_profile"), "2", "restauth:user:7",
                                  "restauth:users:by_username", "7", "alicia", "Ally", "ally", "username",
                                  "Alicia", "first_name", "Al"});
    REPLY_EVAL(f, 0, "update_profile", r_int(1));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
    EXPECT_JSON(f.body(), R"({"pk": 7, "username": "Alicia", "email": "alice@example.com", "first_name": "Al",
                             "last_name": "Other"})");
}

// A request that keeps losing the race gives up with 503, having written
// nothing; a user deleted meanwhile is a 401.
void test_user_rename_gives_up_after_bounded_retries(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Req patch = authed("PATCH", "user/", s.access);
    patch.content_type = "application/json";
    patch.body = R"({"username": "Alicia"})";
    Flow f(api.get(), patch);
    STEP(f, RESTAUTH_NEED_REDIS);
    f.reply(0, r_hash(alice()));
    int evals = 0;
    for (;;) {
        STEP(f, RESTAUTH_NEED_REDIS);
        REPLY_EVAL(f, 0, "update_profile", r_int(-2));
        evals++;
        restauth_need_t need = f.next();
        if (need == RESTAUTH_DONE) break;
        expect_need(need, RESTAUTH_NEED_REDIS, __FILE__, __LINE__);
        EXPECT_COMMAND(f.command(0), {"HGETALL", "restauth:user:7"});
        f.reply(0, r_hash(alice()));
        assert_in_range(evals, 1, 100);
    }
    assert_int_equal(evals, 16);
    assert_int_equal(f.status(), 503);
    assert_string_equal(f.header("Retry-After").c_str(), "1");

    Flow g(api.get(), patch);
    STEP(g, RESTAUTH_NEED_REDIS);
    g.reply(0, r_hash(alice()));
    STEP(g, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(g, 0, "update_profile", r_int(-2));
    STEP(g, RESTAUTH_NEED_REDIS);
    g.reply(0, r_array({}));  // gone
    STEP(g, RESTAUTH_DONE);
    EXPECT_401(g, R"({"detail": "User not found", "code": "user_not_found"})");
}

// DRF negotiates before anything else: an Accept header JSON cannot satisfy
// is a 406 (in JSON) before Redis, authentication, the method check and the
// body; unknown paths stay 404.
void test_accept_json_cannot_satisfy_is_406_first(void **)
{
    auto api = make_api();
    const char *const k406 = R"({"detail": "Could not satisfy the request Accept header."})";
    std::vector<Req> reqs = {post("login/", "not json"), request("GET", "user/"), request("DELETE", "login/"),
                             request("OPTIONS", "user/"), request("GET", "health/"),
                             request("DELETE", "sessions/abc")};
    for (Req r : reqs) {
        r.accept = "text/plain";
        Flow f(api.get(), r);
        STEP(f, RESTAUTH_DONE);
        assert_int_equal(f.status(), 406);
        EXPECT_JSON(f.body(), k406);
    }
    Req empty = request("GET", "health/");  // present but empty: no range matches
    empty.accept_count = 1;
    Flow e(api.get(), empty);
    STEP(e, RESTAUTH_DONE);
    assert_int_equal(e.status(), 406);

    Req unknown = request("GET", "nothing/");
    unknown.accept = "text/plain";
    Flow u(api.get(), unknown);
    STEP(u, RESTAUTH_DONE);
    assert_int_equal(u.status(), 404);
}

void test_accept_json_satisfied_goes_on(void **)
{
    auto api = make_api();
    for (const char *accept : {"*/*", "application/*", "application/json;q=0.1, text/plain"}) {
        Req r = request("GET", "health/");
        r.accept = accept;
        Flow f(api.get(), r);
        STEP(f, RESTAUTH_NEED_REDIS);
        EXPECT_COMMAND(f.command(0), {"PING"});
    }
    Req none = request("GET", "user/");  // no header at all: JSON
    Flow g(api.get(), none);
    STEP(g, RESTAUTH_DONE);
    EXPECT_401(g, R"({"detail": "Authentication credentials were not provided."})");
}

void test_user_missing_credential_reported_before_wrong_method(void **)
{
    auto api = make_api();
    Flow anon(api.get(), request("DELETE", "user/"));
    STEP(anon, RESTAUTH_DONE);
    EXPECT_401(anon, R"({"detail": "Authentication credentials were not provided."})");

    Session s = login_alice(api.get());
    Flow f(api.get(), authed("DELETE", "user/", s.access));
    STEP(f, RESTAUTH_NEED_REDIS);
    f.reply(0, r_hash(alice()));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 405);
    assert_string_equal(f.header("Allow").c_str(), "GET, PUT, PATCH, HEAD, OPTIONS");
    EXPECT_JSON(f.body(), R"({"detail": "Method \"DELETE\" not allowed."})");
}

void test_user_access_cookie_authenticates_and_header_wins(void **)
{
    auto api = make_api(with_cookies);
    Session s = login_alice(api.get());

    Req by_cookie = request("GET", "user/");
    by_cookie.cookie = "theme=dark; auth=" + s.access;
    Flow f(api.get(), by_cookie);
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_COMMAND(f.command(0), {"HGETALL", "restauth:user:7"});

    // A bad header is not rescued by a good cookie: the header wins.
    Req both = by_cookie;
    both.authorization = "Bearer not.a.token";
    Flow g(api.get(), both);
    STEP(g, RESTAUTH_DONE);
    EXPECT_401(g, token_not_valid("Token is invalid or expired"));
}

void test_user_access_cookie_ignored_when_not_configured(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Req r = request("GET", "user/");
    r.cookie = "auth=" + s.access;
    Flow f(api.get(), r);
    STEP(f, RESTAUTH_DONE);
    EXPECT_401(f, R"({"detail": "Authentication credentials were not provided."})");
}

// ---- CSRF for cookie-authenticated unsafe requests: tokens bound to the session ------

void with_csrf_cookies(restauth_settings_t &s)
{
    with_cookies(s);
    s.csrf = 1;
}

// The CSRF key the API derives from the signing key (KeySet::derived_secret).
std::string csrf_key_of_test_keys()
{
    return restauth::hmac_sha256(restauth::hmac_sha256(kSecret, "restauth derived secrets"), "restauth csrf");
}

bool csrf_bound(const std::string &sid, const std::string &token)
{
    return restauth::csrf_token_bound(csrf_key_of_test_keys(), sid, token);
}

void test_login_with_csrf_sets_a_readable_csrf_cookie(void **)
{
    auto api = make_api(with_csrf_cookies);
    Flow f(api.get(), login_req("alice", kPassword));
    STEP(f, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(f, 0, "find_user", r_hash(alice()));
    STEP(f, RESTAUTH_NEED_JOB);
    f.run_job();
    STEP(f, RESTAUTH_NEED_REDIS);
    std::string sid = f.command(0).at(10);
    REPLY_EVAL(f, 0, "start_session", r_int(1));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
    auto cookies = f.headers("Set-Cookie");
    assert_int_equal(cookies.size(), 3);
    const std::string &csrf = cookies[2];
    assert_true(csrf.compare(0, 10, "csrftoken=") == 0);
    assert_int_equal(csrf.find(';') - 10, 64);
    assert_false(contains(csrf, "HttpOnly"));  // the client must read it
    std::string token = set_cookie_value(cookies, "csrftoken");
    assert_true(csrf_bound(sid, token));       // made for this session
    assert_false(csrf_bound(sid + "0", token));
}

// A cookie-authenticated PATCH user/ of session s.
Req cookie_patch(const Session &s, const std::string &csrf_cookie, const std::string &csrf_header)
{
    Req r = request("PATCH", "user/");
    r.content_type = "application/json";
    r.body = R"({"first_name": "Al"})";
    r.cookie = (csrf_cookie.empty() ? "" : "csrftoken=" + csrf_cookie + "; ") + "auth=" + s.access;
    r.csrf_header = csrf_header;
    r.host = "api.example.com";
    r.origin = "http://api.example.com";
    return r;
}

void expect_csrf_refusal(const restauth_api_t *api, const Req &r, const char *reason)
{
    Flow f(api, r);
    STEP(f, RESTAUTH_DONE);  // refused before Redis
    assert_int_equal(f.status(), 403);
    EXPECT_JSON(f.body(), std::string(R"({"detail": "CSRF Failed: )") + reason + "\"}");
    assert_int_equal(f.headers("Set-Cookie").size(), 0);
}

void expect_csrf_pass(const restauth_api_t *api, const Req &r)
{
    Flow f(api, r);
    STEP(f, RESTAUTH_NEED_REDIS);
    EXPECT_COMMAND(f.command(0), {"HGETALL", "restauth:user:7"});
}

void test_cookie_auth_unsafe_method_needs_a_token_of_its_session(void **)
{
    auto api = make_api(with_csrf_cookies);
    Session victim = login_alice(api.get());
    Session attacker = login_alice(api.get());  // another session, whose token the attacker knows
    assert_true(victim.sid != attacker.sid);

    expect_csrf_pass(api.get(), cookie_patch(victim, victim.csrf, victim.csrf));
    expect_csrf_refusal(api.get(), cookie_patch(victim, victim.csrf, ""), "CSRF token missing.");
    expect_csrf_refusal(api.get(), cookie_patch(victim, "", victim.csrf), "CSRF cookie not set.");
    // A pair planted from a sibling domain: it agrees with itself, but was
    // made for the attacker's session.
    expect_csrf_refusal(api.get(), cookie_patch(victim, attacker.csrf, attacker.csrf), "CSRF token incorrect.");
    // An unbound token, as issued before.
    expect_csrf_refusal(api.get(), cookie_patch(victim, "0123456789abcdef", "0123456789abcdef"),
                        "CSRF token incorrect.");
    expect_csrf_refusal(api.get(), cookie_patch(victim, victim.csrf, attacker.csrf), "CSRF token incorrect.");

    // The origin check: another origin, even with the right token.
    Req evil = cookie_patch(victim, victim.csrf, victim.csrf);
    evil.origin = "https://evil.example";
    expect_csrf_refusal(api.get(), evil,
                        "Origin checking failed - https://evil.example does not match any trusted origins.");
    Req tls = cookie_patch(victim, victim.csrf, victim.csrf);  // over TLS without Origin: Referer
    tls.origin.clear();
    tls.secure = true;
    expect_csrf_refusal(api.get(), tls, "Referer checking failed - no Referer.");
    tls.referer = "https://api.example.com/settings";
    expect_csrf_pass(api.get(), tls);

    Req safe = request("GET", "user/");  // safe methods need no header
    safe.cookie = "auth=" + victim.access;
    safe.origin = "https://evil.example";
    expect_csrf_pass(api.get(), safe);

    Req by_bearer = cookie_patch(victim, attacker.csrf, "");  // nor does a Bearer header
    by_bearer.authorization = "Bearer " + victim.access;
    by_bearer.origin = "https://evil.example";
    expect_csrf_pass(api.get(), by_bearer);
}

void test_csrf_trusted_origins(void **)
{
    auto api = make_api([](restauth_settings_t &st) {
        with_csrf_cookies(st);
        st.csrf_trusted_origins = S("https://app.example.com https://*.example.org");
    });
    Session s = login_alice(api.get());
    for (const char *good : {"https://app.example.com", "https://x.example.org", "http://api.example.com"}) {
        Req r = cookie_patch(s, s.csrf, s.csrf);
        r.origin = good;
        expect_csrf_pass(api.get(), r);
    }
    Req r = cookie_patch(s, s.csrf, s.csrf);
    r.origin = "http://x.example.org";
    expect_csrf_refusal(api.get(), r,
                        "Origin checking failed - http://x.example.org does not match any trusted origins.");

    restauth_settings_t bad = default_settings();
    bad.csrf_trusted_origins = S("app.example.com");
    char err[256] = "";
    assert_null(restauth_api_create(&bad, g_keys, err, sizeof(err)));
    assert_true(contains(err, "restauth_csrf_trusted_origins"));
}

void test_csrf_secret(void **)
{
    // restauth_csrf_secret replaces the key derived from the signing key.
    auto own = make_api([](restauth_settings_t &st) {
        with_csrf_cookies(st);
        st.csrf_secret = S("an operator's csrf secret, 32 bytes or more");
    });
    auto derived = make_api(with_csrf_cookies);
    Session s = login_alice(own.get());
    assert_false(csrf_bound(s.sid, s.csrf));
    assert_true(restauth::csrf_token_bound(
        restauth::hmac_sha256("an operator's csrf secret, 32 bytes or more", "restauth csrf"), s.sid, s.csrf));
    expect_csrf_pass(own.get(), cookie_patch(s, s.csrf, s.csrf));
    expect_csrf_refusal(derived.get(), cookie_patch(s, s.csrf, s.csrf), "CSRF token incorrect.");

    restauth_settings_t short_secret = default_settings();
    short_secret.csrf_secret = S("too short");
    char err[256] = "";
    assert_null(restauth_api_create(&short_secret, g_keys, err, sizeof(err)));
    assert_true(contains(err, "restauth_csrf_secret"));
}

void test_refresh_by_cookie_needs_a_token_of_its_session(void **)
{
    auto api = make_api(with_csrf_cookies);
    auto visible = make_api([](restauth_settings_t &st) {
        with_csrf_cookies(st);
        st.cookie_httponly = 0;
    });
    Session v = login_alice(visible.get());
    Session other = login_alice(visible.get());
    Req r = post("token/refresh/", "{}");
    r.cookie = "csrftoken=" + v.csrf + "; refresh-auth=" + v.refresh;
    Flow f(api.get(), r);
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 403);
    EXPECT_JSON(f.body(), R"({"detail": "CSRF Failed: CSRF token missing."})");

    Req planted = r;
    planted.cookie = "csrftoken=" + other.csrf + "; refresh-auth=" + v.refresh;
    planted.csrf_header = other.csrf;
    Flow p(api.get(), planted);
    STEP(p, RESTAUTH_DONE);
    assert_int_equal(p.status(), 403);
    EXPECT_JSON(p.body(), R"({"detail": "CSRF Failed: CSRF token incorrect."})");

    r.csrf_header = v.csrf;
    Flow g(api.get(), r);
    refresh_until_rotation(g);
    REPLY_EVAL(g, 0, "rotate_session", r_rotated(1, alice()));
    STEP(g, RESTAUTH_DONE);
    assert_int_equal(g.status(), 200);
    // The session is the same, so is the binding: a fresh token for it.
    std::string reissued = set_cookie_value(g.headers("Set-Cookie"), "csrftoken");
    assert_true(csrf_bound(v.sid, reissued));

    Flow in_body(api.get(), refresh_req(v.refresh));  // a token in the body is not ambient
    STEP(in_body, RESTAUTH_NEED_REDIS);
}

void test_logout_by_cookie_csrf(void **)
{
    auto api = make_api(with_csrf_cookies);
    auto visible = make_api([](restauth_settings_t &st) {
        with_csrf_cookies(st);
        st.cookie_httponly = 0;
    });
    Session v = login_alice(visible.get());
    Session other = login_alice(visible.get());
    Req r = post("logout/", "{}");
    r.cookie = "csrftoken=" + other.csrf + "; refresh-auth=" + v.refresh;
    r.csrf_header = other.csrf;
    Flow f(api.get(), r);
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 403);
    EXPECT_JSON(f.body(), R"({"detail": "CSRF Failed: CSRF token incorrect."})");
    // A refused logout leaves the cookies alone: no site can log a user out.
    assert_int_equal(f.headers("Set-Cookie").size(), 0);

    r.cookie = "csrftoken=" + v.csrf + "; refresh-auth=" + v.refresh;
    r.csrf_header = v.csrf;
    Flow g(api.get(), r);
    STEP(g, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(g, 0, "end_session", r_int(1));
    STEP(g, RESTAUTH_DONE);
    assert_int_equal(g.status(), 200);
    auto cleared = g.headers("Set-Cookie");
    assert_int_equal(cleared.size(), 3);  // access, refresh and csrftoken
    assert_true(cleared[2].compare(0, 13, "csrftoken=\"\";") == 0);
    assert_true(contains(cleared[2], "Max-Age=0"));
}

// ============================================================================
// token/refresh/ (rotation)
// ============================================================================

void test_refresh_rotates_the_session(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    const int64_t later = kNow + 60;
    Flow f(api.get(), refresh_req(s.refresh, later));
    auto cmd = refresh_until_rotation(f);
    const std::string new_jti = cmd.at(6);
    EXPECT_COMMAND(cmd, {"EVAL", script("rotate_session"), "2", "restauth:session:" + s.sid, "restauth:user:7",
                         s.refresh_jti, kAny, std::to_string(later), "86400", s.sid, "restauth:user:7:sessions"});
    assert_int_equal(new_jti.size(), 32);
    assert_string_not_equal(new_jti.c_str(), s.refresh_jti.c_str());
    REPLY_EVAL(f, 0, "rotate_session", r_rotated(1, alice()));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);

    Json body = PARSE(f.body());
    const std::string access = json_str(body.get(), "access");
    const std::string refresh = json_str(body.get(), "refresh");
    assert_string_equal(json_str(body.get(), "access_expiration").c_str(), "2023-11-14T22:19:20Z");
    assert_string_equal(json_str(body.get(), "refresh_expiration").c_str(), "2023-11-15T22:14:20Z");
    assert_int_equal(cJSON_GetArraySize(body.get()), 4);
    assert_string_not_equal(refresh.c_str(), s.refresh.c_str());

    // The new refresh is the one the session now records, same session.
    Json rp = jwt_payload(refresh);
    assert_string_equal(json_str(rp.get(), "jti").c_str(), new_jti.c_str());
    assert_string_equal(json_str(rp.get(), "sid").c_str(), s.sid.c_str());
    assert_string_equal(json_str(rp.get(), "token_type").c_str(), "refresh");
    // The new access verifies, for the user the script returned.
    std::string claim;
    assert_int_equal(verify_access(api.get(), access, later, "user_id", &claim), RESTAUTH_TOKEN_OK);
    assert_string_equal(claim.c_str(), "7");
    verify_access(api.get(), access, later, "sid", &claim);
    assert_string_equal(claim.c_str(), s.sid.c_str());
}

void test_refresh_of_revoked_session_is_blacklisted(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), refresh_req(s.refresh));
    refresh_until_rotation(f);
    REPLY_EVAL(f, 0, "rotate_session", r_rotated(0));
    STEP(f, RESTAUTH_DONE);
    EXPECT_401(f, R"({"detail": "Token is blacklisted", "code": "token_not_valid"})");
}

void test_refresh_reuse_revokes_session(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), refresh_req(s.refresh));
    refresh_until_rotation(f);
    REPLY_EVAL(f, 0, "rotate_session", r_rotated(-1));  // the script saw a stale jti and revoked the session
    STEP(f, RESTAUTH_DONE);
    EXPECT_401(f, R"({"detail": "Token is blacklisted", "code": "token_not_valid"})");
    bool warned = false;
    for (const auto &l : f.logs) {
        warned |= l.level == RESTAUTH_LOG_WARN && contains(l.text, "reuse") && contains(l.text, s.sid);
    }
    assert_true(warned);
}

void test_refresh_for_inactive_or_deleted_user_is_401(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), refresh_req(s.refresh));
    refresh_until_rotation(f);
    REPLY_EVAL(f, 0, "rotate_session", r_rotated(-2));
    STEP(f, RESTAUTH_DONE);
    EXPECT_401(f, R"({"detail": "No active account found for the given token.", "code": "no_active_account"})");
}

void test_refresh_with_access_token_has_wrong_type(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    Flow f(api.get(), refresh_req(s.access));
    STEP(f, RESTAUTH_DONE);
    EXPECT_401(f, R"({"detail": "Token has wrong type", "code": "token_not_valid"})");
}

void test_refresh_invalid_or_expired_is_401(void **)
{
    auto api = make_api();
    Session s = login_alice(api.get());
    for (const auto &[token, now] : {std::pair<std::string, int64_t>{"garbage", kNow},
                                     std::pair<std::string, int64_t>{s.refresh, kNow + 86400}}) {
        Flow f(api.get(), refresh_req(token, now));
        STEP(f, RESTAUTH_DONE);
        EXPECT_401(f, R"({"detail": "Token is invalid or expired", "code": "token_not_valid"})");
    }
}

void test_refresh_without_token_is_401_and_blank_is_400(void **)
{
    auto api = make_api();
    Flow none(api.get(), post("token/refresh/", "{}"));
    STEP(none, RESTAUTH_DONE);
    EXPECT_401(none, R"({"detail": "No valid refresh token found.", "code": "token_not_valid"})");

    Flow blank(api.get(), post("token/refresh/", R"({"refresh": ""})"));
    STEP(blank, RESTAUTH_DONE);
    assert_int_equal(blank.status(), 400);
    EXPECT_JSON(blank.body(), R"({"refresh": ["This field may not be blank."]})");
}

// In HttpOnly mode login/ answers "refresh": "", so refresh tokens for the
// cookie tests come from an API with visible cookies and the same keys.
ApiPtr make_visible_cookie_api()
{
    return make_api([](restauth_settings_t &st) {
        with_cookies(st);
        st.cookie_httponly = 0;
    });
}

void test_refresh_reads_the_cookie_and_sets_cookies(void **)
{
    auto api = make_api(with_cookies);
    auto visible = make_visible_cookie_api();
    Session v = login_alice(visible.get());
    Req r = post("token/refresh/", "{}");
    r.cookie = "theme=dark; refresh-auth=" + v.refresh;
    Flow f(api.get(), r);
    auto cmd = refresh_until_rotation(f);
    assert_string_equal(cmd.at(5).c_str(), v.refresh_jti.c_str());
    REPLY_EVAL(f, 0, "rotate_session", r_rotated(1, alice()));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
    auto cookies = f.headers("Set-Cookie");
    assert_int_equal(cookies.size(), 2);
    Json body = PARSE(f.body());
    assert_string_equal(cookies[0].substr(0, cookies[0].find(';')).c_str(),
                        ("auth=" + json_str(body.get(), "access")).c_str());
    const std::string prefix = "refresh-auth=";
    assert_true(cookies[1].compare(0, prefix.size(), prefix) == 0);
    std::string refresh = cookies[1].substr(prefix.size(), cookies[1].find(';') - prefix.size());
    Json rp = jwt_payload(refresh);
    assert_string_equal(json_str(rp.get(), "jti").c_str(), cmd.at(6).c_str());
}

void test_refresh_httponly_cookie_mode_keeps_refresh_out_of_body(void **)
{
    auto api = make_api(with_cookies);
    auto visible = make_visible_cookie_api();
    Session v = login_alice(visible.get());
    Req r = post("token/refresh/", "{}");
    r.cookie = "refresh-auth=" + v.refresh;
    Flow f(api.get(), r);
    refresh_until_rotation(f);
    REPLY_EVAL(f, 0, "rotate_session", r_rotated(1, alice()));
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 200);
    Json body = PARSE(f.body());
    assert_null(cJSON_GetObjectItemCaseSensitive(body.get(), "refresh"));
}

void test_refresh_redis_down_is_503_without_tokens(void **)
{
    auto api = make_api(with_cookies);
    auto visible = make_visible_cookie_api();
    Session v = login_alice(visible.get());
    Flow f(api.get(), refresh_req(v.refresh));
    refresh_until_rotation(f);
    f.fail_reply(0);
    STEP(f, RESTAUTH_DONE);
    assert_int_equal(f.status(), 503);
    assert_string_equal(f.body().c_str(), k503);
    assert_int_equal(f.header_count(), 0);
}

// ============================================================================
// logs never hold secrets
// ============================================================================

void expect_clean_logs(const Flow &f, const std::vector<std::string> &secrets, const char *file, int line)
{
    for (const auto &l : f.logs) {
        for (const auto &s : secrets) {
            if (!s.empty() && contains(l.text, s)) {
                print_error("log line leaks a secret: %s\n", l.text.c_str());
                _fail(file, line);
            }
        }
    }
}
#define EXPECT_CLEAN_LOGS(flow, secrets) expect_clean_logs((flow), (secrets), __FILE__, __LINE__)

void test_logs_never_contain_password_or_tokens(void **)
{
    auto api = make_visible_cookie_api();
    std::string old_hash = restauth::make_password_hash(kPassword, 2000);
    std::vector<std::string> secrets = {kPassword, g_hash, old_hash, kSecret, "not the password"};
    size_t lines = 0;

    // A login that upgrades the hash (and logs about it).
    Flow ok(api.get(), login_req("alice", kPassword));
    STEP(ok, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(ok, 0, "find_user", r_hash(with(alice(), "password", old_hash)));
    STEP(ok, RESTAUTH_NEED_JOB);
    ok.run_job();
    STEP(ok, RESTAUTH_NEED_REDIS);
    secrets.push_back(ok.command(0).at(9));  // the new hash
    secrets.push_back(ok.command(0).at(17));  // the refresh jti
    REPLY_EVAL(ok, 0, "start_session", r_int(1));
    STEP(ok, RESTAUTH_DONE);
    assert_int_equal(ok.status(), 200);
    Json body = PARSE(ok.body());
    const std::string access = json_str(body.get(), "access");
    const std::string refresh = json_str(body.get(), "refresh");
    for (const auto &t : {access, refresh}) {
        secrets.push_back(t);
        secrets.push_back(signature_of(t));
    }
    EXPECT_CLEAN_LOGS(ok, secrets);
    lines += ok.logs.size();

    // A failed login.
    Flow bad(api.get(), login_req("alice", "not the password"));
    STEP(bad, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(bad, 0, "find_user", r_hash(alice()));
    STEP(bad, RESTAUTH_NEED_JOB);
    bad.run_job();
    STEP(bad, RESTAUTH_DONE);
    EXPECT_CLEAN_LOGS(bad, secrets);
    lines += bad.logs.size();

    // A reused refresh token, an expired one, a rotation.
    for (long long status : {-1LL, 1LL}) {
        Flow r(api.get(), refresh_req(refresh));
        refresh_until_rotation(r);
        REPLY_EVAL(r, 0, "rotate_session", r_rotated(status, alice()));
        STEP(r, RESTAUTH_DONE);
        EXPECT_CLEAN_LOGS(r, secrets);
        lines += r.logs.size();
    }
    Flow expired(api.get(), refresh_req(refresh, kNow + 86400));
    STEP(expired, RESTAUTH_DONE);
    EXPECT_CLEAN_LOGS(expired, secrets);
    lines += expired.logs.size();

    // An expired access token on user/.
    Flow user(api.get(), authed("GET", "user/", access, kNow + 301));
    STEP(user, RESTAUTH_DONE);
    EXPECT_CLEAN_LOGS(user, secrets);
    lines += user.logs.size();

    // Redis failing after the password was checked.
    Flow down(api.get(), login_req("alice", kPassword));
    STEP(down, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(down, 0, "find_user", r_hash(alice()));
    STEP(down, RESTAUTH_NEED_JOB);
    down.run_job();
    STEP(down, RESTAUTH_NEED_REDIS);
    REPLY_EVAL(down, 0, "start_session", r_error("ERR unknown command"));
    STEP(down, RESTAUTH_DONE);
    assert_int_equal(down.status(), 503);
    EXPECT_CLEAN_LOGS(down, secrets);
    lines += down.logs.size();

    // The scan saw real log lines, not an empty set.
    if (lines < 5) fail_msg("only %zu log lines were produced", lines);
}

// ============================================================================

int setup_group(void **)
{
    g_keys = restauth_keyset_create();
    if (g_keys == nullptr) return -1;
    char err[256] = "";
    if (restauth_keyset_add(g_keys, S("HS256"), S(kSecret), restauth_str_t{nullptr, 0}, err, sizeof(err)) != 0) {
        std::fprintf(stderr, "restauth_keyset_add: %s\n", err);
        return -1;
    }
    g_hash = restauth::make_password_hash(kPassword, 1000);
    return g_hash.empty() ? -1 : 0;
}

int teardown_group(void **)
{
    restauth_keyset_destroy(g_keys);
    g_keys = nullptr;
    return 0;
}

}  // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        // health/
        cmocka_unit_test(test_health_pong_is_200_redis_ok),
        cmocka_unit_test(test_health_redis_down_is_503),
        cmocka_unit_test(test_health_redis_error_reply_is_503),
        cmocka_unit_test(test_health_unexpected_ping_reply_is_503),
        cmocka_unit_test(test_unanswered_command_counts_as_redis_failure),
        // router
        cmocka_unit_test(test_unknown_path_is_404_json_without_redis),
        cmocka_unit_test(test_get_login_is_405_with_allow),
        cmocka_unit_test(test_put_health_is_405_naming_the_method),
        cmocka_unit_test(test_options_answers_allow_without_redis),
        cmocka_unit_test(test_both_url_forms_reach_the_endpoint),
        cmocka_unit_test(test_sessions_id_routes_to_delete_in_both_forms),
        cmocka_unit_test(test_sessions_id_of_someone_else_is_404),
        cmocka_unit_test(test_sessions_id_malformed_paths_are_404),
        cmocka_unit_test(test_sessions_id_needs_credentials_before_method),
        cmocka_unit_test(test_options_sessions_id_answers_allow),
        cmocka_unit_test(test_sessions_list_marks_the_current_session),
        cmocka_unit_test(test_call_destroyed_mid_flow_is_clean),
        cmocka_unit_test(test_next_after_done_stays_done),
        // login/
        cmocka_unit_test(test_login_happy_path_commands_job_and_tokens),
        cmocka_unit_test(test_login_ignores_stale_credentials),
        cmocka_unit_test(test_login_email_wins_over_username),
        cmocka_unit_test(test_login_username_holding_an_email_looks_up_either),
        cmocka_unit_test(test_login_uses_the_configured_prefix),
        cmocka_unit_test(test_session_cap_reaches_the_scripts),
        cmocka_unit_test(test_logout_all_runs_until_nothing_is_left),
        cmocka_unit_test(test_login_unknown_user_is_refused_after_a_job),
        cmocka_unit_test(test_login_unknown_user_costs_a_hash),
        cmocka_unit_test(test_login_inactive_user_is_refused_like_a_wrong_password),
        cmocka_unit_test(test_login_wrong_password_is_400),
        cmocka_unit_test(test_login_counts_the_attempt_before_the_hash),
        cmocka_unit_test(test_login_success_hands_the_attempt_back),
        cmocka_unit_test(test_login_locked_account_burns_a_hash_and_hands_back_nothing),
        cmocka_unit_test(test_login_throttled_address_gets_429_without_a_hash),
        cmocka_unit_test(test_login_refused_job_hands_the_attempt_back),
        cmocka_unit_test(test_login_unexpected_take_reply_is_503),
        cmocka_unit_test(test_login_address_as_username_finds_the_address_owner),
        cmocka_unit_test(test_login_address_as_username_always_costs_two_hashes),
        cmocka_unit_test(test_login_unusable_password_never_matches),
        cmocka_unit_test(test_login_mandatory_verification_refuses_unverified_email),
        cmocka_unit_test(test_login_mandatory_verification_hides_status_behind_wrong_password),
        cmocka_unit_test(test_login_mandatory_verification_admits_verified_email),
        cmocka_unit_test(test_login_optional_verification_admits_unverified_email),
        cmocka_unit_test(test_login_stale_hash_is_upgraded_at_session_start),
        cmocka_unit_test(test_login_user_vanished_before_session_start_is_400),
        cmocka_unit_test(test_login_sets_cookies_when_configured),
        cmocka_unit_test(test_login_job_rejected_is_503),
        cmocka_unit_test(test_login_redis_down_at_lookup_is_503_without_a_job),
        cmocka_unit_test(test_login_redis_error_at_lookup_is_503),
        cmocka_unit_test(test_login_redis_failing_at_session_start_gives_no_half_response),
        cmocka_unit_test(test_login_field_errors),
        // request bodies
        cmocka_unit_test(test_body_malformed_json_is_400_parse_error),
        cmocka_unit_test(test_body_json_list_is_400_naming_the_type),
        cmocka_unit_test(test_body_text_plain_is_415),
        cmocka_unit_test(test_body_empty_form_is_password_required),
        cmocka_unit_test(test_body_form_login_reaches_redis),
        // authentication (user/)
        cmocka_unit_test(test_user_get_returns_the_user),
        cmocka_unit_test(test_user_without_credentials_is_401_not_provided),
        cmocka_unit_test(test_user_bearer_without_single_value_is_bad_header),
        cmocka_unit_test(test_user_other_scheme_is_ignored),
        cmocka_unit_test(test_user_expired_token_is_401_token_not_valid),
        cmocka_unit_test(test_user_tampered_token_is_401_token_not_valid),
        cmocka_unit_test(test_user_refresh_token_has_wrong_type),
        cmocka_unit_test(test_user_deleted_is_401_user_not_found),
        cmocka_unit_test(test_user_inactive_is_401_user_inactive),
        cmocka_unit_test(test_user_redis_down_while_authenticating_is_503),
        cmocka_unit_test(test_user_rename_retries_with_the_current_name),
        cmocka_unit_test(test_user_rename_gives_up_after_bounded_retries),
        cmocka_unit_test(test_user_missing_credential_reported_before_wrong_method),
        cmocka_unit_test(test_accept_json_cannot_satisfy_is_406_first),
        cmocka_unit_test(test_accept_json_satisfied_goes_on),
        cmocka_unit_test(test_user_access_cookie_authenticates_and_header_wins),
        cmocka_unit_test(test_user_access_cookie_ignored_when_not_configured),
        cmocka_unit_test(test_login_with_csrf_sets_a_readable_csrf_cookie),
        cmocka_unit_test(test_cookie_auth_unsafe_method_needs_a_token_of_its_session),
        cmocka_unit_test(test_csrf_trusted_origins),
        cmocka_unit_test(test_csrf_secret),
        cmocka_unit_test(test_refresh_by_cookie_needs_a_token_of_its_session),
        cmocka_unit_test(test_logout_by_cookie_csrf),
        // token/refresh/
        cmocka_unit_test(test_refresh_rotates_the_session),
        cmocka_unit_test(test_refresh_of_revoked_session_is_blacklisted),
        cmocka_unit_test(test_refresh_reuse_revokes_session),
        cmocka_unit_test(test_refresh_for_inactive_or_deleted_user_is_401),
        cmocka_unit_test(test_refresh_with_access_token_has_wrong_type),
        cmocka_unit_test(test_refresh_invalid_or_expired_is_401),
        cmocka_unit_test(test_refresh_without_token_is_401_and_blank_is_400),
        cmocka_unit_test(test_refresh_reads_the_cookie_and_sets_cookies),
        cmocka_unit_test(test_refresh_httponly_cookie_mode_keeps_refresh_out_of_body),
        cmocka_unit_test(test_refresh_redis_down_is_503_without_tokens),
        // logs
        cmocka_unit_test(test_logs_never_contain_password_or_tokens),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
