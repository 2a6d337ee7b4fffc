-- wrk script: POST /auth/login/ with JSON credentials, the same request on
-- every connection (wrk builds it once).
--   wrk ... -s bench/login.lua URL -- USERNAME PASSWORD
function init(args)
  local user, pass = args[1], args[2]
  if not user or not pass then error("usage: -- USERNAME PASSWORD") end
  wrk.method = "POST"
  wrk.path = "/auth/login/"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = string.format('{"username": "%s", "password": "%s"}', user, pass)
end
