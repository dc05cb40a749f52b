-- once: enqueue a job unless its marker exists, atomically.
-- KEYS[1] kb:{q:name:lane:p}:once:<id>  marker
-- KEYS[2] kb:{q:name:lane:p}:stream     the job's stream
-- ARGV[1] marker lifetime (ms)
-- ARGV[2] encoded job
-- Returns 1 when the job was enqueued, 0 when the marker was present.
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'job', ARGV[2])
return 1
