-- Opaque-token login.  KEYS: user, token, user's token index.
-- ARGV: 1 last_login, 2 old hash, 3 new hash ('' = keep), 4 user id,
-- 5 created, 6 digest, 7 prefix, 8 cap (restauth_max_sessions_per_user).
-- Returns 1, or 0 when the user disappeared meanwhile.  The user's oldest
-- keys beyond the cap are deleted (lib_index.lua comes first).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_login', ARGV[1])
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'password') == ARGV[2] then
  redis.call('HSET', KEYS[1], 'password', ARGV[3])
end
redis.call('HSET', KEYS[2], 'user_id', ARGV[4], 'created', ARGV[5])
index_add(KEYS[3], ARGV[7] .. 'token:', ARGV[6], ARGV[5], tonumber(ARGV[8]))
return 1
