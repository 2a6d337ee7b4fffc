-- Opaque-token login.  KEYS: user, token, user's token set.
-- ARGV: last_login, old hash, new hash ('' = keep), user id, created, digest.
-- Returns 1, or 0 when the user disappeared meanwhile.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_login', ARGV[1])
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'password') == ARGV[2] then
  redis.call('HSET', KEYS[1], 'password', ARGV[3])
end
redis.call('HSET', KEYS[2], 'user_id', ARGV[4], 'created', ARGV[5])
redis.call('SADD', KEYS[3], ARGV[6])
return 1
