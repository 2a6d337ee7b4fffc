-- KEYS: session, user's session index.  ARGV: user id, sid.  1 deleted, 0 not the caller's.
-- (lib_index.lua comes first.)
if redis.call('HGET', KEYS[1], 'user_id') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
index_remove(KEYS[2], ARGV[2])
return 1
