-- advance: move the last tick forward (never back), for ticks the policy
-- skips, and count them.
-- KEYS[1] kb:{jobs}:last:<job>
-- KEYS[2] kb:{jobs}:status:<job>
-- ARGV[1] tick (unix)
-- Returns 1 when it moved, 0 otherwise.
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'skipped', 1)
return 1
