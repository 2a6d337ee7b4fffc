-- Password reset confirmation.  KEYS: token record, user, user's session set,
-- user's opaque-token set.  ARGV: user id, the password hash the token was
-- checked against, its pwfp, new hash, prefix, revoke all sessions and
-- opaque keys (0|1).
-- Returns 1, or -1 when the token is no longer valid (used, expired, or the
-- password changed meanwhile); 2 when the password is set but more sessions
-- or keys are left to revoke than one run does (run end_all_sessions.lua
-- until it returns 0).
-- (lib_index.lua and lib_revoke.lua come first: revoke_credentials.)
local rec = redis.call('HMGET', KEYS[1], 'user_id', 'pwfp')
if rec[1] ~= ARGV[1] or rec[2] ~= ARGV[3] then return -1 end
if redis.call('HGET', KEYS[2], 'password') ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[2], 'password', ARGV[4])
redis.call('DEL', KEYS[1])
if ARGV[6] == '1' and revoke_credentials(ARGV[5], KEYS[3], KEYS[4], '') > 0 then return 2 end
return 1
