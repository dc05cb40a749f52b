-- finish: record one attempt's result, once, and rank the participant.
-- KEYS[1] kb:{acct:quiz:comp}:res   hash "openid|n" -> result JSON
-- KEYS[2] kb:{acct:quiz:comp}:who   hash openid -> "town|group"
-- KEYS[3] kb:{acct:quiz:comp}:lb    ZSET overall leaderboard (best attempt)
-- KEYS[4] kb:{acct:quiz:comp}:cnt   hash of counters
-- KEYS[5] kb:{acct:quiz:comp}:pass  SET of openids at or above the pass mark
-- ARGV[1] openid, ARGV[2] attempt n, ARGV[3] result JSON,
-- ARGV[4] encoded score (see encodeScore), ARGV[5] "1" when passed,
-- ARGV[6] "1" when ranked (all questions answered, not quit),
-- ARGV[7] key prefix kb:{acct:quiz:comp}: the town and group boards
--         (prefix .. ':lb:t:' .. town, ':lb:g:' .. group) are built here and
--         carry the same hash tag.
-- Returns {stored result JSON, best score or "", overall rank, town rank}
-- (ranks 0 when unranked). A second call for the same attempt changes
-- nothing and returns the first call's result.
local field = ARGV[1] .. '|' .. ARGV[2]
local fresh = redis.call('HSETNX', KEYS[1], field, ARGV[3]) == 1
local w = redis.call('HGET', KEYS[2], ARGV[1]) or '-|-'
local sep = string.find(w, '|', 1, true)
local town, group = string.sub(w, 1, sep - 1), string.sub(w, sep + 1)
local tboard = ARGV[7] .. ':lb:t:' .. town
if fresh and ARGV[6] == '1' then
  if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
    redis.call('HINCRBY', KEYS[4], 'c', 1)
    redis.call('HINCRBY', KEYS[4], 'c:t:' .. town, 1)
    redis.call('HINCRBY', KEYS[4], 'c:g:' .. group, 1)
  end
  redis.call('ZADD', KEYS[3], 'GT', ARGV[4], ARGV[1])
  redis.call('ZADD', tboard, 'GT', ARGV[4], ARGV[1])
  redis.call('ZADD', ARGV[7] .. ':lb:g:' .. group, 'GT', ARGV[4], ARGV[1])
  if ARGV[5] == '1' and redis.call('SADD', KEYS[5], ARGV[1]) == 1 then
    redis.call('HINCRBY', KEYS[4], 'ok', 1)
    redis.call('HINCRBY', KEYS[4], 'ok:t:' .. town, 1)
    redis.call('HINCRBY', KEYS[4], 'ok:g:' .. group, 1)
  end
end
local stored = redis.call('HGET', KEYS[1], field)
local best = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not best then return {stored, '', 0, 0} end
local all = redis.call('ZCOUNT', KEYS[3], '(' .. best, '+inf') + 1
local local_ = redis.call('ZCOUNT', tboard, '(' .. best, '+inf') + 1
return {stored, best, all, local_}
