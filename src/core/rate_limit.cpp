#include "rate_limit.h"

#include "crypto.h"
#include "json.h"
#include "lua_scripts.h"
#include "restauth.h"
#include "user_store.h"

namespace restauth {

namespace {

const char *limit_name(Limit limit)
{
    switch (limit) {
#define RESTAUTH_LIMIT_NAME(id, kind, count, window) \
    case Limit::id: return #kind;
        RESTAUTH_LIMITS(RESTAUTH_LIMIT_NAME)
#undef RESTAUTH_LIMIT_NAME
    case Limit::Count: break;
    }
    return "unknown";
}

// Subjects are client-controlled (addresses, login names): a digest
// bounds the key and keeps them out of key names.
std::string limit_key(const Call &call, Limit limit, std::string_view subject)
{
    return Keys(call.settings().redis_prefix).rate_limit(limit_name(limit), sha256_hex(subject).substr(0, 32));
}

}  // namespace

int append_rate_limit(std::vector<Command> &batch, const Call &call, Limit limit, std::string_view subject,
                      bool add)
{
    const RateLimit &rule = call.settings().limits[static_cast<size_t>(limit)];
    if (rule.count == 0) return -1;
    batch.push_back(Command{"EVAL", std::string(lua::rate_limit), "1", limit_key(call, limit, subject),
                            std::to_string(rule.count),
                            std::to_string(rule.window), add ? "1" : "0"});
    return static_cast<int>(batch.size()) - 1;
}

bool limit_reached(const std::vector<RedisValue> &replies, int index)
{
    if (index < 0 || static_cast<size_t>(index) >= replies.size()) return false;
    const RedisValue &reply = replies[index];
    return reply.type == RedisValue::Type::Array && reply.elements.size() == 2 && reply.elements[0].integer == 1;
}

namespace {

// 429 with Retry-After: `seconds` until the counter's window ends.
void answer_throttled(Call &call, Limit limit, long long seconds)
{
    std::string wait = std::to_string(seconds);
    call.log(RESTAUTH_LOG_WARN, std::string("rate limit ") + limit_name(limit) + " reached for " +
                                    call.request().client_ip);
    call.add_header("Retry-After", wait);
    call.respond(429, json_detail("Request was throttled. Expected available in " + wait + " seconds."));
}

}  // namespace

bool throttled(Call &call, Limit limit, const std::vector<RedisValue> &replies, int index)
{
    if (!limit_reached(replies, index)) return false;
    answer_throttled(call, limit, replies[index].elements[1].integer);
    return true;
}

LoginAttempt append_login_attempt(std::vector<Command> &batch, const Call &call, std::string_view ip,
                                  std::string_view login_name)
{
    const RateLimit &by_ip = call.settings().limits[static_cast<size_t>(Limit::LOGIN_IP)];
    const RateLimit &by_account = call.settings().limits[static_cast<size_t>(Limit::LOGIN_ACCOUNT)];
    LoginAttempt attempt;
    if (by_ip.count == 0 && by_account.count == 0) return attempt;
    attempt.ip_key = limit_key(call, Limit::LOGIN_IP, ip);
    attempt.account_key = limit_key(call, Limit::LOGIN_ACCOUNT, login_name);
    batch.push_back(Command{"EVAL", std::string(lua::login_attempt), "2", attempt.ip_key, attempt.account_key,
                            "take", std::to_string(by_ip.count), std::to_string(by_ip.window),
                            std::to_string(by_account.count), std::to_string(by_account.window)});
    attempt.index = static_cast<int>(batch.size()) - 1;
    return attempt;
}

LoginAttempt::Verdict read_login_attempt(Call &call, LoginAttempt &attempt, const std::vector<RedisValue> &replies)
{
    if (attempt.index < 0) return LoginAttempt::Verdict::Counted;
    const RedisValue &reply = replies.at(static_cast<size_t>(attempt.index));
    // An unexpected reply is a Redis failure, not a free attempt.
    if (reply.type != RedisValue::Type::Array || reply.elements.size() < 2) {
        throw RedisUnavailable("login_attempt: unexpected reply");
    }
    long long verdict = reply.elements[0].integer;
    if (verdict == 1) {
        answer_throttled(call, Limit::LOGIN_IP, reply.elements[1].integer);
        return LoginAttempt::Verdict::Throttled;
    }
    attempt.ip_end = reply.elements[1].integer;
    if (verdict == 2) return LoginAttempt::Verdict::Locked;
    if (verdict != 0 || reply.elements.size() != 3) throw RedisUnavailable("login_attempt: unexpected reply");
    attempt.account_end = reply.elements[2].integer;
    return LoginAttempt::Verdict::Counted;
}

std::vector<Command> login_release(const LoginAttempt &attempt)
{
    std::vector<Command> batch;
    if (attempt.index < 0 || (attempt.ip_end == 0 && attempt.account_end == 0)) return batch;
    batch.push_back(Command{"EVAL", std::string(lua::login_attempt), "2", attempt.ip_key, attempt.account_key,
                            "release", std::to_string(attempt.ip_end), std::to_string(attempt.account_end)});
    return batch;
}

Task<bool> take_limits(Call &call, std::vector<std::pair<Limit, std::string>> subjects)
{
    std::vector<Command> batch;
    std::vector<int> index;
    for (const auto &[limit, subject] : subjects) index.push_back(append_rate_limit(batch, call, limit, subject, true));
    if (batch.empty()) co_return true;  // all off: no round trip
    auto replies = co_await call.redis(std::move(batch));
    for (size_t i = 0; i < subjects.size(); i++) {
        if (throttled(call, subjects[i].first, replies, index[i])) co_return false;
    }
    co_return true;
}

}  // namespace restauth
