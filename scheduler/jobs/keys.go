package jobs

import (
	_ "embed"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Every Redis key this package uses is built here. Scheduler state is small
// (a few keys per job), so it all shares one hash tag, {jobs}: its Lua
// scripts (scripts/*.lua) touch several keys at once and run on one Redis
// Cluster slot.
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
//	kb:{jobs}:camp:<key>              "<account>:<campaign id>" started for one tick key (written by campaign.Engine.StartOnce)
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

func tagSyncKey(account string) string     { return prefix + "tagsync:" + account }
func tagIDsKey(account string) string      { return prefix + "tags:" + account }
func tagStatKey(account string) string     { return prefix + "tagstat:" + account }
func tagSyncLockKey(account string) string { return prefix + "tagsync:" + account + ":lock" }

// Profile index names of tag sync.
func syncedIndex(tagID int) string { return "tag:" + strconv.Itoa(tagID) }
func skipIndex(tagID int) string   { return "tagskip:" + strconv.Itoa(tagID) }
func wantIndex(tagID int) string   { return "tagwant:" + strconv.Itoa(tagID) }

//go:embed scripts/acquire.lua
var acquireLua string

// acquireScript takes the lease of one tick (see scripts/acquire.lua).
var acquireScript = redis.NewScript(acquireLua)

//go:embed scripts/renew.lua
var renewLua string

// renewScript extends a lease its holder still owns (see scripts/renew.lua).
var renewScript = redis.NewScript(renewLua)

//go:embed scripts/complete.lua
var completeLua string

// completeScript records the end of a run, fenced (see scripts/complete.lua).
var completeScript = redis.NewScript(completeLua)

//go:embed scripts/advance.lua
var advanceLua string

// advanceScript moves the last tick past skipped ticks (see scripts/advance.lua).
var advanceScript = redis.NewScript(advanceLua)

//go:embed scripts/release.lua
var releaseLua string

// releaseScript gives up a lease its holder still owns (see scripts/release.lua).
var releaseScript = redis.NewScript(releaseLua)
