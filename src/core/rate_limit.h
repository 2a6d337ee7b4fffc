// Rate limits kept in Redis, so they hold across every nginx instance that
// shares it: fixed windows counted with INCR and an expiry.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "call.h"
#include "task.h"

namespace restauth {

// Appends the limit's command (lua::rate_limit: check, and count when `add`,
// in one step) to a batch and returns its position, or -1
// (appending nothing) when the limit is off.
int append_rate_limit(std::vector<Command> &batch, const Call &call, Limit limit, std::string_view subject,
                      bool add);

// True when the reply at `index` of a batch says the limit was reached.
bool limit_reached(const std::vector<RedisValue> &replies, int index);

// True when the reply says the limit was reached; answers 429 with
// Retry-After then.
bool throttled(Call &call, Limit limit, const std::vector<RedisValue> &replies, int index);

// Checks and counts several limits in one round trip.  False after
// answering 429.
Task<bool> take_limits(Call &call, std::vector<std::pair<Limit, std::string>> subjects);

// The failed-login limits of one login attempt (LOGIN_IP per client address,
// LOGIN_ACCOUNT per login name), taken before the password is hashed by
// lua::login_attempt: the check and the count are one atomic step, so no
// burst of concurrent attempts and no client that goes away mid-hash gets
// more password verdicts than the limits allow.  A login that succeeds
// hands its attempt back (release), so only failures use up the limits.
struct LoginAttempt {
    enum class Verdict { Counted, Throttled, Locked };
    int index = -1;               // in the batch; -1: both limits off
    std::string ip_key, account_key;
    long long ip_end = 0, account_end = 0;  // the windows counted in (ms), 0: not counted
};

// Appends the take to a batch (nothing when both limits are off).
LoginAttempt append_login_attempt(std::vector<Command> &batch, const Call &call, std::string_view ip,
                                  std::string_view login_name);

// The take's verdict.  Throttled: the address is at its limit, nothing was
// counted, and 429 with Retry-After has been answered.  Locked: the account
// is at its limit; the attempt was counted against the address only.
// Counted (also when both limits are off): against both.
LoginAttempt::Verdict read_login_attempt(Call &call, LoginAttempt &attempt, const std::vector<RedisValue> &replies);

// Hands a counted attempt back: the command, or nothing to send.
std::vector<Command> login_release(const LoginAttempt &attempt);

}  // namespace restauth
