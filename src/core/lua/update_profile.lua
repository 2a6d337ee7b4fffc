-- KEYS: user, by_username.  ARGV: id, new folded username ('' = unchanged),
-- old folded username, then field/value pairs.
-- Returns 1, 0 (user gone) or -1 (username taken).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] ~= '' then
  local owner = redis.call('HGET', KEYS[2], ARGV[2])
  if owner and owner ~= ARGV[1] then return -1 end
  if ARGV[3] ~= ARGV[2] and redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[1] then
    redis.call('HDEL', KEYS[2], ARGV[3])
  end
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
end
if #ARGV > 3 then redis.call('HSET', KEYS[1], unpack(ARGV, 4)) end
return 1
