-- wrk script: wait DELAY_MS after each answer before the next request on
-- that connection, so -cN gives at most N * 1000 / DELAY_MS requests/s: a
-- load that leaves the CPUs mostly free.  wrk's latency clock starts when
-- the request is written, so the pause is not counted.
--   wrk ... -s bench/paced.lua URL -- DELAY_MS
local ms = 2

function init(args)
  ms = tonumber(args[1]) or ms
end

function delay()
  return ms
end
