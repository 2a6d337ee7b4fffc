-- KEYS: by_username, by_email.  ARGV: prefix, field (username|email|either), folded login.
local id
if ARGV[2] ~= 'email' then id = redis.call('HGET', KEYS[1], ARGV[3]) end
if not id and ARGV[2] ~= 'username' then id = redis.call('HGET', KEYS[2], ARGV[3]) end
if not id then return {} end
return redis.call('HGETALL', ARGV[1] .. 'user:' .. id)
