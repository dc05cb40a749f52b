-- create_user: claim a user's name and store the user and its token in one
-- step, so that of two replicas creating the same name at once exactly one
-- succeeds, and a claimed name always has its user.
-- KEYS[1] kb:{admin}:users:names  hash FoldName(name) -> user id
-- KEYS[2] kb:{admin}:users        hash user id -> JSON User
-- KEYS[3] kb:{admin}:tokens       hash token hash -> JSON Principal
-- ARGV[1] FoldName(name)
-- ARGV[2] user id
-- ARGV[3] JSON User
-- ARGV[4] hex SHA-256 of the token
-- ARGV[5] JSON Principal
-- Returns 1 when created, 0 when the name is taken (nothing written).
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
return 1
