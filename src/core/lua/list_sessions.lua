-- KEYS: user's session index.  ARGV: prefix, cap
-- (restauth_max_sessions_per_user).  Returns the newest `cap` sessions,
-- oldest first, as session hashes (flat arrays with 'id' first); prunes
-- members whose session expired.  (lib_index.lua comes first.)
local rec = ARGV[1] .. 'session:'
index_sort_some(KEYS[1], rec)
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], -tonumber(ARGV[2]), -1)) do
  local h = redis.call('HGETALL', rec .. sid)
  if #h == 0 then
    redis.call('ZREM', KEYS[1], sid)
  else
    table.insert(h, 1, sid)
    table.insert(h, 1, 'id')
    out[#out + 1] = h
  end
end
return out
