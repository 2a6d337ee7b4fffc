-- KEYS: session, user's session set.  ARGV: user id, sid.  1 deleted, 0 not the caller's.
if redis.call('HGET', KEYS[1], 'user_id') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
