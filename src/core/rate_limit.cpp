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

}  // namespace

int append_rate_limit(std::vector<Command> &batch, const Call &call, Limit limit, std::string_view subject,
                      bool add)
{
    const RateLimit &rule = call.settings().limits[static_cast<size_t>(limit)];
    if (rule.count == 0) return -1;
    // Subjects are client-controlled (addresses, login names): a digest
    // bounds the key and keeps them out of key names.
    std::string key =
        Keys(call.settings().redis_prefix).rate_limit(limit_name(limit), sha256_hex(subject).substr(0, 32));
    batch.push_back(Command{"EVAL", std::string(lua::rate_limit), "1", key, std::to_string(rule.count),
                            std::to_string(rule.window), add ? "1" : "0"});
    return static_cast<int>(batch.size()) - 1;
}

bool limit_reached(const std::vector<RedisValue> &replies, int index)
{
    if (index < 0 || static_cast<size_t>(index) >= replies.size()) return false;
    const RedisValue &reply = replies[index];
    return reply.type == RedisValue::Type::Array && reply.elements.size() == 2 && reply.elements[0].integer == 1;
}

bool throttled(Call &call, Limit limit, const std::vector<RedisValue> &replies, int index)
{
    if (!limit_reached(replies, index)) return false;
    const RedisValue &reply = replies[index];
    std::string wait = std::to_string(reply.elements[1].integer);
    call.log(RESTAUTH_LOG_WARN, std::string("rate limit ") + limit_name(limit) + " reached for " +
                                    call.request().client_ip);
    call.add_header("Retry-After", wait);
    call.respond(429, json_detail("Request was throttled. Expected available in " + wait + " seconds."));
    return true;
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
