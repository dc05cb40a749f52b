package jobs

import (
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Every Redis key this package uses is built here. Scheduler state is small
// (a few keys per job), so it all shares one hash tag, {jobs}: the scripts
// below touch several keys at once and run on one Redis Cluster slot.
//
//	kb:{jobs}:last:<job>              unix seconds of the last scheduled tick handled (run or skipped)
//	kb:{jobs}:lease:<job>:<unix>      lease of one scheduled tick: "<owner>:<token>", PX LeaseTTL, renewed while running
//	kb:{jobs}:lease:<job>:m<unix>     lease of one manual run
//	kb:{jobs}:fence:<job>             fencing token counter (INCR per lease taken)
//	kb:{jobs}:status:<job>            hash: last_tick, last_run, last_outcome, duration_ms, error, next_run, owner, token, skipped
//	kb:{jobs}:paused                  set of paused job names
//	kb:{jobs}:manual                  hash job → unix seconds of a pending "run now"
//	kb:{jobs}:programmes              hash "<account>/<name>" → JSON Programme
//	kb:{jobs}:version                 programme version counter (replicas reload when it moves)
//	kb:{jobs}:camp:<key>              "<account>:<campaign id>" started for one tick key (idempotency)
//	kb:{jobs}:tagsync:<acct>          set of saved segments synced to WeChat tags
//	kb:{jobs}:tags:<acct>             hash segment → WeChat tag id
//	kb:{jobs}:tagstat:<acct>          hash segment → JSON SyncResult of the last sync
//	kb:{jobs}:tagsync:<acct>:lock     one tag sync per account at a time (PX)
//
// Tag sync also keeps bitmaps per profile shard, next to the subscribers
// (profile.Store.SetBits): index tag:<tagid> (who we tagged), tagskip:<tagid>
// (who could not be tagged, kept a week) and tagwant:<tagid> (the segment
// materialized for one sync, kept an hour).

const prefix = "kb:{jobs}:"

func lastKey(job string) string  { return prefix + "last:" + job }
func fenceKey(job string) string { return prefix + "fence:" + job }
func leaseKey(job string, unix int64, manual bool) string {
	m := ""
	if manual {
		m = "m"
	}
	return prefix + "lease:" + job + ":" + m + strconv.FormatInt(unix, 10)
}
func statusKey(job string) string { return prefix + "status:" + job }

const (
	pausedKey     = prefix + "paused"
	manualKey     = prefix + "manual"
	programmesKey = prefix + "programmes"
	versionKey    = prefix + "version"
)

func campKey(key string) string            { return prefix + "camp:" + key }
func tagSyncKey(account string) string     { return prefix + "tagsync:" + account }
func tagIDsKey(account string) string      { return prefix + "tags:" + account }
func tagStatKey(account string) string     { return prefix + "tagstat:" + account }
func tagSyncLockKey(account string) string { return prefix + "tagsync:" + account + ":lock" }

// Profile index names of tag sync.
func syncedIndex(tagID int) string { return "tag:" + strconv.Itoa(tagID) }
func skipIndex(tagID int) string   { return "tagskip:" + strconv.Itoa(tagID) }
func wantIndex(tagID int) string   { return "tagwant:" + strconv.Itoa(tagID) }

// acquireScript takes the lease of one tick, unless the tick was handled
// already or someone holds it.
//
//	KEYS[1] last:<job>  KEYS[2] lease:<job>:<tick>  KEYS[3] fence:<job>
//	KEYS[4] manual
//	ARGV[1] tick (unix seconds)  ARGV[2] owner  ARGV[3] lease TTL (ms)
//	ARGV[4] "1" for a manual run  ARGV[5] job name
//
// A scheduled tick is ours when it is after the last tick handled; a
// manual run while its request is still pending. Returns the new fencing
// token, or 0 when the tick is not ours to run.
var acquireScript = redis.NewScript(`
if ARGV[4] ~= '1' then
  local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
  if last >= tonumber(ARGV[1]) then return 0 end
elseif redis.call('HGET', KEYS[4], ARGV[5]) ~= ARGV[1] then
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[2], ARGV[2] .. ':' .. token, 'PX', ARGV[3])
return token
`)

// renewScript extends a lease its holder still owns.
//
//	KEYS[1] lease  ARGV[1] "<owner>:<token>"  ARGV[2] TTL (ms)
//
// Returns 1 when renewed, 0 when the lease is gone or someone else's.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// completeScript records the end of a run, fenced: a holder whose token is
// older than the one that last wrote the status (it lost its lease and a
// newer run took over) changes nothing but the last tick, which only moves
// forward.
//
//	KEYS[1] last:<job>  KEYS[2] lease  KEYS[3] status:<job>  KEYS[4] manual
//	ARGV[1] tick (unix)  ARGV[2] "<owner>:<token>"  ARGV[3] token
//	ARGV[4] "1" for a manual run  ARGV[5] job name
//	ARGV[6..] status field, value pairs
//
// Returns 1 when the status was written, 0 when the token was stale.
var completeScript = redis.NewScript(`
local tick = tonumber(ARGV[1])
if ARGV[4] ~= '1' then
  local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
  if tick > last then redis.call('SET', KEYS[1], ARGV[1]) end
elseif redis.call('HGET', KEYS[4], ARGV[5]) == ARGV[1] then
  redis.call('HDEL', KEYS[4], ARGV[5])
end
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
local cur = tonumber(redis.call('HGET', KEYS[3], 'token') or '0')
if tonumber(ARGV[3]) < cur then return 0 end
local f = {}
for i = 6, #ARGV do f[#f + 1] = ARGV[i] end
f[#f + 1] = 'token'
f[#f + 1] = ARGV[3]
redis.call('HSET', KEYS[3], unpack(f))
return 1
`)

// advanceScript moves the last tick forward (never back), for ticks the
// policy skips, and counts them.
//
//	KEYS[1] last:<job>  KEYS[2] status:<job>  ARGV[1] tick (unix)
//
// Returns 1 when it moved.
var advanceScript = redis.NewScript(`
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'skipped', 1)
return 1
`)

// releaseScript gives up a lease its holder still owns, without recording
// anything: the run was abandoned (shutdown), so another replica may take
// the tick while it is still due.
//
//	KEYS[1] lease  ARGV[1] "<owner>:<token>"
//
// Returns 1 when released.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)
