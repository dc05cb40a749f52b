-- renew: extend a lease its holder still owns.
-- KEYS[1] kb:{jobs}:lease:<job>:<tick>
-- ARGV[1] "<owner>:<token>"
-- ARGV[2] TTL (ms)
-- Returns 1 when renewed, 0 when the lease is gone or someone else's.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
