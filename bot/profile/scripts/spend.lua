-- spend: count one message a subscriber has been sent against WeChat's
-- limits, in the packed profile (see codec.go for the byte layout).
-- KEYS[1] kb:{acct:shard}:ob  openid bucket state (the script names the
--         openid's bucket, kb:{acct:shard}:o:<n>, from it and ARGV[7])
-- ARGV[1] openid
-- ARGV[2] "msg" (48-hour window), "event" (1-minute window) or "mass"
-- ARGV[3] for "mass": the current month number (months since 2000-01)
-- ARGV[4] the topic codes (one byte each) of the item sent, or ""; the
--         subscriber's learned weight of each (not 0 = opted out, not 200 =
--         chosen) drops by ARGV[5], a soft negative that a click on the
--         item (+40) more than undoes; it stays above 0 and off 200.
-- ARGV[5] the drop
-- ARGV[6] shard tag, kb:{acct:shard}
-- ARGV[7] the openid's bucket hash (FNV-1a, 32 bits)
-- KEYS[2] for "mass": the shard's mass-count field of that month
--         (MassCountKey): the new count is written there too, 4 bits at
--         the subscriber's local id, so the month's sends made can be
--         counted without loading every profile.
-- Returns the new count, or -1 when the subscriber is gone.
local okey = bucket_key(ARGV[6], tonumber(ARGV[7]), bucket_state(ARGV[6]))
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
  local month = tonumber(ARGV[3])
  local hi, lo = string.byte(v, 37, 38)
  if hi * 256 + lo ~= month then
    v = set(set(v, 37, math.floor(month / 256)), 38, month % 256)
    n = 1
  else
    n = math.min(string.byte(v, 39) + 1, 255)
  end
  v = set(v, 39, n)
  if KEYS[2] then
    local a, b, c, d = string.byte(v, 3, 6)
    local lid = ((a * 256 + b) * 256 + c) * 256 + d
    -- the nibble at lid: high half of byte lid/2 for an even lid (plain
    -- GETRANGE/SETRANGE and arithmetic: the embedded Redis has no BITFIELD)
    local off = math.floor(lid / 2)
    local b = string.byte(redis.call('GETRANGE', KEYS[2], off, off)) or 0
    local hi, lo = math.floor(b / 16), b % 16
    if lid % 2 == 0 then hi = math.min(n, 15) else lo = math.min(n, 15) end
    redis.call('SETRANGE', KEYS[2], off, string.char(hi * 16 + lo))
    redis.call('EXPIRE', KEYS[2], 6048000)
  end
end
local seen, drop = ARGV[4] or '', tonumber(ARGV[5] or '0')
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
