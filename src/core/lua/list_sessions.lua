-- KEYS: user's session set.  ARGV: prefix.  Returns a list of session
-- hashes (flat arrays with 'id' first); prunes expired members.
local out = {}
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HGETALL', ARGV[1] .. 'session:' .. sid)
  if #h == 0 then
    redis.call('SREM', KEYS[1], sid)
  else
    table.insert(h, 1, sid)
    table.insert(h, 1, 'id')
    out[#out + 1] = h
  end
end
return out
