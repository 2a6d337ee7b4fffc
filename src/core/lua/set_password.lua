-- KEYS: user, user's session set, user's opaque-token set.  ARGV: prefix,
-- expected current hash ('' = any), new hash, session id or token digest to
-- keep ('' = none), revoke others (0|1).
-- Returns 1, 0 (user gone) or -1 (password changed meanwhile).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'password') ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], 'password', ARGV[3])
if ARGV[5] == '1' then
  for _, sid in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if sid ~= ARGV[4] then
      redis.call('DEL', ARGV[1] .. 'session:' .. sid)
      redis.call('SREM', KEYS[2], sid)
    end
  end
  for _, digest in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if digest ~= ARGV[4] then
      redis.call('DEL', ARGV[1] .. 'token:' .. digest)
      redis.call('SREM', KEYS[3], digest)
    end
  end
end
return 1
