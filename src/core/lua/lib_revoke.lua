-- Library, not a script: lua_scripts.cpp puts this file (after
-- lib_index.lua) in front of set_password, reset_password and
-- end_all_sessions, and scripts/restauth-user in front of its cli_*.lua
-- scripts, so every path that ends a user's sessions ends the user's
-- opaque-mode keys too, by this one function.
--
-- revoke_credentials(prefix, sessions, tokens, keep): deletes the session of
-- every id in the index `sessions` (P user:<id>:sessions) and the key record
-- of every digest in the index `tokens` (P user:<id>:tokens), except `keep`
-- (the caller's own session id or key digest; '' = none), and removes them
-- from their indexes, oldest first, at most REVOKE_STEP records per run.
-- Returns how many are left: 0 when done, else the caller runs
-- end_all_sessions.lua (with the same `keep`) until it returns 0.  Indexes
-- are capped (lib_index.lua), so only one larger than the cap (written
-- before it, or under a larger one) takes more than one run.
local REVOKE_STEP = 1000

local function revoke_index(idx, rec, keep, budget)
  local old = index_unsorted(idx)
  local done = 0
  -- one more than the budget: `keep` may be among them
  for _, m in ipairs(redis.call('ZRANGE', idx, 0, budget)) do
    if done < budget and m ~= keep then
      redis.call('DEL', rec .. m)
      redis.call('ZREM', idx, m)
      done = done + 1
    end
  end
  if done < budget then
    for _, m in ipairs(redis.call('SRANDMEMBER', old, budget - done + 1)) do
      if done < budget and m ~= keep then
        redis.call('DEL', rec .. m)
        redis.call('SREM', old, m)
        done = done + 1
      end
    end
  end
  local left = redis.call('ZCARD', idx) + redis.call('SCARD', old)
  if keep ~= '' then
    if redis.call('ZSCORE', idx, keep) then left = left - 1 end
    left = left - redis.call('SISMEMBER', old, keep)
  end
  return done, left
end

local function revoke_credentials(prefix, sessions, tokens, keep)
  local done, left = revoke_index(sessions, prefix .. 'session:', keep, REVOKE_STEP)
  local _, left_keys = revoke_index(tokens, prefix .. 'token:', keep, REVOKE_STEP - done)
  return left + left_keys
end
