-- settle: take or renew a delivery lease, then set or clear per-message
-- state bits of one profile shard, counting reasons, in one atomic call.
-- Every key is in the shard's hash tag, so the call runs on one Cluster slot.
--
-- KEYS[1] the lease, a string holding its owner's token (e.g. kb:{acct:3}:dl:c:c7:0)
-- KEYS[2] the scope's reasons hash, reason -> messages (e.g. kb:{acct:3}:dr:c:c7)
-- KEYS[3..] the bitmaps the groups below change
-- ARGV[1] the owner's token, or "-" for writes that need no lease (then
--         the lease is neither checked nor touched)
-- ARGV[2] lease lifetime in ms; 0 releases the lease after the writes
-- ARGV[3] lifetime of the reasons hash in seconds (0 = keep)
-- ARGV[4] "take": take the lease when nobody holds it (a run's start);
--         "keep": hold it only if still ours (every later write: a run
--         whose lease expired, e.g. a frozen process, must not take it
--         back and send on from its stale list)
-- ARGV[5] number G of groups, then per group:
--         KEYS position of its bitmap, bit (0|1), bitmap lifetime in
--         seconds (0 = keep), reason field ("" = none), count mode
--         ("new": count ids whose bit changed, "old": count ids whose bit
--         was already 1), count N, then N local ids.
-- Returns {1, run_id}, or {0, run_id} when another owner holds the lease
-- (then nothing is written: the caller has lost the delivery and must
-- stop). run_id is the server's: a new one means the server restarted (or
-- failed over) and may have lost its last writes (see journal.go).
-- INFO may be refused (the embedded Redis of the zero-setup mode has none
-- in scripts): then run_id is "" and the journal never replays.
local info = redis.pcall('INFO', 'server')
local runID = ''
if type(info) == 'string' then runID = string.match(info, 'run_id:(%w+)') or '' end
local owner = ARGV[1]
local leaseMs = tonumber(ARGV[2])
local leased = owner ~= '-'
if leased then
  local cur = redis.call('GET', KEYS[1])
  if cur ~= owner and (cur or ARGV[4] ~= 'take') then return {0, runID} end
end
local reasonsTTL = tonumber(ARGV[3])
local g = tonumber(ARGV[5])
local p = 6
local counted = false
for gi = 1, g do
  local key = KEYS[tonumber(ARGV[p])]
  local bit = tonumber(ARGV[p + 1])
  local ttl = tonumber(ARGV[p + 2])
  local reason = ARGV[p + 3]
  local mode = ARGV[p + 4]
  local n = tonumber(ARGV[p + 5])
  p = p + 6
  local hits = 0
  local touched = false
  for i = 0, n - 1 do
    local old = 0
    if bit == 1 or redis.call('EXISTS', key) == 1 then
      old = redis.call('SETBIT', key, ARGV[p + i], bit)
      touched = true
    end
    if (mode == 'new' and old ~= bit) or (mode == 'old' and old == 1) then hits = hits + 1 end
  end
  if touched and ttl > 0 then redis.call('EXPIRE', key, ttl) end
  if reason ~= '' and hits > 0 then
    redis.call('HINCRBY', KEYS[2], reason, hits)
    counted = true
  end
  p = p + n
end
if counted and reasonsTTL > 0 then redis.call('EXPIRE', KEYS[2], reasonsTTL) end
if leased then
  if leaseMs > 0 then
    redis.call('SET', KEYS[1], owner, 'PX', leaseMs)
  else
    redis.call('DEL', KEYS[1])
  end
end
return {1, runID}
