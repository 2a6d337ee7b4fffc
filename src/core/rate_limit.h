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

}  // namespace restauth
