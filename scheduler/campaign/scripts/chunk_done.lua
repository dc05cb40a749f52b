-- chunk_done: record that a chunk of a campaign finished: SADD the chunk to
-- the done set and, on first add, DECR the chunks-left counter. A chunk
-- finishing twice counts once.
-- KEYS[1] set of done chunks
-- KEYS[2] chunks left (counter)
-- ARGV[1] chunk id
-- Returns the counter (0 = all chunks done), also when the chunk was done
-- already, so a run that died between its chunkDone and enqueueing the
-- finalize job enqueues it on its rerun.
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
return redis.call('DECR', KEYS[2])
