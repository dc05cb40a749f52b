-- retry: schedule a failed job's next attempt and acknowledge the failed
-- delivery, atomically.
-- KEYS[1] kb:{q:name:lane:p}:stream   the stream the job was read from
-- KEYS[2] kb:{q:name:lane:p}:delayed  the partition's delayed jobs
-- ARGV[1] consumer group
-- ARGV[2] stream entry id of the failed delivery
-- ARGV[3] due time of the next attempt (ms)
-- ARGV[4] ZSET member: nonce (16 characters) .. job with Attempt raised
-- Returns 1, or 0 when the entry was no longer pending (another worker
-- acknowledged it after reclaiming it): then nothing is scheduled.
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
