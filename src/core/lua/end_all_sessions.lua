-- KEYS: user's session set.  ARGV: prefix.  Returns the number revoked.
local n = 0
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  n = n + redis.call('DEL', ARGV[1] .. 'session:' .. sid)
end
redis.call('DEL', KEYS[1])
return n
