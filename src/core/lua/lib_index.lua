-- Library, not a script: lua_scripts.cpp puts this file in front of every
-- script that touches a user's session or opaque-key index (and in front of
-- lib_revoke.lua), scripts/restauth-user in front of its own.
--
-- A user's sessions (P user:<id>:sessions) and opaque keys (P user:<id>:tokens)
-- are sorted sets: member the session id or the key's digest, score its
-- creation time (unix seconds); the records are P session:<sid> and
-- P token:<digest>.  No script walks an index whole: a login keeps it at
-- most `cap` members (restauth_max_sessions_per_user) by evicting the
-- oldest, a listing reads at most `cap`, a revocation deletes at most
-- REVOKE_STEP records per run (lib_revoke.lua), and what is larger than
-- that (a plain set written before the cap, or an index filled under a
-- larger cap) is worked off a step per run.
local INDEX_STEP = 100

-- An older version's plain set under `idx` is renamed aside (O(1)) to
-- idx:unsorted, so that `idx` can be the sorted set; returns that name.
local function index_unsorted(idx)
  local old = idx .. ':unsorted'
  if redis.call('TYPE', idx).ok == 'set' then
    if redis.call('EXISTS', old) == 1 then
      -- an older instance wrote again after the rename (instances upgraded
      -- one by one): only what it added meanwhile, merged at once
      redis.call('SUNIONSTORE', old, old, idx)
      redis.call('DEL', idx)
    else
      redis.call('RENAME', idx, old)
    end
  end
  return old
end

-- Moves up to INDEX_STEP members of idx:unsorted into the sorted set, scored
-- by their record's `created` (0, the oldest, when it has none); members
-- whose record is gone are dropped.  A sorted set without an expiry takes
-- the old set's (the refresh lifetime, for sessions).
local function index_sort_some(idx, rec)
  local old = index_unsorted(idx)
  local ttl = redis.call('PTTL', old)
  for _, m in ipairs(redis.call('SPOP', old, INDEX_STEP)) do
    local created = redis.call('HGET', rec .. m, 'created')
    if created then
      redis.call('ZADD', idx, tonumber(created) or 0, m)
    elseif redis.call('EXISTS', rec .. m) == 1 then
      redis.call('ZADD', idx, 0, m)
    end
  end
  if ttl > 0 and redis.call('PTTL', idx) == -1 then redis.call('PEXPIRE', idx, ttl) end
end

-- Removes member m from the index, sorted or not.
local function index_remove(idx, m)
  local old = index_unsorted(idx)
  redis.call('ZREM', idx, m)
  redis.call('SREM', old, m)
end

-- Adds member m (record rec .. m) created at `created`, then evicts the
-- oldest members other than m while the index holds more than `cap`, at
-- most 2 * INDEX_STEP per run: the record of each is deleted, so an evicted
-- session's refresh token, or an evicted key, stops working at once.
-- Returns how many were evicted.
local function index_add(idx, rec, m, created, cap)
  index_sort_some(idx, rec)
  redis.call('ZADD', idx, created, m)
  local excess = redis.call('ZCARD', idx) - cap
  if excess <= 0 then return 0 end
  if excess > 2 * INDEX_STEP then excess = 2 * INDEX_STEP end
  local n = 0
  -- one more than needed: m itself may be among the oldest (same second)
  for _, o in ipairs(redis.call('ZRANGE', idx, 0, excess)) do
    if n < excess and o ~= m then
      redis.call('DEL', rec .. o)
      redis.call('ZREM', idx, o)
      n = n + 1
    end
  end
  return n
end
