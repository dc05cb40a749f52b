package notify

import (
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// Every key and bitmap name notify uses is built here. A scope named S of
// account A keeps, in each profile shard n (hash tag {A:n}):
//
//	kb:{A:n}:ix:S:flight      bitmap: messages in flight (claimed)
//	kb:{A:n}:ix:S:sent        bitmap: accepted by WeChat
//	kb:{A:n}:ix:S:failed      bitmap: refused for good (reason in dr)
//	kb:{A:n}:ix:S:skipped     bitmap: unreachable by rule (reason in dr)
//	kb:{A:n}:ix:S:planned     bitmap: waiting for a mass send
//	kb:{A:n}:ix:S:m:<item>    bitmap: waiting for a mass send of item
//	kb:{A:n}:ix:S:ch:<chan>   bitmap: sent through channel custom|template|mass
//	kb:{A:n}:dr:S             hash: "failed:<reason>", "skipped:<reason>",
//	                          "in_doubt_resent", "in_doubt_rekeyed" → count
//	kb:{A:n}:dl:S:<lease>     string: the owner token of a batch's lease
//
// and, per account:
//
//	kb:{A:notify}:mass:S:<key> string: the mass batch being sent (write-ahead)
//	kb:{A:notify}:media:<key>  string: the account's WeChat media_id of a recording (expires)
//	kb:{A:notify}:media:<key>:lock string: held by the run uploading that recording (expires)
//
// Bitmap names go through profile.IndexKey, which owns the shard's key
// space; the day-of-push and received-item bitmaps are profile's
// (profile.PushedIndex, profile.ReceivedIndex).

// State bitmaps of a scope, by suffix.
const (
	partFlight  = "flight"
	partSent    = "sent"
	partFailed  = "failed"
	partSkipped = "skipped" // unreachable; the name stats have always read
	partPlanned = "planned"
)

// Reasons counted beside the failed:… and skipped:… ones.
const (
	// ReasonInDoubtResent counts customer-service messages sent again
	// because a crash left their first send's fate unknown: each may have
	// reached the phone twice.
	ReasonInDoubtResent = "in_doubt_resent"
	// ReasonInDoubtRekeyed counts template messages sent again for the
	// same reason, with their client_msg_id: WeChat delivers them once.
	ReasonInDoubtRekeyed = "in_doubt_rekeyed"
)

// Scope is one delivery's per-message states: a campaign (Name "c:c7"), or
// one notice of an event (Name "ev:ev5:rem:24h").
type Scope struct {
	Account string
	Name    string
	// TTL is how long the states are kept (0 = for ever).
	TTL time.Duration
}

func (s Scope) index(part string) string { return s.Name + ":" + part }

// FlightIndex, SentIndex, FailedIndex, SkippedIndex and PlannedIndex name
// the scope's state bitmaps (read them with profile.Store.Bits or Count).
func (s Scope) FlightIndex() string  { return s.index(partFlight) }
func (s Scope) SentIndex() string    { return s.index(partSent) }
func (s Scope) FailedIndex() string  { return s.index(partFailed) }
func (s Scope) SkippedIndex() string { return s.index(partSkipped) }
func (s Scope) PlannedIndex() string { return s.index(partPlanned) }

// ChannelIndex names the bitmap of messages sent through a channel.
func (s Scope) ChannelIndex(channel string) string { return s.index("ch:" + channel) }

// MassIndex names the bitmap of messages waiting for a mass send of item.
func (s Scope) MassIndex(item string) string { return s.index("m:" + item) }

// StateIndexes lists the bitmaps that say where each message stands, in the
// order States reads them.
func (s Scope) StateIndexes() []string {
	return []string{s.FlightIndex(), s.SentIndex(), s.FailedIndex(), s.SkippedIndex(), s.PlannedIndex()}
}

func (s Scope) reasonsKey(shard int) string { return profile.ShardKey(s.Account, shard, "dr:"+s.Name) }

func (s Scope) leaseKey(shard int, lease string) string {
	return profile.ShardKey(s.Account, shard, "dl:"+s.Name+":"+lease)
}

func (s Scope) massKey(key string) string {
	return "kb:{" + s.Account + ":notify}:mass:" + s.Name + ":" + key
}

func mediaKey(account, key string) string { return "kb:{" + account + ":notify}:media:" + key }

func mediaLockKey(account, key string) string { return mediaKey(account, key) + ":lock" }

// scratchKey is a key of the shard's slot the settle script overwrites
// and deletes (the ids of a group written as a mask).
func (s Scope) scratchKey(shard int) string { return profile.ShardKey(s.Account, shard, "tmp:settle") }

func (s Scope) ttlSeconds() int64 { return int64(s.TTL / time.Second) }

// pushedTTL is how long a day-of-push bitmap lives: caps read seven days.
const pushedTTL = 8 * 24 * time.Hour
