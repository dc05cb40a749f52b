-- dict_assign: return the code of an id, assigning the next free one if new.
-- KEYS[1] kb:{dict}:<kind>      hash id -> code
-- KEYS[2] kb:{dict}:seq:<kind>  last code assigned
-- ARGV[1] id
-- ARGV[2] largest code allowed
-- Returns the code (integer), or an error when the dictionary is full.
local c = redis.call('HGET', KEYS[1], ARGV[1])
if c then return tonumber(c) end
local n = redis.call('INCR', KEYS[2])
if n > tonumber(ARGV[2]) then
  redis.call('DECR', KEYS[2])
  return redis.error_reply('dictionary full')
end
redis.call('HSET', KEYS[1], ARGV[1], n)
return n
