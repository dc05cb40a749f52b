-- Sign a subscriber up for an event: confirmed while places are left,
-- else wait-listed. Signing up again changes nothing and answers the same.
-- A rerun of the same chat operation (same op key) returns the stored result.
--
-- KEYS[1] confirmed ZSET, KEYS[2] waitlist ZSET, KEYS[3] sequence counter,
-- KEYS[4] op result key, KEYS[5] who hash
-- ARGV[1] openid, ARGV[2] capacity (<= 0: unlimited), ARGV[3] op TTL (ms),
-- ARGV[4] who value ("<group>|<town>")
-- Returns {status, position}: status 1 confirmed, 2 wait-listed; position
-- is the place on the waiting list (0 when confirmed).
local done = redis.call('GET', KEYS[4])
if done then
  local s, p = string.match(done, '^(%d+):(%d+)$')
  return {tonumber(s), tonumber(p)}
end
local status, pos = 1, 0
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  status = 1
elseif redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  status = 2
else
  local cap = tonumber(ARGV[2])
  local n = redis.call('INCR', KEYS[3])
  if cap <= 0 or redis.call('ZCARD', KEYS[1]) < cap then
    redis.call('ZADD', KEYS[1], n, ARGV[1])
    status = 1
  else
    redis.call('ZADD', KEYS[2], n, ARGV[1])
    status = 2
  end
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[4])
end
if status == 2 then
  pos = redis.call('ZRANK', KEYS[2], ARGV[1]) + 1
end
redis.call('SET', KEYS[4], status .. ':' .. pos, 'PX', ARGV[3])
return {status, pos}
