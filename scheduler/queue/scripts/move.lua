-- move: move a partition's due delayed jobs into its stream, atomically.
-- KEYS[1] kb:{q:name:lane:p}:delayed  ZSET nonce..job -> due time (ms)
-- KEYS[2] kb:{q:name:lane:p}:stream   ready jobs
-- ARGV[1] now, in ms
-- ARGV[2] most jobs to move in this call
-- Returns how many jobs were moved. A member is a 16-character nonce (so
-- that a job delayed twice is kept twice) followed by the encoded job.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', string.sub(m, 17))
  redis.call('ZREM', KEYS[1], m)
end
return #due
