-- restauth-user delete (after cli_common.lua).
-- ARGV: prefix, id, username, email, ukey, ekey  ->  1 | 0 (gone) | -1 (changed)
local id = ARGV[2]
if redis.call('EXISTS', user_key(id)) == 0 then return 0 end
if not unchanged(id, ARGV[3], ARGV[4]) then return -1 end
remove_user(id, ARGV[5], ARGV[6])
return 1
