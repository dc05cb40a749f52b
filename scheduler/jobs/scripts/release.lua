-- release: give up a lease its holder still owns, without recording
-- anything: the run was abandoned (shutdown), so another replica may take
-- the tick while it is still due.
-- KEYS[1] kb:{jobs}:lease:<job>:<tick>
-- ARGV[1] "<owner>:<token>"
-- Returns 1 when released, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
