-- count: evaluate a segment over one shard's bitmaps and count it, with an
-- optional breakdown. Scratch bitmaps are deleted before returning (the
-- script is atomic, so fixed scratch names are safe).
-- KEYS[1] kb:{acct:shard}:seq  (routes the call to the shard's slot)
-- ARGV[1] shard tag, kb:{acct:shard}
-- ARGV[2] number N of program tokens, then N tokens in reverse Polish order:
--         "k:<index>" pushes a bitmap; "&<n>" and "|<n>" pop n and push
--         their intersection or union (one BITOP); "!" pops one and pushes
--         its complement within the "all" bitmap.
-- then    R, then R row index names, then C, then C column index names,
-- then    an index name to keep the segment under ("" keeps nothing) and
--         its lifetime in seconds (0 = forever).
-- Returns {total, rows, cells}: rows[i] = |seg & row i|; when C > 0,
-- cells[(i-1)*C + j] = |seg & row i & col j|.
local tag = ARGV[1]
local all = tag .. ':ix:all'
local n = tonumber(ARGV[2])
local stack, scratch = {}, {}
local function tmp()
  local k = tag .. ':tmp:' .. (#scratch + 1)
  scratch[#scratch + 1] = k
  return k
end
for i = 3, 2 + n do
  local t = ARGV[i]
  local op = string.sub(t, 1, 1)
  if op == '&' or op == '|' then
    local k = tonumber(string.sub(t, 2))
    local args = {op == '&' and 'AND' or 'OR', tmp()}
    for j = #stack - k + 1, #stack do args[#args + 1] = stack[j] end
    for _ = 1, k do table.remove(stack) end
    redis.call('BITOP', unpack(args))
    stack[#stack + 1] = args[2]
  elseif t == '!' then
    local a = table.remove(stack)
    local both, d = tmp(), tmp()
    redis.call('BITOP', 'AND', both, all, a)
    redis.call('BITOP', 'XOR', d, all, both)
    stack[#stack + 1] = d
  else
    stack[#stack + 1] = tag .. ':ix:' .. string.sub(t, 3)
  end
end
local seg = stack[1] or all
local total = redis.call('BITCOUNT', seg)
local p = 3 + n
local nr = tonumber(ARGV[p])
local rows, cells = {}, {}
local nc = tonumber(ARGV[p + 1 + nr])
local r = tmp()
local c = tmp()
for i = 1, nr do
  redis.call('BITOP', 'AND', r, seg, tag .. ':ix:' .. ARGV[p + i])
  rows[i] = redis.call('BITCOUNT', r)
  for j = 1, nc do
    if rows[i] == 0 then
      cells[#cells + 1] = 0
    else
      redis.call('BITOP', 'AND', c, r, tag .. ':ix:' .. ARGV[p + 1 + nr + j])
      cells[#cells + 1] = redis.call('BITCOUNT', c)
    end
  end
end
local keep = ARGV[p + 2 + nr + nc]
if keep ~= '' then
  local dest = tag .. ':ix:' .. keep
  redis.call('DEL', dest)
  if redis.call('EXISTS', seg) == 1 then
    redis.call('BITOP', 'OR', dest, seg)
    local ttl = tonumber(ARGV[p + 3 + nr + nc])
    if ttl > 0 then redis.call('EXPIRE', dest, ttl) end
  end
end
redis.call('DEL', unpack(scratch))
return {total, rows, cells}
