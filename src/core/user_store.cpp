#include "user_store.h"

#include <ctime>

#include "json.h"

namespace restauth {

bool parse_user(const RedisValue &reply, User &user)
{
    if (reply.type != RedisValue::Type::Array || reply.elements.size() < 2) return false;
    bool has_id = false;
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        const std::string &k = reply.elements[i].str;
        const std::string &v = reply.elements[i + 1].str;
        if (k == "id") {
            user.id = std::strtoll(v.c_str(), nullptr, 10);
            has_id = user.id > 0;
        } else if (k == "username") user.username = v;
        else if (k == "email") user.email = v;
        else if (k == "password") user.password = v;
        else if (k == "first_name") user.first_name = v;
        else if (k == "last_name") user.last_name = v;
        else if (k == "is_active") user.is_active = v == "1";
        else if (k == "is_staff") user.is_staff = v == "1";
        else if (k == "is_superuser") user.is_superuser = v == "1";
        else if (k == "email_verified") user.email_verified = v == "1";
        else if (k == "date_joined") user.date_joined = v;
        else if (k == "last_login") user.last_login = v;
    }
    return has_id;
}

std::string user_json(const User &user)
{
    std::string out = "{\"pk\": " + std::to_string(user.id);
    out += ", \"username\": " + json_string(user.username);
    out += ", \"email\": " + json_string(user.email);
    out += ", \"first_name\": " + json_string(user.first_name);
    out += ", \"last_name\": " + json_string(user.last_name);
    out += "}";
    return out;
}

std::string iso8601(int64_t unix_time)
{
    std::time_t t = static_cast<std::time_t>(unix_time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

namespace {

// KEYS: by_username, by_email.  ARGV: prefix, field (username|email|either), folded login.
const char *const kLuaFindUser = R"lua(
local id
if ARGV[2] ~= 'email' then id = redis.call('HGET', KEYS[1], ARGV[3]) end
if not id and ARGV[2] ~= 'username' then id = redis.call('HGET', KEYS[2], ARGV[3]) end
if not id then return {} end
return redis.call('HGETALL', ARGV[1] .. 'user:' .. id)
)lua";

}  // namespace

Command find_user_command(const Keys &keys, LoginField field, std::string_view folded)
{
    const char *mode = field == LoginField::Username ? "username"
                       : field == LoginField::Email  ? "email"
                                                     : "either";
    return {"EVAL", kLuaFindUser, "2", keys.by_username(), keys.by_email(), keys.prefix(), mode,
            std::string(folded)};
}

Command get_user_command(const Keys &keys, int64_t id)
{
    return {"HGETALL", keys.user(id)};
}

// KEYS: next_id, by_username, by_email.
// ARGV: prefix, folded username, folded email ('' = none), then field/value pairs.
// Returns the new id, or -1 (username taken), -2 (email taken).
const char *const kLuaCreateUser = R"lua(
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return -1 end
if ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then return -2 end
local id = redis.call('INCR', KEYS[1])
while redis.call('EXISTS', ARGV[1] .. 'user:' .. id) == 1 do id = redis.call('INCR', KEYS[1]) end
local key = ARGV[1] .. 'user:' .. id
redis.call('HSET', key, 'id', id, unpack(ARGV, 4))
redis.call('HSET', KEYS[2], ARGV[2], id)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[3], id) end
return id
)lua";

// KEYS: user, by_username.  ARGV: id, new folded username ('' = unchanged),
// old folded username, then field/value pairs.
// Returns 1, 0 (user gone) or -1 (username taken).
const char *const kLuaUpdateProfile = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] ~= '' then
  local owner = redis.call('HGET', KEYS[2], ARGV[2])
  if owner and owner ~= ARGV[1] then return -1 end
  if ARGV[3] ~= ARGV[2] and redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[1] then
    redis.call('HDEL', KEYS[2], ARGV[3])
  end
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
end
if #ARGV > 3 then redis.call('HSET', KEYS[1], unpack(ARGV, 4)) end
return 1
)lua";

// KEYS: user, user's session set, user's opaque-token set.  ARGV: prefix,
// expected current hash ('' = any), new hash, session id or token digest to
// keep ('' = none), revoke others (0|1).
// Returns 1, 0 (user gone) or -1 (password changed meanwhile).
const char *const kLuaSetPassword = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'password') ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], 'password', ARGV[3])
if ARGV[5] == '1' then
  for _, sid in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if sid ~= ARGV[4] then
      redis.call('DEL', ARGV[1] .. 'session:' .. sid)
      redis.call('SREM', KEYS[2], sid)
    end
  end
  for _, digest in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if digest ~= ARGV[4] then
      redis.call('DEL', ARGV[1] .. 'token:' .. digest)
      redis.call('SREM', KEYS[3], digest)
    end
  end
end
return 1
)lua";

// KEYS: user, session, user's session set.
// ARGV: last_login, ttl, old hash, new hash ('' = keep), sid, then session field/value pairs.
// Returns 1, or 0 when the user disappeared meanwhile.
const char *const kLuaStartSession = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_login', ARGV[1])
if ARGV[4] ~= '' and redis.call('HGET', KEYS[1], 'password') == ARGV[3] then
  redis.call('HSET', KEYS[1], 'password', ARGV[4])
end
redis.call('HSET', KEYS[2], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[5])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return 1
)lua";

// Opaque-token login.  KEYS: user, token, user's token set.
// ARGV: last_login, old hash, new hash ('' = keep), user id, created, digest.
// Returns 1, or 0 when the user disappeared meanwhile.
const char *const kLuaStartOpaque = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_login', ARGV[1])
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'password') == ARGV[2] then
  redis.call('HSET', KEYS[1], 'password', ARGV[3])
end
redis.call('HSET', KEYS[2], 'user_id', ARGV[4], 'created', ARGV[5])
redis.call('SADD', KEYS[3], ARGV[6])
return 1
)lua";

// Refresh rotation.  KEYS: session, user.  ARGV: presented jti, new jti,
// now, ttl, sid, user's session set key.
// Returns {status, user hash...}: 1 rotated; 0 no session (revoked/expired);
// -1 reuse detected (session revoked now); -2 user gone or inactive.
const char *const kLuaRotateSession = R"lua(
local cur = redis.call('HGET', KEYS[1], 'jti')
if not cur then return {0} end
if cur ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', ARGV[6], ARGV[5])
  return {-1}
end
local user = redis.call('HGETALL', KEYS[2])
if #user == 0 or redis.call('HGET', KEYS[2], 'is_active') ~= '1' then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', ARGV[6], ARGV[5])
  return {-2}
end
redis.call('HSET', KEYS[1], 'jti', ARGV[2], 'last_used', ARGV[3], 'expires', ARGV[3] + ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', ARGV[6], ARGV[4])
local out = {1}
for i = 1, #user do out[#out + 1] = user[i] end
return out
)lua";

// Logout.  KEYS: session, user's session set.  ARGV: jti, sid.
// Returns 1 ended; 0 unknown session; -1 stale jti (session revoked as reuse).
const char *const kLuaEndSession = R"lua(
local cur = redis.call('HGET', KEYS[1], 'jti')
if not cur then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
if cur ~= ARGV[1] then return -1 end
return 1
)lua";

// KEYS: user's session set.  ARGV: prefix.  Returns the number revoked.
const char *const kLuaEndAllSessions = R"lua(
local n = 0
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  n = n + redis.call('DEL', ARGV[1] .. 'session:' .. sid)
end
redis.call('DEL', KEYS[1])
return n
)lua";

// KEYS: user's session set.  ARGV: prefix.  Returns a list of session
// hashes (flat arrays with 'id' first); prunes expired members.
const char *const kLuaListSessions = R"lua(
local out = {}
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HGETALL', ARGV[1] .. 'session:' .. sid)
  if #h == 0 then
    redis.call('SREM', KEYS[1], sid)
  else
    table.insert(h, 1, sid)
    table.insert(h, 1, 'id')
    out[#out + 1] = h
  end
end
return out
)lua";

}  // namespace restauth
