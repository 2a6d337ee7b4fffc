-- The failed-login limits of one login attempt, counted before its password
-- is hashed, so that a burst of concurrent attempts, or a client that goes
-- away during its hash, cannot get more verdicts than the limits allow.
-- KEYS: the login_ip counter, the login_account counter (rl:<kind>:<digest>).
--
-- ARGV[1] = 'take'; ARGV[2..5]: ip limit, ip window, account limit, account
-- window (seconds; a limit of 0 is off: that counter is not touched).
--   The address first: at its limit, {1, retry_after} and nothing counted.
--   Else it counts the attempt against the address, then the account: at
--   its limit, {2, ip_end} (the attempt still counts against the address);
--   else {0, ip_end, account_end}, counted against both.  An *_end is the
--   instant (ms, Redis's clock) the counter's window ends, 0 when off: the
--   caller hands it back to 'release'.
--
-- ARGV[1] = 'release'; ARGV[2], ARGV[3]: the ip_end and account_end 'take'
-- returned.  Undoes that attempt's own count, in the window it was counted
-- in: a counter whose window has since ended (gone, or a newer window with
-- another end) is left alone, a counter is never taken below zero, and one
-- back at zero is deleted.  Returns 1.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The end of the key's window (ms), 0 when it has none.
local function window_end(key)
  local pttl = redis.call('PTTL', key)
  if pttl < 0 then return 0 end
  return now_ms() + pttl
end

local function count(key, window)
  redis.call('INCR', key)
  -- A new counter starts its window; one released back to 0 and counted
  -- again keeps the window it had (a released counter is deleted at 0,
  -- so that is only a counter left without a TTL by something else).
  if redis.call('PTTL', key) < 0 then redis.call('EXPIRE', key, window) end
  return window_end(key)
end

local function full(key, limit)
  return tonumber(redis.call('GET', key) or '0') >= limit
end

if ARGV[1] == 'take' then
  local ip_limit, account_limit = tonumber(ARGV[2]), tonumber(ARGV[4])
  if ip_limit > 0 and full(KEYS[1], ip_limit) then
    local ttl = redis.call('TTL', KEYS[1])
    if ttl < 1 then ttl = 1 end
    return {1, ttl}
  end
  local ip_end = 0
  if ip_limit > 0 then ip_end = count(KEYS[1], ARGV[3]) end
  if account_limit > 0 and full(KEYS[2], account_limit) then return {2, ip_end} end
  local account_end = 0
  if account_limit > 0 then account_end = count(KEYS[2], ARGV[5]) end
  return {0, ip_end, account_end}
end

if ARGV[1] == 'release' then
  for i = 1, 2 do
    local taken = tonumber(ARGV[i + 1])
    -- Windows last at least a second: a later window ends at least that
    -- much later than the one the attempt was counted in.
    if taken > 0 and math.abs(window_end(KEYS[i]) - taken) < 500 then
      local n = tonumber(redis.call('GET', KEYS[i]) or '0')
      if n <= 1 then redis.call('DEL', KEYS[i]) else redis.call('DECR', KEYS[i]) end
    end
  end
  return 1
end

return redis.error_reply('login_attempt: unknown mode')
