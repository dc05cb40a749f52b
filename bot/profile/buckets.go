package profile

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// The openid → profile map of a shard is split over hashes ("buckets",
// kb:{<acct>:<shard>}:o:<n>) small enough to stay Redis listpacks (at most
// 128 entries by Redis's default hash-max-listpack-entries), which cost
// ~50 B less per entry than a hashtable. Their number grows with the shard
// by linear hashing, as Redis's own dict rehashes a bucket at a time:
//
//   - The shard's state is (level i, split pointer s), kept in
//     kb:{<acct>:<shard>}:ob as "i:s". An openid whose 32-bit FNV-1a hash
//     is h lives in bucket h % 2^i, or h % 2^(i+1) when that first number
//     is below s. The shard has 2^i + s buckets.
//   - When the commit script creates a subscriber and the shard's local
//     id counter passes openidSplitLoad × (2^i + s), it splits bucket s:
//     the entries whose h % 2^(i+1) is not s move to bucket s + 2^i, the
//     rest are rewritten in place (so a bucket that had grown into a
//     hashtable is a listpack again), then s++, and at s = 2^i, i++ and
//     s = 0. The split is part of that one script, so it is atomic: a
//     Redis killed mid-way has either done it or not.
//   - Before linear hashing the layout was a fixed 1,024 buckets, h % 1024:
//     exactly the state "10:0", which an absent state key means. Existing
//     data is valid as it is; nothing migrates.
//
// Readers learn the state without a round trip of their own: the scripts
// (commit, spend) read it and compute the bucket themselves; Go's MULTI
// reads (Begin, Members) name the bucket from the state this Store saw
// last and read the state key in the same transaction, reading again on
// the rare answer that it moved on.
//
// The local id counter counts every profile ever created in the shard,
// erased ones too, so a shard with churn splits a little earlier than its
// live count asks: a few buckets more, never a wrong one.
//
// Rolling upgrades: a replica running code from before linear hashing
// computes h % 1024 whatever the state. It reads and writes the right
// bucket until its shard's first split, and the wrong one after (it would
// miss a moved subscriber and create them again). The first split of a
// shard comes at openidSplitLoad × 1024 = 51,200 profiles created in it,
// ~1.6 M per account (32 shards): past the district's 1.5 M residents,
// but every replica must run this code before an account grows that far.
//
// openidSplitLoad, the mean entries per bucket at which a bucket splits,
// was measured (BenchmarkOpenIDBuckets, BENCHMARKS.md): the buckets not yet
// split in a round hold up to twice the mean before their turn, so 50 keeps
// nearly all of them under 128 (a split rewrites a bucket that went past
// as a listpack again); 64 lets the last of each round overflow.
const openidSplitLoad = 50

// openidBaseLevel is the level of an absent state: 2^10 = 1,024 buckets,
// the fixed layout before linear hashing.
const openidBaseLevel = 10

// bucketState is a shard's linear hashing state. Its zero value is the
// absent state (level openidBaseLevel, nothing split).
type bucketState struct {
	raw   string // as stored; "" when the key is absent
	level uint
	split uint32
}

// parseBucketState parses the stored state ("" for an absent key).
func parseBucketState(raw string) (bucketState, error) {
	if raw == "" {
		return bucketState{}, nil
	}
	l, sp, ok := strings.Cut(raw, ":")
	level, err1 := strconv.ParseUint(l, 10, 8)
	split, err2 := strconv.ParseUint(sp, 10, 32)
	if !ok || err1 != nil || err2 != nil || level < openidBaseLevel || level > 31 || split >= 1<<level {
		return bucketState{}, fmt.Errorf("openid bucket state %q is not <level>:<split>", raw)
	}
	return bucketState{raw: raw, level: uint(level), split: uint32(split)}, nil
}

func (st bucketState) lvl() uint {
	if st.level == 0 {
		return openidBaseLevel
	}
	return st.level
}

// bucket returns the bucket number of an openid hash.
func (st bucketState) bucket(h uint32) uint32 {
	b := h % (1 << st.lvl())
	if b < st.split {
		b = h % (1 << (st.lvl() + 1))
	}
	return b
}

// count returns the number of buckets of the shard.
func (st bucketState) count() uint32 { return 1<<st.lvl() + st.split }

// openIDHash is the hash that places an openid in a bucket (FNV-1a, 32
// bits; the scripts' fnv32a computes the same).
func openIDHash(openID string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(openID))
	return h.Sum32()
}

// bucketStateOf returns the openid bucket state this Store last saw for a
// shard (the absent state when none).
func (s *Store) bucketStateOf(tag string) bucketState {
	if v, ok := s.buckets.Load(tag); ok {
		return v.(bucketState)
	}
	return bucketState{}
}

// learnBucketState records the state read from Redis (raw, "" when absent)
// and reports whether it differs from the one reads were named with.
func (s *Store) learnBucketState(tag string, used bucketState, raw string) (bool, error) {
	if raw == used.raw {
		return false, nil
	}
	st, err := parseBucketState(raw)
	if err != nil {
		return false, err
	}
	s.buckets.Store(tag, st)
	return true, nil
}
