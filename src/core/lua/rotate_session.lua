-- Refresh rotation.  KEYS: session, user.  ARGV: presented jti, new jti,
-- now, ttl, sid, user's session set key.
-- Returns {status, user hash...}: 1 rotated; 0 no session (revoked/expired);
-- -1 reuse detected (session revoked now); -2 user gone or inactive.
-- (lib_index.lua comes first.)
local cur = redis.call('HGET', KEYS[1], 'jti')
if not cur then return {0} end
if cur ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  index_remove(ARGV[6], ARGV[5])
  return {-1}
end
local user = redis.call('HGETALL', KEYS[2])
if #user == 0 or redis.call('HGET', KEYS[2], 'is_active') ~= '1' then
  redis.call('DEL', KEYS[1])
  index_remove(ARGV[6], ARGV[5])
  return {-2}
end
redis.call('HSET', KEYS[1], 'jti', ARGV[2], 'last_used', ARGV[3], 'expires', ARGV[3] + ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', ARGV[6], ARGV[4])
local out = {1}
for i = 1, #user do out[#out + 1] = user[i] end
return out
