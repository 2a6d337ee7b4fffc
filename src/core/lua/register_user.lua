-- Registration.  KEYS: next_id, by_username, by_email.
-- ARGV: 1 prefix, 2 folded username, 3 folded email, 4 verification key
-- digest ('' = no verification), 5 its ttl, 6 mail stream, 7 the stream's
-- MAXLEN, 8 stored email, 9 n = number of mail field/value arguments,
-- 10..9+n mail fields, then the user's field/value pairs.
-- Returns the new id, or -1 (username taken), -2 (email taken), -3 (both);
-- nothing is written then.
local taken = 0
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then taken = taken + 1 end
if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then taken = taken + 2 end
if taken ~= 0 then return -taken end
local id = redis.call('INCR', KEYS[1])
while redis.call('EXISTS', ARGV[1] .. 'user:' .. id) == 1 do id = redis.call('INCR', KEYS[1]) end
local n = tonumber(ARGV[9])
redis.call('HSET', ARGV[1] .. 'user:' .. id, 'id', id, unpack(ARGV, 10 + n))
redis.call('HSET', KEYS[2], ARGV[2], id)
redis.call('HSET', KEYS[3], ARGV[3], id)
if ARGV[4] ~= '' then
  local vkey = ARGV[1] .. 'verify:' .. ARGV[4]
  redis.call('HSET', vkey, 'user_id', id, 'email', ARGV[8])
  redis.call('EXPIRE', vkey, ARGV[5])
  redis.call('XADD', ARGV[6], 'MAXLEN', '~', ARGV[7], '*', unpack(ARGV, 10, 9 + n))
end
return id
