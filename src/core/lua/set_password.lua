-- KEYS: user, user's session set, user's opaque-token set.  ARGV: prefix,
-- expected current hash ('' = any), new hash, session id or token digest to
-- keep ('' = none), revoke others (0|1).
-- Returns 1, 0 (user gone) or -1 (password changed meanwhile); 2 when the
-- password is set but more sessions or keys are left to revoke than one run
-- does (run end_all_sessions.lua with the same keep until it returns 0).
-- (lib_index.lua and lib_revoke.lua come first: revoke_credentials.)
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'password') ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], 'password', ARGV[3])
if ARGV[5] == '1' and revoke_credentials(ARGV[1], KEYS[2], KEYS[3], ARGV[4]) > 0 then return 2 end
return 1
