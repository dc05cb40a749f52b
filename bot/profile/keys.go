package profile

import (
	"hash/crc32"
	"strconv"
	"strings"
	"time"
)

// Every Redis key this package uses is built here.
//
//	kb:{<acct>:<shard>}:seq             local id counter of a shard
//	kb:{<acct>:<shard>}:o:<bucket>      hash openid → packed profile, with its local id (bucket: buckets.go)
//	kb:{<acct>:<shard>}:ob              "<level>:<split>" of the openid buckets; absent = "10:0"
//	kb:{<acct>:<shard>}:r:<lid/128>     hash local id → openid (to turn segment bits into openids)
//	kb:{<acct>:<shard>}:dlg:<openid>    dialog state of one subscriber (with TTL)
//	kb:{<acct>:<shard>}:gone:<pseudonym> erasure marker: this subscriber asked to be erased (ErasedTTL); named by Pseudonym, never the openid
//	kb:{<acct>:<shard>}:dd:<msgkey>     webhook dedup: pending claim, then the stored reply
//	kb:{<acct>:<shard>}:ix:<index>      segment bitmap over local ids (see indexes.go)
//	kb:{<acct>:<shard>}:tmp:<random>    scratch bitmaps of segment evaluation (tmp:mass:a|b: of the mass budget's scripts)
//	kb:{dict}:<kind>                    hash id → code (group, town, topic, source)
//	kb:{dict}:seq:<kind>                code counter of a dictionary
//
// All keys of one subscriber share the hash tag {kb:<acct>:<shard>}, so the
// Lua scripts that touch several of them run on one Redis Cluster slot. The
// commit script builds some key names itself (from the tag passed in ARGV);
// those names always carry the same tag, so they stay on the same slot.

const (
	// reverseBucketSize is how many local ids share one id → openid hash:
	// under Redis's default hash-max-listpack-entries (512), so each stays
	// a compact listpack.
	reverseBucketSize = 128
	// ActiveDays is how long daily activity bitmaps live: segments can ask
	// for activity within the last ActiveDays days.
	ActiveDays = 35
	// ErasedTTL is how long the marker of an erased subscriber lives: in
	// that time a message from them (still a follower) creates no profile
	// until they say 开始 or follow again (Session.Erased). It holds the
	// openid and nothing else, and is left only for a follower.
	ErasedTTL = 365 * 24 * time.Hour
)

// validName reports whether s is 1 to max bytes, each a lower-case ASCII
// letter (upper-case too when upper), a digit or a byte of extra: the
// shape of the ids that name keys (ValidAccount, ValidOpenID, ValidNonce),
// checked 4-5 times a webhook message: ~17 ns a call, a regexp ~350 ns.
// TestValidNameMatchesRegexp.
func validName(s string, max int, upper bool, extra string) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case upper && 'A' <= c && c <= 'Z':
		case strings.IndexByte(extra, c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ShardOf returns the shard of an openid.
func ShardOf(openID string) int {
	return int(crc32.ChecksumIEEE([]byte(openID)) % Shards)
}

func shardTag(account string, shard int) string {
	return "kb:{" + account + ":" + strconv.Itoa(shard) + "}"
}

func openIDBucketKey(tag, openID string, st bucketState) string {
	return tag + ":o:" + strconv.FormatUint(uint64(st.bucket(openIDHash(openID))), 10)
}

func bucketStateKey(tag string) string { return tag + ":ob" }

func reverseKey(tag string, lid int64) string {
	return tag + ":r:" + strconv.FormatInt(lid/reverseBucketSize, 10)
}

func seqKey(tag string) string { return tag + ":seq" }

func dedupKey(tag, msgKey string) string { return tag + ":dd:" + msgKey }

func dialogKey(tag, openID string) string { return tag + ":dlg:" + openID }

func goneKey(tag, openID string) string { return tag + ":gone:" + Pseudonym(openID) }

func indexKey(tag, index string) string { return tag + ":ix:" + index }

func dictKey(k Kind) string    { return "kb:{dict}:" + string(k) }
func dictSeqKey(k Kind) string { return "kb:{dict}:seq:" + string(k) }

// Index names: the suffixes of segment bitmaps.
const (
	IndexAll        = "all" // has a profile
	IndexSubscribed = "sub" // follows the account
	IndexOptedOut   = "opt" // said 退订
	// IndexReachable is subscribed and not opted out: who pushes may go to.
	// It is derived, kept as its own bitmap so every audience costs one
	// BITOP less.
	IndexReachable = "reach"
)

// GroupIndex, TownIndex, InterestIndex, SourceIndex and ActiveIndex name the
// bitmaps of one attribute value.
func GroupIndex(id string) string    { return "g:" + id }
func TownIndex(id string) string     { return "t:" + id }
func InterestIndex(id string) string { return "i:" + id }
func SourceIndex(id string) string   { return "src:" + id }

// ActiveIndex names the bitmap of subscribers active on t's calendar day (in
// t's location).
func ActiveIndex(t time.Time) string { return "act:" + t.Format("20060102") }

// FollowIndex names the bitmap of subscribers who followed the account on
// t's calendar day (in t's location): the dashboard's growth. Like the
// activity bitmaps it lives ActiveDays.
func FollowIndex(t time.Time) string { return "fol:" + t.Format("20060102") }

// IndexKey is the Redis key of a segment bitmap of one shard. Packages that
// keep per-subscriber state beside the profiles (delivery states, clicks)
// name their bitmaps with the functions below and get keys from here, so
// every key of a shard carries the shard's hash tag.
func IndexKey(account string, shard int, index string) string {
	return indexKey(shardTag(account, shard), index)
}

// ShardKey is the Redis key of a shard's own, non-bitmap state: name is a
// suffix such as "dl:c7:lease". It carries the shard's hash tag, so a script
// may touch it together with the shard's bitmaps.
func ShardKey(account string, shard int, name string) string {
	return shardTag(account, shard) + ":" + name
}

// ReceivedIndex names the bitmap of subscribers who received an item (by any
// campaign): corrections go to them, and nobody gets an item twice.
func ReceivedIndex(item string) string { return "rcv:" + item }

// MassLevels is how many mass messages a month the budget bitmaps count:
// WeChat's limit for a service account's subscriber (plan.MassPerMonth).
const MassLevels = 4

// MassTTL is how long a month's budget bitmaps live (70 days: the month,
// and the next for the organizers' reports).
const MassTTL = 70 * 24 * time.Hour

// MassLevelIndex names budget bitmap k (1..MassLevels) of month (a
// plan.MonthNumber): bit i is set when local id i was sent at least k mass
// messages that month. They are the one record of the monthly mass
// budget: the delivery core adds to them in the script that records a
// mass send (scheduler/notify, massLevelsLua), so a district's budget is
// read and spent in bitmaps, never profile by profile.
func MassLevelIndex(month uint16, k int) string {
	return "mass:" + strconv.Itoa(int(month)) + ":" + strconv.Itoa(k)
}

// MassLevelIndexes names the MassLevels budget bitmaps of month, level 1 first.
func MassLevelIndexes(month uint16) []string {
	out := make([]string, MassLevels)
	for k := range out {
		out[k] = MassLevelIndex(month, k+1)
	}
	return out
}

// MassCountAt is the mass messages counted for bit i of a range read by
// Bits over MassLevelIndexes.
func MassCountAt(levels [][]byte, i int64) uint8 {
	var n uint8
	for _, l := range levels {
		if BitSet(l, i) {
			n++
		}
	}
	return n
}

// PushedIndex names the bitmap of subscribers pushed to on t's calendar day
// (in t's location): frequency caps read the last seven.
func PushedIndex(t time.Time) string { return "push:" + t.Format("20060102") }

// nonceKey records which message a signed webhook request (its timestamp
// and nonce, which the URL signature covers) carried. It has no hash tag
// shared with other keys: one SET touches it.
//
//	kb:wn:<acct>:<timestamp>:<nonce>    digest of the message the request carried (with TTL)
func nonceKey(account, timestamp, nonce string) string {
	return "kb:wn:" + account + ":" + timestamp + ":" + nonce
}
