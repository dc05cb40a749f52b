-- Cancel a subscriber's sign-up. Freeing a confirmed place promotes the
-- first wait-listed subscriber (keeping their sign-up number). A rerun of
-- the same chat operation returns the stored result.
--
-- KEYS[1] confirmed ZSET, KEYS[2] waitlist ZSET, KEYS[3] op result key
-- ARGV[1] openid, ARGV[2] capacity (<= 0: unlimited), ARGV[3] op TTL (ms)
-- Returns {status, promoted}: status 0 was not signed up, 1 cancelled a
-- confirmed place, 2 left the waiting list; promoted is the openid moved
-- from the waiting list to confirmed, or "".
local done = redis.call('GET', KEYS[3])
if done then
  local s, who = string.match(done, '^(%d+):(.*)$')
  return {tonumber(s), who}
end
local status, promoted = 0, ''
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  status = 1
  local cap = tonumber(ARGV[2])
  if cap > 0 and redis.call('ZCARD', KEYS[1]) < cap then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    if #first == 2 then
      redis.call('ZREM', KEYS[2], first[1])
      redis.call('ZADD', KEYS[1], first[2], first[1])
      promoted = first[1]
    end
  end
elseif redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  status = 2
end
redis.call('SET', KEYS[3], status .. ':' .. promoted, 'PX', ARGV[3])
return {status, promoted}
