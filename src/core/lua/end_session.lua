-- Logout.  KEYS: session, user's session index.  ARGV: jti, sid.
-- Returns 1 ended; 0 unknown session; -1 stale jti (session revoked as reuse).
-- (lib_index.lua comes first.)
local cur = redis.call('HGET', KEYS[1], 'jti')
if not cur then return 0 end
redis.call('DEL', KEYS[1])
index_remove(KEYS[2], ARGV[2])
if cur ~= ARGV[1] then return -1 end
return 1
