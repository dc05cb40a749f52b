-- commit: apply the outcome of handling one message, atomically: the
-- profile (compare-and-set against what begin loaded), its segment bits,
-- the dialog state and the reply kept for WeChat's retries.
-- KEYS[1] kb:{acct:shard}:ob          openid bucket state: the script
--         names the openid's bucket (kb:{acct:shard}:o:<n>) from it and
--         ARGV[13], and splits a bucket when a creation makes one due
-- KEYS[2] kb:{acct:shard}:dd:<msgkey>  dedup record (any key of the tag when ARGV[3] is empty)
-- KEYS[3] kb:{acct:shard}:gone:<pseudonym>  erasure marker (named by a hash, not the openid)
-- ARGV[1]  shard tag, kb:{acct:shard}
-- ARGV[2]  openid
-- ARGV[3]  claim token: "p:<nonce>" claimed by begin, "l:<nonce>" to
--          claim here (begin read a cached profile: fails if the message
--          is claimed or answered already), or "" when not deduplicating
-- ARGV[4]  local id begin saw, or "" for a new subscriber
-- ARGV[5]  packed profile begin saw ("" when none)
-- ARGV[6]  new packed profile, or "" to erase the subscriber; for a new
--          subscriber its local-id bytes (3-6) are filled in here
-- ARGV[7]  reply record to keep under KEYS[2]
-- ARGV[8]  reply lifetime in milliseconds
-- ARGV[9]  dialog: "keep", "del" or "set" (Commit sends "keep" for
--          "del" when begin saw no dialog: nothing to delete)
-- ARGV[10] dialog value (with "set")
-- ARGV[11] dialog lifetime in milliseconds
-- ARGV[12] lifetime in seconds of the erasure marker (:gone:) that erasing
--          an existing subscriber leaves (0: none); creating a profile
--          removes it
-- ARGV[13] the openid's bucket hash (FNV-1a, 32 bits)
-- ARGV[14] entries a bucket before one splits (openidSplitLoad)
-- ARGV[15] number N of bit changes, then N triples from ARGV[16]:
--          index name, bit (0|1), lifetime in seconds (0 = none).
--          Clearing a bit never creates a bitmap.
-- Returns {"ok", lid}, {"dup"} (another attempt owns or answered the
-- message) or {"conflict", profile|false, dialog|false, gone (0|1)} (the
-- subscriber changed since begin: here is how it is now, to handle the
-- message again without another round trip).
-- Keys built here (:o:, :seq, :r:, :dlg:, :ix:) all carry the tag of KEYS[1].
-- Each redis.call costs about a microsecond here, more than the rest of
-- the script: the hot path (a known subscriber, claimed late, dialog
-- unchanged) is four calls: GET :ob, SET NX the reply, HGET, HSET (none
-- when the profile is unchanged).
local tag = ARGV[1]
local okey = bucket_key(tag, tonumber(ARGV[13]), bucket_state(tag))
local late = string.sub(ARGV[3], 1, 2) == 'l:'
if late then
  -- Claim and answer in one write: the reply is stored at once, and taken
  -- back on a conflict below (nothing else is written then).
  if not redis.call('SET', KEYS[2], ARGV[7], 'NX', 'PX', ARGV[8]) then return {'dup'} end
elseif ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then
  return {'dup'}
end
local cur = redis.call('HGET', okey, ARGV[2])
local dlg = tag .. ':dlg:' .. ARGV[2]
local gone = KEYS[3]
local function conflict()
  if late then redis.call('DEL', KEYS[2]) end
  return {'conflict', cur or false, redis.call('GET', dlg) or false, redis.call('EXISTS', gone)}
end
local lid
local value = ARGV[6]
if ARGV[4] == '' then
  if cur then return conflict() end
  if value == '' then return {'ok', 0} end
  lid = redis.call('INCR', tag .. ':seq')
  redis.call('HSET', tag .. ':r:' .. math.floor(lid / 128), lid, ARGV[2])
  redis.call('DEL', gone)
  value = string.sub(value, 1, 2) ..
    string.char(math.floor(lid / 16777216) % 256, math.floor(lid / 65536) % 256, math.floor(lid / 256) % 256, lid % 256) ..
    string.sub(value, 7)
else
  if (cur or '') ~= ARGV[5] then return conflict() end
  lid = tonumber(ARGV[4])
end
if value == '' then
  redis.call('HDEL', okey, ARGV[2])
  redis.call('HDEL', tag .. ':r:' .. math.floor(lid / 128), lid)
  redis.call('DEL', dlg)
  if tonumber(ARGV[12]) > 0 then
    redis.call('SET', gone, '1', 'EX', ARGV[12])
  end
else
  if value ~= cur then redis.call('HSET', okey, ARGV[2], value) end
  if ARGV[9] == 'set' then
    redis.call('SET', dlg, ARGV[10], 'PX', ARGV[11])
  elseif ARGV[9] == 'del' then
    redis.call('DEL', dlg)
  end
end
local n = tonumber(ARGV[15])
for i = 0, n - 1 do
  local key = tag .. ':ix:' .. ARGV[16 + 3 * i]
  local bit = tonumber(ARGV[17 + 3 * i])
  local ttl = tonumber(ARGV[18 + 3 * i])
  if bit == 1 or redis.call('EXISTS', key) == 1 then
    redis.call('SETBIT', key, lid, bit)
    if ttl > 0 then redis.call('EXPIRE', key, ttl) end
  end
end
if ARGV[3] ~= '' and not late then
  redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[8])
end
if ARGV[4] == '' and value ~= '' then
  split_due(tag, lid, tonumber(ARGV[14]))
end
return {'ok', lid}
