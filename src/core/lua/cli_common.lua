-- Shared by the cli_*.lua scripts (scripts/restauth-user prepends
-- lib_index.lua, lib_revoke.lua and this file; the module does not use
-- them).  ARGV[1] is
-- always the key prefix; key names are built from it as the core's Keys
-- class builds them.
local P = ARGV[1]
local BY_USERNAME = P .. 'users:by_username'
local BY_EMAIL = P .. 'users:by_email'
local function user_key(id) return P .. 'user:' .. id end

-- every session and opaque key of user `id` (lib_revoke.lua), a step of
-- them: scripts/restauth-user runs end_all_sessions.lua afterwards until
-- none is left
local function revoke_all(id)
  revoke_credentials(P, user_key(id) .. ':sessions', user_key(id) .. ':tokens', '')
end

-- id that owns index entry `key`, ignoring entries whose user is gone
local function live_owner(index, key)
  if key == '' then return nil end
  local id = redis.call('HGET', index, key)
  if id and redis.call('EXISTS', user_key(id)) == 1 then return id end
  return nil
end

-- true when user `id` still has the username and email the caller read
local function unchanged(id, username, email)
  local cur = redis.call('HMGET', user_key(id), 'username', 'email')
  return (cur[1] or '') == username and (cur[2] or '') == email
end

-- ukey/ekey: the caller's lower() of the user's username and email
local function remove_user(id, ukey, ekey)
  if ukey ~= '' and redis.call('HGET', BY_USERNAME, ukey) == id then
    redis.call('HDEL', BY_USERNAME, ukey)
  end
  if ekey ~= '' and redis.call('HGET', BY_EMAIL, ekey) == id then
    redis.call('HDEL', BY_EMAIL, ekey)
  end
  redis.call('DEL', user_key(id))
  revoke_all(id)
end
