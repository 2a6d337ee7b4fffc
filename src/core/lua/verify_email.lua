-- Confirm a verification key.  KEYS: the key's record.  ARGV: prefix.
-- Returns the user id; 0 unknown key; -1 the user is gone or no longer has
-- the address the key was sent to.  A known key is deleted either way.
local rec = redis.call('HMGET', KEYS[1], 'user_id', 'email')
if not rec[1] then return 0 end
redis.call('DEL', KEYS[1])
local ukey = ARGV[1] .. 'user:' .. rec[1]
if redis.call('HGET', ukey, 'email') ~= rec[2] then return -1 end
redis.call('HSET', ukey, 'email_verified', '1')
return tonumber(rec[1])
