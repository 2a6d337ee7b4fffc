-- KEYS: by_username, by_email.  ARGV: prefix, field (username|email), folded login.
-- Returns the user's HGETALL, {} when the index has no entry (or a dangling one).
-- A login by "username or e-mail" sends this twice in one round trip, once
-- per index (the endpoint weighs both candidates: endpoints_account.cpp).
local id
if ARGV[2] == 'username' then id = redis.call('HGET', KEYS[1], ARGV[3]) end
if ARGV[2] == 'email' then id = redis.call('HGET', KEYS[2], ARGV[3]) end
if not id then return {} end
return redis.call('HGETALL', ARGV[1] .. 'user:' .. id)
