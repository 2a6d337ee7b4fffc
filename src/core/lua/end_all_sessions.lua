-- KEYS: user's session index, user's opaque-token index.  ARGV: prefix,
-- session id or key digest to keep ('' or absent = none).
-- Revokes the user's sessions and opaque keys, at most a step of them per
-- run; returns how many are left (run again until 0).
-- (lib_index.lua and lib_revoke.lua come first: revoke_credentials.)
return revoke_credentials(ARGV[1], KEYS[1], KEYS[2], ARGV[2] or '')
