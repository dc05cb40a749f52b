-- begin: start handling one inbound WeChat message for one subscriber.
-- Claims the message's dedup record (unless ARGV[3] is empty) and loads the
-- subscriber, in one round trip.
-- KEYS[1] kb:{acct:shard}:o:<bucket>   openid -> packed profile
-- KEYS[2] kb:{acct:shard}:dd:<msgkey>  dedup record (any key of the tag when ARGV[3] is empty)
-- ARGV[1] shard tag, kb:{acct:shard}
-- ARGV[2] openid
-- ARGV[3] claim token "p:<nonce>", or "" to load without claiming
-- ARGV[4] claim lifetime in milliseconds
-- Returns one of
--   {"dup", record}           the message is claimed or answered already
--   {"new"}                   unknown openid
--   {"ok", profile, dialog|nil}
-- The local id sits big-endian in bytes 3-6 of a packed profile.
if ARGV[3] ~= '' then
  if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then
    return {'dup', redis.call('GET', KEYS[2])}
  end
end
local profile = redis.call('HGET', KEYS[1], ARGV[2])
if not profile then return {'new'} end
local a, b, c, d = string.byte(profile, 3, 6)
local lid = ((a * 256 + b) * 256 + c) * 256 + d
return {'ok', profile, redis.call('GET', ARGV[1] .. ':dlg:' .. lid)}
