
-- spend_mass: count one more mass message this month for local ids of one
-- shard (Store.SpendMass).
-- KEYS[1..L] the month's budget bitmaps, level 1 first
-- KEYS[L+1]  a scratch key of the shard, KEYS[L+2] another
-- ARGV[1]    the levels' lifetime in seconds, then the local ids
local n = #KEYS - 2
local levels = {}
for l = 1, n do levels[l] = KEYS[l] end
local newly = KEYS[n + 1]
redis.call('DEL', newly)
for i = 2, #ARGV do redis.call('SETBIT', newly, ARGV[i], 1) end
mass_levels_add(levels, newly, KEYS[n + 2], tonumber(ARGV[1]))
redis.call('DEL', newly)
return 1
