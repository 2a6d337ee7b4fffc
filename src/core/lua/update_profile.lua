-- KEYS: user, by_username.  ARGV: id, new folded username ('' = unchanged),
-- the username as the caller read it, its folded form, then field/value
-- pairs.
-- Returns 1, 0 (user gone), -1 (username taken) or -2 (renamed meanwhile:
-- the name the caller read is no longer the user's; nothing was written,
-- read the user again and retry).  The current name is read here, so a stale
-- copy never leaves the old name's index entry behind (concurrent renames).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] ~= '' then
  if redis.call('HGET', KEYS[1], 'username') ~= ARGV[3] then return -2 end
  local owner = redis.call('HGET', KEYS[2], ARGV[2])
  if owner and owner ~= ARGV[1] then return -1 end
  if ARGV[4] ~= ARGV[2] and redis.call('HGET', KEYS[2], ARGV[4]) == ARGV[1] then
    redis.call('HDEL', KEYS[2], ARGV[4])
  end
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
end
if #ARGV > 4 then redis.call('HSET', KEYS[1], unpack(ARGV, 5)) end
return 1
