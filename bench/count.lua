-- wrk script: stop each thread after it has sent LIMIT requests (wrk has no
-- -n).  wrk itself still waits for its -d duration, so bench/run watches
-- nginx's stub_status and interrupts wrk once the requests have arrived.
--   wrk ... -s bench/count.lua URL -- LIMIT_PER_THREAD
local limit, n, req = 0, 0, nil

function init(args)
  limit = tonumber(args[1])
  if not limit then error("usage: -- LIMIT_PER_THREAD") end
  req = wrk.format()
end

function request()
  n = n + 1
  if n >= limit then wrk.thread:stop() end
  return req
end
