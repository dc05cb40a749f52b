-- complete: record the end of a run, fenced: a holder whose token is older
-- than the one that last wrote the status (it lost its lease and a newer
-- run took over) changes nothing but the last tick, which only moves
-- forward.
-- KEYS[1] kb:{jobs}:last:<job>
-- KEYS[2] kb:{jobs}:lease:<job>:<tick>
-- KEYS[3] kb:{jobs}:status:<job>
-- KEYS[4] kb:{jobs}:manual
-- ARGV[1] tick (unix)
-- ARGV[2] "<owner>:<token>"
-- ARGV[3] token
-- ARGV[4] "1" for a manual run
-- ARGV[5] job name
-- ARGV[6..] status field, value pairs
-- Returns 1 when the status was written, 0 when the token was stale.
local tick = tonumber(ARGV[1])
if ARGV[4] ~= '1' then
  local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
  if tick > last then redis.call('SET', KEYS[1], ARGV[1]) end
elseif redis.call('HGET', KEYS[4], ARGV[5]) == ARGV[1] then
  redis.call('HDEL', KEYS[4], ARGV[5])
end
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
local cur = tonumber(redis.call('HGET', KEYS[3], 'token') or '0')
if tonumber(ARGV[3]) < cur then return 0 end
local f = {}
for i = 6, #ARGV do f[#f + 1] = ARGV[i] end
f[#f + 1] = 'token'
f[#f + 1] = ARGV[3]
redis.call('HSET', KEYS[3], unpack(f))
return 1
