-- start: begin attempt n+1 of one participant, idempotently per message.
-- KEYS[1] kb:{acct:quiz:comp}:starts  hash openid -> "n|msgkey|startedms"
-- KEYS[2] kb:{acct:quiz:comp}:who     hash openid -> "town|group" (first seen)
-- KEYS[3] kb:{acct:quiz:comp}:cnt     hash of counters
-- KEYS[4] kb:{acct:quiz:comp}:res     hash "openid|n" -> result JSON
-- KEYS[5] kb:{acct:quiz:comp}:seen    hash openid -> last attempt answered
-- ARGV[1] openid, ARGV[2] message key, ARGV[3] attempts allowed,
-- ARGV[4] town ("-" when unknown), ARGV[5] group ("-"), ARGV[6] now (unix ms),
-- ARGV[7] grace in ms: another message that starts within it, while the
--         last attempt is unfinished, joins that attempt (two taps of 答题
--         racing each other use one attempt). After it, a new message
--         still joins the last attempt while that was never answered (the
--         reply with its first question may never have been delivered).
-- Returns {1, n} (attempt n is this message's) or {0, n} (n used, none left).
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local n, last, at = 0, '', 0
if cur then
  local a = string.find(cur, '|', 1, true)
  local b = string.find(cur, '|', a + 1, true)
  n = tonumber(string.sub(cur, 1, a - 1))
  last = string.sub(cur, a + 1, b - 1)
  at = tonumber(string.sub(cur, b + 1))
end
if n > 0 and last == ARGV[2] then return {1, n} end
if n > 0 and redis.call('HEXISTS', KEYS[4], ARGV[1] .. '|' .. n) == 0 and
   (tonumber(ARGV[6]) - at < tonumber(ARGV[7]) or
    tonumber(redis.call('HGET', KEYS[5], ARGV[1]) or '0') ~= n) then
  return {1, n}
end
if n >= tonumber(ARGV[3]) then return {0, n} end
n = n + 1
redis.call('HSET', KEYS[1], ARGV[1], n .. '|' .. ARGV[2] .. '|' .. ARGV[6])
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[4] .. '|' .. ARGV[5]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'p', 1)
  redis.call('HINCRBY', KEYS[3], 'p:t:' .. ARGV[4], 1)
  redis.call('HINCRBY', KEYS[3], 'p:g:' .. ARGV[5], 1)
end
return {1, n}
