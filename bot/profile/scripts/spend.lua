-- spend: count one customer-service message a subscriber has been sent
-- against its window, in the packed profile (see codec.go for the byte
-- layout). The monthly mass budget is kept in bitmaps, not here
-- (masslevels.lua).
-- KEYS[1] kb:{acct:shard}:ob  openid bucket state (the script names the
--         openid's bucket, kb:{acct:shard}:o:<n>, from it and ARGV[6])
-- ARGV[1] openid
-- ARGV[2] "msg" (48-hour window) or "event" (1-minute window)
-- ARGV[3] the topic codes (one byte each) of the item sent, or ""; the
--         subscriber's learned weight of each (not 0 = opted out, not 200 =
--         chosen) drops by ARGV[4], a soft negative that a click on the
--         item (+40) more than undoes; it stays above 0 and off 200.
-- ARGV[4] the drop
-- ARGV[5] shard tag, kb:{acct:shard}
-- ARGV[6] the openid's bucket hash (FNV-1a, 32 bits)
-- Returns the new count, or -1 when the subscriber is gone.
local okey = bucket_key(ARGV[5], tonumber(ARGV[6]), bucket_state(ARGV[5]))
local v = redis.call('HGET', okey, ARGV[1])
if not v then return -1 end
local function set(s, pos, byte)
  return string.sub(s, 1, pos - 1) .. string.char(byte) .. string.sub(s, pos + 1)
end
local n
if ARGV[2] == 'msg' then
  n = math.min(string.byte(v, 31) + 1, 255)
  v = set(v, 31, n)
elseif ARGV[2] == 'event' then
  n = math.min(string.byte(v, 36) + 1, 255)
  v = set(v, 36, n)
else
  return redis.error_reply('spend: unknown kind ' .. tostring(ARGV[2]))
end
local seen, drop = ARGV[3] or '', tonumber(ARGV[4] or '0')
if seen ~= '' and drop > 0 then
  local n_int = string.byte(v, 40)
  for i = 0, n_int - 1 do
    local pos = 41 + 2 * i
    local code, w = string.byte(v, pos, pos + 1)
    if w ~= 0 and w ~= 200 and string.find(seen, string.char(code), 1, true) then
      local nw = w - drop
      if w > 200 and nw <= 200 then nw = 201 end
      if nw < 1 then nw = 1 end
      v = set(v, pos + 1, nw)
    end
  end
end
redis.call('HSET', okey, ARGV[1], v)
return n
