-- begin: start handling one inbound WeChat message for one subscriber.
-- Claims the message's dedup record (unless ARGV[3] is empty) and loads the
-- subscriber, in one round trip.
-- KEYS[1] kb:{acct:shard}:o:<bucket>   openid -> local id
-- KEYS[2] kb:{acct:shard}:dd:<msgkey>  dedup record (any key of the tag when ARGV[3] is empty)
-- ARGV[1] shard tag, kb:{acct:shard}
-- ARGV[2] openid
-- ARGV[3] claim token "p:<nonce>", or "" to load without claiming
-- ARGV[4] claim lifetime in milliseconds
-- Returns one of
--   {"dup", record}                    the message is claimed or answered already
--   {"new"}                            unknown openid
--   {"ok", lid, profile|nil, dialog|nil}
if ARGV[3] ~= '' then
  if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then
    return {'dup', redis.call('GET', KEYS[2])}
  end
end
local lid = redis.call('HGET', KEYS[1], ARGV[2])
if not lid then return {'new'} end
local bucket = ARGV[1] .. ':p:' .. math.floor(tonumber(lid) / 64)
local profile = redis.call('HGET', bucket, lid)
local dialog = redis.call('GET', ARGV[1] .. ':dlg:' .. lid)
return {'ok', lid, profile, dialog}
