-- KEYS: user, session, user's session index.
-- ARGV: 1 last_login, 2 ttl, 3 old hash, 4 new hash ('' = keep), 5 sid,
-- 6 prefix, 7 cap (restauth_max_sessions_per_user), 8 created (unix), then
-- session field/value pairs.
-- Returns 1, or 0 when the user disappeared meanwhile.  The user's oldest
-- sessions beyond the cap are revoked (lib_index.lua comes first).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_login', ARGV[1])
if ARGV[4] ~= '' and redis.call('HGET', KEYS[1], 'password') == ARGV[3] then
  redis.call('HSET', KEYS[1], 'password', ARGV[4])
end
redis.call('HSET', KEYS[2], unpack(ARGV, 9))
redis.call('EXPIRE', KEYS[2], ARGV[2])
index_add(KEYS[3], ARGV[6] .. 'session:', ARGV[5], ARGV[8], tonumber(ARGV[7]))
redis.call('EXPIRE', KEYS[3], ARGV[2])
return 1
