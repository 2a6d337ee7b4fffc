#include "call.h"

#include <hiredis/hiredis.h>

#include "restauth.h"
#include "responses.h"

namespace restauth {

RedisValue RedisValue::from_reply(const redisReply *reply)
{
    RedisValue v;
    if (reply == nullptr) return v;
    switch (reply->type) {
    case REDIS_REPLY_STRING: v.type = Type::String; break;
    case REDIS_REPLY_STATUS: v.type = Type::Status; break;
    case REDIS_REPLY_ERROR: v.type = Type::Error; break;
    case REDIS_REPLY_INTEGER: v.type = Type::Integer; break;
    case REDIS_REPLY_NIL: v.type = Type::Nil; break;
    case REDIS_REPLY_ARRAY: v.type = Type::Array; break;
    default: v.type = Type::Error; break;
    }
    v.integer = reply->integer;
    if (reply->str != nullptr) v.str.assign(reply->str, reply->len);
    if (reply->type == REDIS_REPLY_ARRAY) {
        v.elements.reserve(reply->elements);
        for (size_t i = 0; i < reply->elements; i++) {
            v.elements.push_back(from_reply(reply->element[i]));
        }
    }
    return v;
}

Call::Call(const Api &api, Request request) : api_(api), request_(std::move(request)) {}

void Call::RedisAwaiter::await_suspend(std::coroutine_handle<> h)
{
    call.commands_ = std::move(commands);
    call.replies_.assign(call.commands_.size(), RedisValue{});
    call.resume_point_ = h;
    call.need_ = Need::Redis;
}

std::vector<RedisValue> Call::RedisAwaiter::await_resume()
{
    call.commands_.clear();
    for (const auto &r : call.replies_) {
        if (r.type == RedisValue::Type::Failed) {
            throw RedisUnavailable("redis is unavailable");
        }
        if (r.type == RedisValue::Type::Error) {
            throw RedisUnavailable("redis error: " + r.str.substr(0, 200));
        }
    }
    return std::move(call.replies_);
}

void Call::JobAwaiter::await_suspend(std::coroutine_handle<> h)
{
    call.job_ = std::move(fn);
    call.job_failed_ = false;
    call.resume_point_ = h;
    call.need_ = Need::Job;
}

void Call::JobAwaiter::await_resume()
{
    call.job_ = nullptr;
    if (call.job_failed_) throw JobRejected("CPU job refused: the server is busy");
}

void Call::feed_reply(size_t i, const redisReply *reply)
{
    if (i < replies_.size()) replies_[i] = RedisValue::from_reply(reply);
}

void Call::command_argv(size_t i, int *argc, const char ***argv, const size_t **argvlen) const
{
    const Command &cmd = commands_[i];
    argv_.clear();
    argvlen_.clear();
    for (const auto &arg : cmd) {
        argv_.push_back(arg.data());
        argvlen_.push_back(arg.size());
    }
    *argc = static_cast<int>(cmd.size());
    *argv = argv_.data();
    *argvlen = argvlen_.data();
}

void Call::run_job()
{
    if (job_) job_();
}

Call::Need Call::next()
{
    std::coroutine_handle<> h;
    logs_.clear();
    if (!started_) {
        started_ = true;
        root_ = dispatch(*this);
        h = root_.handle();
    } else {
        h = resume_point_;
    }
    if (!h || h.done()) {
        finish_root();
        return Need::Done;
    }
    need_ = Need::Done;
    resume_point_ = nullptr;
    h.resume();
    if (need_ != Need::Done) return need_;
    finish_root();
    return Need::Done;
}

// The root task ran to completion: turn an escaped failure into a response.
void Call::finish_root()
{
    auto h = root_.handle();
    if (h && h.done() && h.promise().exception) {
        auto ex = std::exchange(h.promise().exception, nullptr);
        try {
            std::rethrow_exception(ex);
        } catch (const RedisUnavailable &e) {
            log(RESTAUTH_LOG_ERR, e.what());
            headers_.clear();
            respond(503, error_body(503));
        } catch (const JobRejected &e) {
            log(RESTAUTH_LOG_ERR, e.what());
            headers_.clear();
            add_header("Retry-After", std::to_string(job_retry_after_ ? job_retry_after_ : 1));
            respond(503, error_body(503));
        } catch (const std::exception &e) {
            log(RESTAUTH_LOG_ERR, std::string("internal error: ") + e.what());
            headers_.clear();
            respond(500, error_body(500));
        }
    }
    if (status_ == 0) {
        log(RESTAUTH_LOG_ERR, "internal error: endpoint produced no response");
        respond(500, error_body(500));
    }
}

void Call::respond(int status, std::string body)
{
    status_ = status;
    body_ = std::move(body);
}

void Call::add_header(std::string name, std::string value)
{
    headers_.emplace_back(std::move(name), std::move(value));
}

void Call::log(int level, std::string text)
{
    logs_.push_back(LogLine{level, std::move(text)});
}

}  // namespace restauth
