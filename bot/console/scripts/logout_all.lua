-- logout_all: delete every session of a user in one step, so a login racing
-- with it cannot leave a session behind.
-- KEYS[1] kb:{console}:usess:<uid>  sorted set of the user's session hashes
-- ARGV[1] the session key prefix, kb:{console}:sess: (same hash tag)
-- Returns the number of sessions ended.
local hashes = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, h in ipairs(hashes) do redis.call('DEL', ARGV[1] .. h) end
redis.call('DEL', KEYS[1])
return #hashes
