-- openid buckets: linear hashing over a shard's openid -> profile hashes
-- (see buckets.go). Prepended to the scripts that read or write profiles.
local function fnv32a(s)
  local h = 2166136261
  for k = 1, #s do
    h = bit.bxor(h, string.byte(s, k)) % 4294967296
    -- h * 16777619 mod 2^32, with 16777619 = 2^24 + 403, exact in doubles
    h = (h * 403 + (h % 256) * 16777216) % 4294967296
  end
  return h
end
-- bucket_state returns the level and split pointer of the shard of tag.
local function bucket_state(tag)
  local v = redis.call('GET', tag .. ':ob')
  if not v then return 10, 0 end
  local i, s = string.match(v, '^(%d+):(%d+)$')
  return tonumber(i), tonumber(s)
end
-- bucket_key returns the key of the bucket of hash h.
local function bucket_key(tag, h, i, s)
  local b = h % 2 ^ i
  if b < s then b = h % 2 ^ (i + 1) end
  return tag .. ':o:' .. string.format('%d', b)
end
-- hset_all sets the field, value pairs of list, in chunks (unpack has a
-- limit).
local function hset_all(key, list)
  for k = 1, #list, 256 do
    redis.call('HSET', key, unpack(list, k, math.min(k + 255, #list)))
  end
end
-- split_due splits buckets (at most two a call) while the shard holds
-- more than per entries a bucket, counted by its local id counter n.
local function split_due(tag, n, per)
  local i, s = bucket_state(tag)
  local done = 0
  while n > per * (2 ^ i + s) and done < 2 do
    local from = tag .. ':o:' .. string.format('%d', s)
    local to = tag .. ':o:' .. string.format('%d', s + 2 ^ i)
    local all = redis.call('HGETALL', from)
    local stay, move = {}, {}
    for k = 1, #all, 2 do
      local t = stay
      if fnv32a(all[k]) % 2 ^ (i + 1) ~= s then t = move end
      t[#t + 1] = all[k]
      t[#t + 1] = all[k + 1]
    end
    -- Rewritten, not HDELed: a bucket that grew into a hashtable is a
    -- listpack again.
    redis.call('DEL', from)
    hset_all(from, stay)
    hset_all(to, move)
    s = s + 1
    if s == 2 ^ i then i, s = i + 1, 0 end
    redis.call('SET', tag .. ':ob', string.format('%d:%d', i, s))
    done = done + 1
  end
end
