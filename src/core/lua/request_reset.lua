-- Password reset request.  KEYS: by_email.
-- ARGV: 1 prefix, 2 folded email, 3 token digest, 4 ttl, 5 mail stream,
-- 6 the stream's MAXLEN, 7 n = number of body parts, 8..7+n the body split
-- where the uid goes, then further mail field/value pairs ('to', 'body' and
-- 'uid' are added).
-- Only active users with a usable password get a token.  Returns the user
-- id when a mail was queued, else 0.

-- SHA-256 (hex) and base64url in Redis's Lua 5.1 with its "bit" library: the
-- reset script fingerprints a password hash it has just read and encodes the
-- user id for the link, all in the one atomic step.
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local lshift, rshift, ror, tobit = bit.lshift, bit.rshift, bit.ror, bit.tobit
local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local function sha256_hex(msg)
  local bits = #msg * 8
  msg = msg .. '\128' .. string.rep('\0', (55 - #msg) % 64) .. '\0\0\0\0' ..
        string.char(band(rshift(bits, 24), 255), band(rshift(bits, 16), 255),
                    band(rshift(bits, 8), 255), band(bits, 255))
  local H = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}
  local w = {}
  for i = 1, #msg, 64 do
    for j = 0, 15 do
      local b1, b2, b3, b4 = string.byte(msg, i + 4 * j, i + 4 * j + 3)
      w[j] = bor(lshift(b1, 24), lshift(b2, 16), lshift(b3, 8), b4)
    end
    for j = 16, 63 do
      local x, y = w[j - 15], w[j - 2]
      w[j] = tobit(w[j - 16] + bxor(ror(x, 7), ror(x, 18), rshift(x, 3)) + w[j - 7] +
                   bxor(ror(y, 17), ror(y, 19), rshift(y, 10)))
    end
    local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
    for j = 0, 63 do
      local t1 = tobit(h + bxor(ror(e, 6), ror(e, 11), ror(e, 25)) + bxor(band(e, f), band(bnot(e), g)) +
                       K[j + 1] + w[j])
      local t2 = tobit(bxor(ror(a, 2), ror(a, 13), ror(a, 22)) + bxor(band(a, b), band(a, c), band(b, c)))
      h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + t2)
    end
    H[1], H[2], H[3], H[4] = tobit(H[1] + a), tobit(H[2] + b), tobit(H[3] + c), tobit(H[4] + d)
    H[5], H[6], H[7], H[8] = tobit(H[5] + e), tobit(H[6] + f), tobit(H[7] + g), tobit(H[8] + h)
  end
  local out = {}
  for i = 1, 8 do out[i] = bit.tohex(H[i], 8) end
  return table.concat(out)
end
local function b64url(s)
  local alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  local out = {}
  for i = 1, #s, 3 do
    local b1, b2, b3 = string.byte(s, i, i + 2)
    local n = b1 * 65536 + (b2 or 0) * 256 + (b3 or 0)
    local chars = b3 and 4 or (b2 and 3 or 2)
    for j = 1, chars do
      local v = math.floor(n / 2 ^ (18 - 6 * (j - 1))) % 64
      out[#out + 1] = string.sub(alphabet, v + 1, v + 1)
    end
  end
  return table.concat(out)
end

local id = redis.call('HGET', KEYS[1], ARGV[2])
if not id then return 0 end
local u = redis.call('HMGET', ARGV[1] .. 'user:' .. id, 'email', 'password', 'is_active')
if not u[1] or u[1] == '' or u[3] ~= '1' or not u[2] or u[2] == '' or string.sub(u[2], 1, 1) == '!' then
  return 0
end
local uid = b64url(id)
local n = tonumber(ARGV[7])
local body = table.concat({unpack(ARGV, 8, 7 + n)}, uid)
local rkey = ARGV[1] .. 'reset:' .. ARGV[3]
redis.call('HSET', rkey, 'user_id', id, 'pwfp', sha256_hex(u[2]))
redis.call('EXPIRE', rkey, ARGV[4])
redis.call('XADD', ARGV[5], 'MAXLEN', '~', ARGV[6], '*', 'to', u[1], 'body', body, 'uid', uid,
           unpack(ARGV, 8 + n))
return tonumber(id)
