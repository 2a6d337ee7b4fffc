-- One step per limit: a fixed window counted with INCR and an expiry.
-- KEYS: counter.  ARGV: limit, window, add (0|1).
-- Returns {0, 0} when allowed (counting when add is 1), {1, ttl} when the
-- limit is reached.
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 1 then ttl = 1 end
  return {1, ttl}
end
if ARGV[3] == '1' then
  if redis.call('INCR', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
end
return {0, 0}
