-- restauth-user import-django, one user (after cli_common.lua).
-- ARGV: prefix, id, ukey, ekey, replace, nvictims,
--       nvictims x (id, username, email, ukey, ekey), field, value, ...
-- -> {1} | {0, reason...} (conflict) | {-1} (victims changed: re-read, retry)
local id, ukey, ekey, replace = ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1'
local nvictims = tonumber(ARGV[6])
local victims = {}
for i = 0, nvictims - 1 do
  local b = 7 + i * 5
  victims[ARGV[b]] = {ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]}
end
local conflicts, reasons = {}, {}
local function note(owner, reason)
  if owner then conflicts[owner] = true; reasons[#reasons + 1] = reason end
end
if redis.call('EXISTS', user_key(id)) == 1 then note(id, 'id') end
local uo = live_owner(BY_USERNAME, ukey)
if uo ~= id then note(uo, 'username') end
local eo = live_owner(BY_EMAIL, ekey)
if eo ~= id then note(eo, 'email') end
if #reasons > 0 and not replace then return {0, unpack(reasons)} end
-- every user in the way must be one the caller read, still unchanged
for owner in pairs(conflicts) do
  local v = victims[owner]
  if not v or not unchanged(owner, v[1], v[2]) then return {-1} end
end
for owner in pairs(conflicts) do
  remove_user(owner, victims[owner][3], victims[owner][4])
end
redis.call('HSET', user_key(id), unpack(ARGV, 7 + nvictims * 5))
redis.call('HSET', BY_USERNAME, ukey, id)
if ekey ~= '' then redis.call('HSET', BY_EMAIL, ekey, id) end
local nkey = P .. 'users:next_id'
if tonumber(redis.call('GET', nkey) or '0') < tonumber(id) then
  redis.call('SET', nkey, id)
end
return {1}
