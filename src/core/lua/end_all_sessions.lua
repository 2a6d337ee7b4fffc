-- KEYS: user's session set, user's opaque-token set.  ARGV: prefix.
-- Revokes every session and opaque key of the user; returns how many.
-- (lib_revoke.lua comes first: revoke_credentials.)
return revoke_credentials(ARGV[1], KEYS[1], KEYS[2], '')
