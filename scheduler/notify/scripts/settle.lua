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
--         was already 1), then its ids, one of two ways:
--         - a list: count N, then N local ids (few ids: one SETBIT each);
--         - a mask: "m", the byte offset of the mask in the bitmap, the
--           mask (bit j of it is local id 8·offset+j, Redis's bit order),
--           then L, the KEYS positions of the month's mass-budget bitmaps
--           (L = 0: none), then, when L > 0, their lifetime in seconds.
--           Whole-bitmap BITOPs through the scratch keys, whatever the
--           number of ids. With budget bitmaps (bit 1 only), the ids not
--           yet set in the group's bitmap are counted one more mass
--           message (mass_levels_add) before they are set: writing the
--           same group again, a replay, spends nothing twice.
-- ARGV[6] KEYS position of the first of three scratch keys of the shard
--         (0 when no group is a mask; they are deleted before returning)
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
local sp = tonumber(ARGV[6])
local ids, scratch = KEYS[sp], KEYS[sp + 1]
local p = 7
local counted = false
for gi = 1, g do
  local key = KEYS[tonumber(ARGV[p])]
  local bit = tonumber(ARGV[p + 1])
  local ttl = tonumber(ARGV[p + 2])
  local reason = ARGV[p + 3]
  local mode = ARGV[p + 4]
  p = p + 5
  local hits = 0
  local touched = false
  if ARGV[p] == 'm' then
    local off, mask, nl = tonumber(ARGV[p + 1]), ARGV[p + 2], tonumber(ARGV[p + 3])
    p = p + 4
    local last = off + #mask - 1
    redis.call('DEL', ids)
    redis.call('SETRANGE', ids, off, mask)
    if bit == 1 then
      if nl > 0 then
        local levels = {}
        for l = 1, nl do levels[l] = KEYS[tonumber(ARGV[p + l - 1])] end
        local lttl = tonumber(ARGV[p + nl])
        p = p + nl + 1
        local newly = KEYS[sp + 2]
        redis.call('BITOP', 'AND', scratch, key, ids)
        redis.call('BITOP', 'XOR', newly, ids, scratch)
        mass_levels_add(levels, newly, scratch, lttl)
        redis.call('DEL', newly)
      end
      if mode == 'old' then
        redis.call('BITOP', 'AND', scratch, key, ids)
        hits = redis.call('BITCOUNT', scratch)
      end
      local before = 0
      if mode == 'new' then before = redis.call('BITCOUNT', key, off, last) end
      redis.call('BITOP', 'OR', key, key, ids)
      touched = true
      if mode == 'new' then hits = redis.call('BITCOUNT', key, off, last) - before end
    elseif redis.call('EXISTS', key) == 1 then
      -- clear: XOR away the ids that are set (key AND mask)
      redis.call('BITOP', 'AND', scratch, key, ids)
      hits = redis.call('BITCOUNT', scratch)
      redis.call('BITOP', 'XOR', key, key, scratch)
      touched = true
    end
  else
    local n = tonumber(ARGV[p])
    p = p + 1
    for i = 0, n - 1 do
      local old = 0
      if bit == 1 or redis.call('EXISTS', key) == 1 then
        old = redis.call('SETBIT', key, ARGV[p + i], bit)
        touched = true
      end
      if (mode == 'new' and old ~= bit) or (mode == 'old' and old == 1) then hits = hits + 1 end
    end
    p = p + n
  end
  if touched and ttl > 0 then redis.call('EXPIRE', key, ttl) end
  if reason ~= '' and hits > 0 then
    redis.call('HINCRBY', KEYS[2], reason, hits)
    counted = true
  end
end
if sp > 0 then redis.call('DEL', ids, scratch, KEYS[sp + 2]) end
if counted and reasonsTTL > 0 then redis.call('EXPIRE', KEYS[2], reasonsTTL) end
if leased then
  if leaseMs > 0 then
    redis.call('SET', KEYS[1], owner, 'PX', leaseMs)
  else
    redis.call('DEL', KEYS[1])
  end
end
return {1, runID}
