-- Resend verification.  KEYS: by_email.
-- ARGV: prefix, folded email, key digest, ttl, mail stream, the stream's
-- MAXLEN, then mail field/value pairs ('to' is added from the user's
-- record).
-- Returns the user id when a mail was queued, else 0.
local id = redis.call('HGET', KEYS[1], ARGV[2])
if not id then return 0 end
local u = redis.call('HMGET', ARGV[1] .. 'user:' .. id, 'email', 'email_verified')
if not u[1] or u[1] == '' or u[2] == '1' then return 0 end
local vkey = ARGV[1] .. 'verify:' .. ARGV[3]
redis.call('HSET', vkey, 'user_id', id, 'email', u[1])
redis.call('EXPIRE', vkey, ARGV[4])
redis.call('XADD', ARGV[5], 'MAXLEN', '~', ARGV[6], '*', 'to', u[1], unpack(ARGV, 7))
return tonumber(id)
