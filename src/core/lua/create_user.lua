-- KEYS: next_id, by_username, by_email.
-- ARGV: prefix, folded username, folded email ('' = none), then field/value pairs.
-- Returns the new id, or -1 (username taken), -2 (email taken).  An index
-- entry whose user is gone (deleted by hand) does not count: it is replaced.
-- Used by scripts/restauth-user create.
local function taken(index, key)
  local id = redis.call('HGET', index, key)
  return id and redis.call('EXISTS', ARGV[1] .. 'user:' .. id) == 1
end
if taken(KEYS[2], ARGV[2]) then return -1 end
if ARGV[3] ~= '' and taken(KEYS[3], ARGV[3]) then return -2 end
local id = redis.call('INCR', KEYS[1])
while redis.call('EXISTS', ARGV[1] .. 'user:' .. id) == 1 do id = redis.call('INCR', KEYS[1]) end
local key = ARGV[1] .. 'user:' .. id
redis.call('HSET', key, 'id', id, unpack(ARGV, 4))
redis.call('HSET', KEYS[2], ARGV[2], id)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[3], id) end
return id
