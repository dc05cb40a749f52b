-- throttle: reserve one attempt (a login, a bearer token) against several
-- counters at once, or refuse it while any of them is backing off.
-- KEYS[i]   a counter: hash {n = attempts counted, last = ms of the last}
-- ARGV[1]   now, in milliseconds
-- ARGV[2]   counter lifetime in milliseconds (renewed by each attempt)
-- ARGV[3]   cap of a back-off delay, in milliseconds
-- ARGV[3+i] for KEYS[i]: "free,base": attempts allowed without delay, and
--           the first delay in milliseconds; each further attempt doubles it
-- Returns 0 (the attempt is counted on every key) or the milliseconds to
-- wait (nothing counted).
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local free, base = string.match(ARGV[3 + i], '^(%d+),(%d+)$')
  free, base = tonumber(free), tonumber(base)
  local v = redis.call('HMGET', key, 'n', 'last')
  local n, last = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  if n >= free then
    local delay = math.min(base * 2 ^ math.min(n - free, 40), tonumber(ARGV[3]))
    if now < last + delay then wait = math.max(wait, last + delay - now) end
  end
end
if wait > 0 then return math.ceil(wait) end
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 'last', now)
  redis.call('PEXPIRE', key, ARGV[2])
end
return 0
