-- spend: count one message a subscriber has been sent against WeChat's
-- limits, in the packed profile (see codec.go for the byte layout).
-- KEYS[1] kb:{acct:shard}:o:<bucket>  openid -> packed profile
-- ARGV[1] openid
-- ARGV[2] "msg" (48-hour window), "event" (1-minute window) or "mass"
-- ARGV[3] for "mass": the current month number (months since 2000-01)
-- Returns the new count, or -1 when the subscriber is gone.
local v = redis.call('HGET', KEYS[1], ARGV[1])
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
end
redis.call('HSET', KEYS[1], ARGV[1], v)
return n
