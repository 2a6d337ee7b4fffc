-- KEYS: user, session, user's session set.
-- ARGV: last_login, ttl, old hash, new hash ('' = keep), sid, then session field/value pairs.
-- Returns 1, or 0 when the user disappeared meanwhile.
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
