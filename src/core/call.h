// One API request as a sans-IO state machine.
//
// Endpoints are coroutines over a Call: `co_await call.redis({...})` yields a
// batch of Redis commands to the shim, `co_await call.job(fn)` yields a
// CPU-heavy function for the thread pool.  The Call records the response
// (status, headers, JSON body) and log lines for the shim to emit.
#pragma once

#include <coroutine>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api.h"
#include "task.h"

struct redisReply;

namespace restauth {

// A deep copy of a hiredis reply: hiredis frees its own after the callback.
struct RedisValue {
    enum class Type { Failed, String, Array, Integer, Nil, Status, Error };
    Type type = Type::Failed;
    long long integer = 0;
    std::string str;
    std::vector<RedisValue> elements;

    static RedisValue from_reply(const redisReply *reply);
    bool is_nil() const { return type == Type::Nil; }
    bool is_string() const { return type == Type::String || type == Type::Status; }
};

using Command = std::vector<std::string>;

// Redis did not answer, or answered with an error: the request gets a 503.
class RedisUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The shim could not run the job: the request gets a 503 with Retry-After.
class JobRejected : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Request {
    std::string method;
    std::string path;
    std::string content_type;
    std::string authorization;
    bool has_authorization = false;
    std::string cookie;
    std::string csrf_header;
    std::string user_agent;
    std::string client_ip;
    std::string body;
    std::string accept;
    bool has_accept = false;  // false: no Accept header (DRF: */*)
    std::string host;         // Host, Origin, Referer, TLS: CSRF origin checks
    std::string origin;
    std::string referer;
    bool secure = false;
    int64_t now = 0;
};

struct LogLine {
    int level;
    std::string text;
};

// A security event (restauth.h lists the names and outcomes); never secrets.
struct Event {
    std::string name;
    std::string outcome;
    std::string user_id;   // empty when unknown
    std::string username;
    std::string session_id;
};

class Call {
public:
    enum class Need { Redis, Job, Done };

    Call(const Api &api, Request request);
    Call(const Call &) = delete;
    Call &operator=(const Call &) = delete;

    const Api &api() const { return api_; }
    const Settings &settings() const { return api_.settings; }
    const Request &request() const { return request_; }
    int64_t now() const { return request_.now; }

    // ---- driven by the shim ----
    Need next();
    const std::vector<Command> &commands() const { return commands_; }
    // C views of command i, valid until the next call of this function.
    void command_argv(size_t i, int *argc, const char ***argv, const size_t **argvlen) const;
    void feed_reply(size_t i, const redisReply *reply);
    void run_job();
    void job_failed(unsigned retry_after)
    {
        job_failed_ = true;
        job_retry_after_ = retry_after;
    }

    // ---- response ----
    void respond(int status, std::string body);
    void add_header(std::string name, std::string value);
    int status() const { return status_; }
    const std::vector<std::pair<std::string, std::string>> &headers() const { return headers_; }
    const std::string &body() const { return body_; }
    bool responded() const { return status_ != 0; }

    // ---- logs (never secrets) ----
    void log(int level, std::string text);
    std::vector<LogLine> &log_lines() { return logs_; }
    const std::vector<LogLine> &log_lines() const { return logs_; }

    // ---- security events (audit trail, metrics, $restauth_event) ----
    void record_event(Event event) { events_.push_back(std::move(event)); }
    const std::vector<Event> &events() const { return events_; }

    // ---- awaitables for endpoints ----
    struct RedisAwaiter {
        Call &call;
        std::vector<Command> commands;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h);
        std::vector<RedisValue> await_resume();
    };
    struct JobAwaiter {
        Call &call;
        std::function<void()> fn;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h);
        void await_resume();
    };

    // Build commands in their own statement, never as a braced list inside
    // the co_await expression: GCC 12 cannot keep an initializer_list's
    // backing array alive across a suspension ("array used as initializer").
    RedisAwaiter redis(std::vector<Command> commands) { return RedisAwaiter{*this, std::move(commands)}; }
    RedisAwaiter redis(Command command)
    {
        std::vector<Command> batch;
        batch.push_back(std::move(command));
        return RedisAwaiter{*this, std::move(batch)};
    }
    JobAwaiter job(std::function<void()> fn) { return JobAwaiter{*this, std::move(fn)}; }

private:
    void finish_root();

    const Api &api_;
    Request request_;
    Task<void> root_;
    bool started_ = false;
    std::coroutine_handle<> resume_point_;
    Need need_ = Need::Done;

    std::vector<Command> commands_;
    std::vector<RedisValue> replies_;
    mutable std::vector<const char *> argv_;
    mutable std::vector<size_t> argvlen_;
    std::function<void()> job_;
    bool job_failed_ = false;
    unsigned job_retry_after_ = 0;

    int status_ = 0;
    std::vector<std::pair<std::string, std::string>> headers_;
    std::string body_;
    std::vector<LogLine> logs_;
    std::vector<Event> events_;
};

// The endpoint table: picks the coroutine for the request's path.
Task<void> dispatch(Call &call);

}  // namespace restauth
