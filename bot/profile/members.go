package profile

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed scripts/bits.lua
var bitsLua string

//go:embed scripts/spend.lua
var spendLua string

// MassLevelsLua defines the Lua function mass_levels_add, the one way the
// monthly mass budget is spent: the delivery core's settle script
// (scheduler/notify) starts with it, and so does Store.SpendMass.
//
//go:embed scripts/masslevels.lua
var MassLevelsLua string

//go:embed scripts/spend_mass.lua
var spendMassLua string

var (
	bitsScript      = redis.NewScript(bitsLua)
	spendScript     = redis.NewScript(bucketsLua + spendLua)
	spendMassScript = redis.NewScript(MassLevelsLua + spendMassLua)
)

// Member is one subscriber of a segment, as delivery needs it.
type Member struct {
	ID      ID
	OpenID  string
	Profile *Profile
}

// MaxLocal returns the highest local id assigned in a shard (0 when none).
func (s *Store) MaxLocal(ctx context.Context, account string, shard int) (int64, error) {
	n, err := s.rdb.Get(ctx, seqKey(shardTag(account, shard))).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return n, err
}

// Bits reads the bits of each named index for local ids [from, from+n) of
// a shard, in one round trip. from and n must be multiples of 8. Bit i of
// the range is bits[i/8] & (0x80 >> (i%8)) (Redis's bit order).
func (s *Store) Bits(ctx context.Context, account string, shard int, names []string, from, n int64) ([][]byte, error) {
	if from%8 != 0 || n%8 != 0 {
		return nil, fmt.Errorf("bits: range [%d,+%d) not byte aligned", from, n)
	}
	tag := shardTag(account, shard)
	cmds := make([]*redis.StringCmd, len(names))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, name := range names {
			cmds[i] = pipe.GetRange(ctx, indexKey(tag, name), from/8, (from+n)/8-1)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("bits: %w", err)
	}
	out := make([][]byte, len(names))
	for i, c := range cmds {
		b := make([]byte, n/8)
		copy(b, c.Val()) // a short or missing bitmap reads as zeros
		out[i] = b
	}
	return out, nil
}

// BitSet reports bit i of a range read by Bits.
func BitSet(bits []byte, i int64) bool { return bits[i/8]&(0x80>>(i%8)) != 0 }

// Members loads the subscribers with the given local ids of a shard:
// openids from the reverse map, then profiles, in two pipelined round
// trips. Ids whose subscriber was erased are left out.
func (s *Store) Members(ctx context.Context, account string, shard int, lids []int64) ([]Member, error) {
	tag := shardTag(account, shard)
	openIDs, err := s.OpenIDs(ctx, account, shard, lids)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	out := make([]Member, 0, len(lids))
	profs, err := s.profiles(ctx, tag, openIDs)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	reloaded := false
	for i, c := range profs {
		if c == nil || c.Err() != nil {
			continue
		}
		p, lid, err := decode([]byte(c.Val()), s.dict)
		if errors.Is(err, errUnknownCode) && !reloaded {
			reloaded = true
			if err := s.dict.Load(ctx); err != nil {
				return nil, err
			}
			p, lid, err = decode([]byte(c.Val()), s.dict)
		}
		if err != nil {
			return nil, fmt.Errorf("members: %w", err)
		}
		if lid != lids[i] {
			continue // erased and the openid came back under a new id
		}
		p.OpenID = openIDs[i]
		out = append(out, Member{ID: ID{Shard: shard, Local: lid}, OpenID: p.OpenID, Profile: p})
	}
	return out, nil
}

// OpenIDs returns the openids of local ids of a shard from the reverse
// map, in one pipelined round trip ("" for an id whose subscriber was
// erased): what a mass send by openid list needs, without the profiles.
func (s *Store) OpenIDs(ctx context.Context, account string, shard int, lids []int64) ([]string, error) {
	tag := shardTag(account, shard)
	// One HMGET per reverse-map bucket (128 ids), not one HGET per id:
	// Redis's cost is per command.
	type span struct{ from, to int } // lids[from:to] share a bucket
	var spans []span
	for i := range lids {
		if i == 0 || lids[i]/reverseBucketSize != lids[i-1]/reverseBucketSize {
			spans = append(spans, span{i, i + 1})
		} else {
			spans[len(spans)-1].to = i + 1
		}
	}
	cmds := make([]*redis.SliceCmd, len(spans))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for k, sp := range spans {
			fields := make([]string, 0, sp.to-sp.from)
			for _, lid := range lids[sp.from:sp.to] {
				fields = append(fields, strconv.FormatInt(lid, 10))
			}
			cmds[k] = pipe.HMGet(ctx, reverseKey(tag, lids[sp.from]), fields...)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("openids: %w", err)
	}
	openIDs := make([]string, len(lids))
	for k, sp := range spans {
		for j, v := range cmds[k].Val() {
			if o, ok := v.(string); ok {
				openIDs[sp.from+j] = o
			}
		}
	}
	return openIDs, nil
}

// profiles reads the packed profiles of openIDs of one shard ("" skipped;
// nil command), in one transaction with the shard's openid bucket state,
// again when that state moved on since this Store saw it.
func (s *Store) profiles(ctx context.Context, tag string, openIDs []string) ([]*redis.StringCmd, error) {
	profs := make([]*redis.StringCmd, len(openIDs))
	for {
		st := s.bucketStateOf(tag)
		var stateCmd *redis.StringCmd
		_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			stateCmd = pipe.Get(ctx, bucketStateKey(tag))
			for i, o := range openIDs {
				if o != "" {
					profs[i] = pipe.HGet(ctx, openIDBucketKey(tag, o, st), o)
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		if moved, err := s.learnBucketState(tag, st, stateCmd.Val()); err != nil || !moved {
			return profs, err
		}
	}
}

// BitChange sets (Bit 1) or clears (Bit 0) one index's bits for many
// local ids of a shard. TTL > 0 makes the bitmap expire (whole seconds).
type BitChange struct {
	Index string
	Bit   int
	TTL   time.Duration
	Lids  []int64
}

// SetBits applies changes to one shard atomically and returns the
// previous bits of the first change's ids (true = was set), so the first
// change can serve as a claim.
func (s *Store) SetBits(ctx context.Context, account string, shard int, changes ...BitChange) ([]bool, error) {
	tag := shardTag(account, shard)
	args := []any{tag, len(changes)}
	for _, c := range changes {
		args = append(args, c.Index, c.Bit, int64(c.TTL/time.Second), len(c.Lids))
		for _, l := range c.Lids {
			args = append(args, l)
		}
	}
	res, err := bitsScript.Run(ctx, s.rdb, []string{seqKey(tag)}, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("set bits: %w", err)
	}
	old := make([]bool, len(res))
	for i, v := range res {
		old[i] = v == 1
	}
	return old, nil
}

// Spend kinds: which customer-service window one sent message counts
// against. The monthly mass budget is not a profile counter: it is spent
// in bitmaps (SpendMass, MassLevelIndex).
const (
	SpendMessage = "msg"   // the 48-hour customer-service window
	SpendEvent   = "event" // the 1-minute window after a follow, click or scan
)

// Spend counts one sent message against a subscriber's window in place (no
// read-modify-write race with the webhook: one script).
func (s *Store) Spend(ctx context.Context, account, openID, kind string) error {
	tag := shardTag(account, ShardOf(openID))
	return spendScript.Run(ctx, s.rdb, spendKeys(account, openID), openID, kind, "", 0, tag, openIDHash(openID)).Err()
}

// spendKeys are the spend script's keys: the shard's openid bucket state
// (the script names the bucket from it).
func spendKeys(account, openID string) []string {
	return []string{bucketStateKey(shardTag(account, ShardOf(openID)))}
}

// SpendMass counts one more mass message in month (a plan.MonthNumber) for
// local ids of a shard, in the month's budget bitmaps. The delivery core
// spends inside the script that records the send, only for messages newly
// recorded sent (scheduler/notify); this is the same function for callers
// that record sends of their own.
func (s *Store) SpendMass(ctx context.Context, account string, shard int, month uint16, lids []int64) error {
	if len(lids) == 0 {
		return nil
	}
	tag := shardTag(account, shard)
	keys := make([]string, 0, MassLevels+2)
	for _, ix := range MassLevelIndexes(month) {
		keys = append(keys, indexKey(tag, ix))
	}
	keys = append(keys, MassScratchKeys(account, shard)...)
	args := make([]any, 0, len(lids)+1)
	args = append(args, int64(MassTTL/time.Second))
	for _, l := range lids {
		args = append(args, l)
	}
	if err := spendMassScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("spend mass: %w", err)
	}
	return nil
}

// MassScratchKeys are two keys of a shard's slot that scripts spending the
// mass budget overwrite and delete (their working bitmaps).
func MassScratchKeys(account string, shard int) []string {
	tag := shardTag(account, shard)
	return []string{tag + ":tmp:mass:a", tag + ":tmp:mass:b"}
}

// MassCounts reads the mass messages sent in month (a plan.MonthNumber) to
// local ids [from, from+n) of a shard, from the month's budget bitmaps
// (MassLevelIndex): 0 to MassLevels. from and n must be multiples of 8.
func (s *Store) MassCounts(ctx context.Context, account string, shard int, month uint16, from, n int64) ([]uint8, error) {
	levels, err := s.Bits(ctx, account, shard, MassLevelIndexes(month), from, n)
	if err != nil {
		return nil, fmt.Errorf("mass counts: %w", err)
	}
	out := make([]uint8, n)
	for i := range out {
		out[i] = MassCountAt(levels, int64(i))
	}
	return out, nil
}

// QueueSpend adds Spend for each of openIDs to pipe (as EVALSHA: run
// LoadScripts first, and again after a NOSCRIPT answer), so a caller can
// spend in the same round trip as its own writes. seen, when not nil,
// gives the topics of the item each subscriber was sent: the same script
// lowers their learned interest in them by SeenDrop (a soft negative: a
// click raises it by more).
func (s *Store) QueueSpend(ctx context.Context, pipe redis.Pipeliner, account string, openIDs []string, kind string, seen map[string][]string) {
	for _, o := range openIDs {
		tag := shardTag(account, ShardOf(o))
		var codes []byte
		for _, t := range seen[o] {
			if c, ok := s.dict.Code(KindTopic, t); ok {
				codes = append(codes, byte(c))
			}
		}
		spendScript.EvalSha(ctx, pipe, spendKeys(account, o), o, kind, string(codes), SeenDrop, tag, openIDHash(o))
	}
}

// SeenDrop is how much being sent an item lowers a learned interest in
// its topics (of WeightMax): the soft negative of a push that is not
// opened. Opening it (+40) more than makes up for it.
const SeenDrop = 6

// LoadScripts loads the scripts QueueSpend calls into Redis's script cache.
func (s *Store) LoadScripts(ctx context.Context) error {
	return spendScript.Load(ctx, s.rdb).Err()
}

// SpendMany is Spend for many subscribers, pipelined.
func (s *Store) SpendMany(ctx context.Context, account string, openIDs []string, kind string) error {
	if len(openIDs) == 0 {
		return nil
	}
	spendScript.Load(ctx, s.rdb)
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, o := range openIDs {
			tag := shardTag(account, ShardOf(o))
			spendScript.EvalSha(ctx, pipe, spendKeys(account, o), o, kind, "", 0, tag, openIDHash(o))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("spend: %w", err)
	}
	return nil
}
