-- Library, not a script: lua_scripts.cpp puts this file in front of
-- set_password, reset_password and end_all_sessions, and scripts/restauth-user
-- in front of its cli_*.lua scripts, so every path that ends a user's
-- sessions ends the user's opaque-mode keys too, by this one function.
--
-- revoke_credentials(prefix, sessions, tokens, keep): deletes the session of
-- every id in the set `sessions` (P user:<id>:sessions) and the key record of
-- every digest in the set `tokens` (P user:<id>:tokens), except `keep` (the
-- caller's own session id or key digest; '' = none), and removes them from
-- their sets.  Returns how many session and key records it deleted.
local function revoke_credentials(prefix, sessions, tokens, keep)
  local n = 0
  for _, sid in ipairs(redis.call('SMEMBERS', sessions)) do
    if sid ~= keep then
      n = n + redis.call('DEL', prefix .. 'session:' .. sid)
      redis.call('SREM', sessions, sid)
    end
  end
  for _, digest in ipairs(redis.call('SMEMBERS', tokens)) do
    if digest ~= keep then
      n = n + redis.call('DEL', prefix .. 'token:' .. digest)
      redis.call('SREM', tokens, digest)
    end
  end
  return n
end
