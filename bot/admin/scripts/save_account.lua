-- save_account: add an account added through the API unless its id is
-- taken, and move the version every replica compares.
-- KEYS[1] kb:{admin}:accounts          hash account id -> JSON AccountInput
-- KEYS[2] kb:{admin}:accounts:version  counter
-- ARGV[1] account id
-- ARGV[2] JSON AccountInput
-- Returns 1 when added, 0 when the id is taken (nothing written).
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('INCR', KEYS[2])
return 1
