-- mass_levels_add: count one more mass message this month for every id
-- set in the bitmap at key `newly`, in the month's budget bitmaps (level k
-- holds the ids sent at least k mass messages; see MassLevelIndex). Whole
-- bitmaps, top level first, so each level grows from the one below as it
-- was: 2·#levels-1 BITOPs, whatever the number of ids. An id already at
-- the top level stays there (WeChat refuses it more anyway).
-- levels: the level keys, level 1 first; scratch: a key of the same slot
-- this function may overwrite and deletes; ttl: the levels' lifetime (s).
local function mass_levels_add(levels, newly, scratch, ttl)
  for l = #levels, 2, -1 do
    redis.call('BITOP', 'AND', scratch, levels[l - 1], newly)
    redis.call('BITOP', 'OR', levels[l], levels[l], scratch)
  end
  redis.call('BITOP', 'OR', levels[1], levels[1], newly)
  for l = 1, #levels do redis.call('EXPIRE', levels[l], ttl) end
  redis.call('DEL', scratch)
end
