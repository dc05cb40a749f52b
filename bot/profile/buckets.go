package profile

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// The openid → profile map of a shard is split over hashes ("buckets",
// kb:{<acct>:<shard>}:o:<n>) small enough to stay Redis listpacks (at most
// 512 entries by Redis's default hash-max-listpack-entries), which cost
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
//     Redis killed mid-way has done it or not, never half. (A shard that
//     is behind, e.g. filled before linear hashing, catches up by up to
//     two splits a creation.)
//   - Before linear hashing the layout was a fixed 1,024 buckets, h % 1024:
//     exactly the state "10:0", which an absent state key means. Existing
//     data is valid as it is; nothing migrates.
//
// Readers learn the state without a round trip of their own: the scripts
// (commit, spend) read it and name the bucket themselves; Go's MULTI
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
// miss a moved subscriber and profile them again under a new id). The
// first split of a shard comes at openidSplitLoad × 1024 = 102,400
// profiles created in it, ~3.3 M per account (32 shards): twice the
// district, but every replica must run this code before an account's
// shards grow that far.
//
// openidSplitLoad is the mean entries per bucket at which the next one
// splits. The buckets a round has not split yet hold up to twice the mean
// before their turn, so 100 keeps them near 200 at most (a listpack of
// ~20 KB). Measured by BenchmarkOpenIDBuckets (one shard filled to
// 584,375, a shard's share of 18.7 M; BENCHMARKS.md): 200.6 B a subscriber
// with the fixed 1,024 buckets, and 152.2, 150.3, 149.5 and 148.8 B with
// split loads 25, 50, 100 and 200. Past 100 the gain is under a byte while
// every HSET rewrites a listpack twice as long; at 1.5 M a shard holds
// ~47 k profiles, under the first split, so the district's layout and
// memory are those of the 1,024 buckets.
const openidSplitLoad = 100

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
