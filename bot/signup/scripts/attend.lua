-- Record a check-in at the venue, once per subscriber.
--
-- KEYS[1] attended ZSET, KEYS[2] who hash
-- ARGV[1] openid, ARGV[2] check-in time (unix ms), ARGV[3] who value
-- Returns 1 for the first check-in, 0 for a repeat.
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then
  return 0
end
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3])
return 1
