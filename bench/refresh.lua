-- wrk script: POST /auth/token/refresh/ along token chains.
--   wrk -tT ... -s bench/refresh.lua URL -- TOKENS_FILE T
-- TOKENS_FILE holds one refresh token per line, each from its own login
-- (session).  Thread k takes lines k, k+T, k+2T, ... into a queue.  Every
-- refresh rotates the session, so the token just used is dead: request()
-- takes a token from the queue and response() puts the new one from the
-- answer back.  wrk keeps one request in flight per connection, so a thread
-- needs at least as many tokens as it has connections; with more, each
-- chain simply waits its turn.  A failed refresh loses its chain (counted in
-- wrk's "Non-2xx" line); an empty queue sends a dummy token, which fails too.
local queue, head, tail = {}, 1, 0
local threads, next_id = {}, 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  if not file or not nthreads then error("usage: -- TOKENS_FILE THREADS") end
  local i = 0
  for line in io.lines(file) do
    if line ~= "" then
      if i % nthreads == id then
        tail = tail + 1
        queue[tail] = line
      end
      i = i + 1
    end
  end
  chains = tail
  lost = 0
  wrk.method = "POST"
  wrk.path = "/auth/token/refresh/"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local token = "empty-queue"
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  end
  return wrk.format(nil, nil, nil, '{"refresh": "' .. token .. '"}')
end

function response(status, headers, body)
  local token = status == 200 and body:match('"refresh": *"([^"]+)"')
  if token then
    tail = tail + 1
    queue[tail] = token
  else
    lost = lost + 1
  end
end

function done(summary, latency, requests)
  local chains, lost = 0, 0
  for _, t in ipairs(threads) do
    chains = chains + t:get("chains")
    lost = lost + t:get("lost")
  end
  io.write(string.format("refresh chains: %d, lost: %d\n", chains, lost))
end
