-- bits: set or clear many bits of several segment bitmaps of one shard, in
-- one atomic call (e.g. a delivery marked sent, its channel, the item
-- received and today's push, together).
-- KEYS[1] kb:{acct:shard}:seq  (routes the call to the shard's slot)
-- ARGV[1] shard tag, kb:{acct:shard}
-- ARGV[2] number G of groups, then per group:
--         index name, bit (0|1), lifetime in seconds (0 = keep), count N,
--         then N local ids.
-- Returns the previous bits of the first group's ids, in order (so the
-- first group can claim: a 0 means this call set it first).
local tag = ARGV[1]
local g = tonumber(ARGV[2])
local p = 3
local first = {}
for gi = 1, g do
  local key = tag .. ':ix:' .. ARGV[p]
  local bit = tonumber(ARGV[p + 1])
  local ttl = tonumber(ARGV[p + 2])
  local n = tonumber(ARGV[p + 3])
  p = p + 4
  local touched = false
  for i = 0, n - 1 do
    local old = 0
    if bit == 1 or redis.call('EXISTS', key) == 1 then
      old = redis.call('SETBIT', key, ARGV[p + i], bit)
      touched = true
    end
    if gi == 1 then first[#first + 1] = old end
  end
  if touched and ttl > 0 then redis.call('EXPIRE', key, ttl) end
  p = p + n
end
return first
