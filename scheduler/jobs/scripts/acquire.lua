-- acquire: take the lease of one tick, unless the tick was handled already
-- or someone holds it. A scheduled tick is ours when it is after the last
-- tick handled; a manual run while its request is still pending.
-- KEYS[1] kb:{jobs}:last:<job>
-- KEYS[2] kb:{jobs}:lease:<job>:<tick>
-- KEYS[3] kb:{jobs}:fence:<job>
-- KEYS[4] kb:{jobs}:manual
-- ARGV[1] tick (unix seconds)
-- ARGV[2] owner
-- ARGV[3] lease TTL (ms)
-- ARGV[4] "1" for a manual run
-- ARGV[5] job name
-- Returns the new fencing token, or 0 when the tick is not ours to run.
if ARGV[4] ~= '1' then
  local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
  if last >= tonumber(ARGV[1]) then return 0 end
elseif redis.call('HGET', KEYS[4], ARGV[5]) ~= ARGV[1] then
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[2], ARGV[2] .. ':' .. token, 'PX', ARGV[3])
return token
