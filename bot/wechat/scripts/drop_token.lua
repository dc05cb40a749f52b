-- drop_token: delete the cached access token only if it is still the one
-- that failed, so that when many callers (on many replicas) see 40001 for
-- the same token, the first one drops it and the others find the fresh
-- token the first caller fetched: one refresh, not a storm.
-- KEYS[1] the SDK's token cache key
-- ARGV[1] the token that WeChat rejected
-- Returns 1 if the key was deleted, 0 if it held another token or none.
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0
