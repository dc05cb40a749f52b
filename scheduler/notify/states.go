package notify

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

//go:embed scripts/settle.lua
var settleLua string

// settleScript: see scripts/settle.lua. It spends the monthly mass budget
// with profile's one function for it.
var settleScript = redis.NewScript(profile.MassLevelsLua + settleLua)

// ErrLeaseLost says another run holds a batch's lease: this run must stop.
var ErrLeaseLost = errors.New("delivery lease held by another run")

// changes is one atomic write to a shard: bitmap groups and the reasons
// they count.
type changes struct {
	keys   []string       // bitmap keys, by position
	pos    map[string]int // key → position in keys
	groups []group
	// spends are counted against the subscribers' WeChat limits in the
	// same round trip, before the groups are written (a crash between the
	// two can only over-count). They are not replayed by the journal.
	spends []spend
	// take takes the lease when nobody holds it (Acquire); otherwise a
	// write only keeps a lease that is still its own.
	take bool
}

type spend struct {
	kind    string
	openIDs []string
	// seen are the topics of the item each openid was sent (for the soft
	// negative, profile.SeenDrop); nil for none.
	seen map[string][]string
}

type group struct {
	key    string
	bit    int
	ttl    time.Duration
	reason string
	old    bool // count ids whose bit was already set, not those that changed
	lids   []int64
	// levels, when set, are the month's mass-budget bitmaps (level 1
	// first): the ids this group newly sets are counted one more mass
	// message there, in the same script (settle.lua).
	levels []string
}

// maskMin is from how many ids a group may be written as a mask
// (whole-bitmap BITOPs) rather than a list (one SETBIT each): a wave of
// customer-service sends (16 by default) stays a list.
const maskMin = 64

// mask returns g's ids as a bitmap slice starting at byte off, and whether
// to write them so: budget bitmaps to spend (only a mask does), or enough
// ids that a few BITOPs over the whole bitmap cost less than a SETBIT
// each. A BITOP's cost grows with the bitmap (about the highest id / 8
// bytes), a list's with the ids: a mask from one id per 2,048 local ids
// (~256 bitmap bytes per id), and never for a sparse range.
func (g group) mask() (off int64, m []byte, ok bool) {
	if len(g.lids) < maskMin && len(g.levels) == 0 {
		return 0, nil, false
	}
	lo, hi := g.lids[0], g.lids[0]
	for _, l := range g.lids {
		lo, hi = min(lo, l), max(hi, l)
	}
	off = lo / 8
	size := hi/8 - off + 1
	if len(g.levels) == 0 && (int64(len(g.lids)) < hi/2048 || size > 32*int64(len(g.lids))) {
		return 0, nil, false
	}
	m = make([]byte, size)
	for _, l := range g.lids {
		m[l/8-off] |= 0x80 >> (l % 8)
	}
	return off, m, true
}

func (c *changes) add(g group) {
	if len(g.lids) == 0 {
		return
	}
	if c.pos == nil {
		c.pos = map[string]int{}
	}
	if _, ok := c.pos[g.key]; !ok {
		c.pos[g.key] = len(c.keys)
		c.keys = append(c.keys, g.key)
	}
	c.groups = append(c.groups, g)
}

func (c *changes) empty() bool { return len(c.groups) == 0 && len(c.spends) == 0 }

// apply writes c to shard under the lease (lease "" = no lease: outcomes
// that need none, e.g. a mass batch's). leaseFor 0 releases the lease.
// Every write is kept a few seconds in the journal, and written again if
// the shard's server turns out to have restarted meanwhile.
func (n *Notifier) apply(ctx context.Context, sc Scope, shard int, lease, owner string, leaseFor time.Duration, c *changes) error {
	leaseKey := sc.leaseKey(shard, "none")
	if lease != "" {
		leaseKey = sc.leaseKey(shard, lease)
	}
	if lease == "" {
		owner, leaseFor = "-", 0
	}
	ok, runID, err := n.run(ctx, sc, shard, leaseKey, owner, leaseFor, c, true)
	if err != nil {
		return err
	}
	if !ok {
		return ErrLeaseLost
	}
	return n.journal.wrote(ctx, n, sc, shard, runID, c)
}

// run calls the settle script (scripts/settle.lua), after c's spends when
// withSpends, in one pipeline.
func (n *Notifier) run(ctx context.Context, sc Scope, shard int, leaseKey, owner string, leaseFor time.Duration, c *changes, withSpends bool) (bool, string, error) {
	keys := append([]string{leaseKey, sc.reasonsKey(shard)}, c.keys...)
	pos := func(key string) int { // KEYS position of key, added when new
		for i, k := range keys {
			if k == key {
				return i + 1
			}
		}
		keys = append(keys, key)
		return len(keys)
	}
	mode := "keep"
	if c.take {
		mode = "take"
	}
	var gargs []any
	masks := false
	for _, g := range c.groups {
		count := "new"
		if g.old {
			count = "old"
		}
		gargs = append(gargs, c.pos[g.key]+3, g.bit, int64(g.ttl/time.Second), g.reason, count)
		if off, m, ok := g.mask(); ok {
			masks = true
			gargs = append(gargs, "m", off, m, len(g.levels))
			for _, l := range g.levels {
				gargs = append(gargs, pos(l))
			}
			if len(g.levels) > 0 {
				gargs = append(gargs, int64(profile.MassTTL/time.Second))
			}
			continue
		}
		gargs = append(gargs, len(g.lids))
		for _, l := range g.lids {
			gargs = append(gargs, l)
		}
	}
	sp := 0
	if masks {
		sp = pos(sc.scratchKey(shard))
		for _, k := range profile.MassScratchKeys(sc.Account, shard) {
			pos(k)
		}
	}
	args := append([]any{owner, leaseFor.Milliseconds(), sc.ttlSeconds(), mode, len(c.groups), sp}, gargs...)
	var res []any
	var err error
	if !withSpends || len(c.spends) == 0 {
		res, err = settleScript.Run(ctx, n.cfg.Redis, keys, args...).Slice()
	} else {
		res, err = n.spendAndSettle(ctx, sc.Account, c.spends, keys, args)
	}
	if err != nil {
		return false, "", fmt.Errorf("settle %s shard %d: %w", sc.Name, shard, err)
	}
	if len(res) != 2 {
		return false, "", fmt.Errorf("settle %s shard %d: unexpected answer %v", sc.Name, shard, res)
	}
	ok, _ := res[0].(int64)
	runID, _ := res[1].(string)
	return ok == 1, runID, nil
}

// spendAndSettle runs the spends and the settle script in one pipeline.
// A command Redis answers NOSCRIPT (its script cache is empty after a
// restart) is run again alone, after loading its script: the others ran
// once, and must not run twice (the settle's counts, the spends).
func (n *Notifier) spendAndSettle(ctx context.Context, account string, spends []spend, keys []string, args []any) ([]any, error) {
	var settle *redis.Cmd
	var queued []redis.Cmder
	cmds, err := n.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, s := range spends {
			n.cfg.Profiles.QueueSpend(ctx, p, account, s.openIDs, s.kind, s.seen)
		}
		settle = settleScript.EvalSha(ctx, p, keys, args...)
		return nil
	})
	if err != nil && !redis.HasErrorPrefix(err, "NOSCRIPT") {
		return nil, err
	}
	queued = cmds
	var again []redis.Cmder
	for _, c := range queued[:len(queued)-1] {
		if c.Err() != nil && redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			again = append(again, c)
		} else if c.Err() != nil {
			return nil, c.Err()
		}
	}
	if len(again) > 0 {
		if err := n.cfg.Profiles.LoadScripts(ctx); err != nil {
			return nil, err
		}
		if _, err := n.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, c := range again {
				p.Process(ctx, c)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if settle.Err() != nil && redis.HasErrorPrefix(settle.Err(), "NOSCRIPT") {
		return settleScript.Run(ctx, n.cfg.Redis, keys, args...).Slice()
	}
	return settle.Slice()
}

// outcomes collects what happened to messages of one shard, to be written
// in one call.
type outcomes struct {
	sc       Scope
	acct     string
	shard    int
	now      time.Time
	loc      *time.Location
	sent     map[string][]int64 // channel → lids
	received map[string][]int64 // item → lids
	failed   map[string][]int64 // reason → lids
	skipped  map[string][]int64 // reason → lids
	mass     map[string][]int64 // item → lids planned for a mass send
	unclaim  []int64            // in flight, back to pending
	spendMsg []string
	spendEvt []string
	seen     map[string][]string // openid → topics of the item sent (Send.Topics)
}

func newOutcomes(sc Scope, shard int, now time.Time, loc *time.Location) *outcomes {
	return &outcomes{sc: sc, shard: shard, now: now, loc: loc,
		sent: map[string][]int64{}, received: map[string][]int64{}, failed: map[string][]int64{},
		skipped: map[string][]int64{}, mass: map[string][]int64{}}
}

// changes turns the outcomes into bitmap groups; each outcome also clears
// the message's in-flight bit.
func (o *outcomes) changes(c *changes) {
	acct, sh, sc := o.sc.Account, o.shard, o.sc
	ix := func(name string) string { return profile.IndexKey(acct, sh, name) }
	var done []int64
	for ch, lids := range o.sent {
		var levels []string // a mass send spends the month's budget of those newly sent
		if ch == "mass" {
			for _, l := range profile.MassLevelIndexes(plan.MonthNumber(o.now, o.loc)) {
				levels = append(levels, ix(l))
			}
		}
		c.add(group{key: ix(sc.SentIndex()), bit: 1, ttl: sc.TTL, lids: lids, levels: levels})
		c.add(group{key: ix(sc.ChannelIndex(ch)), bit: 1, ttl: sc.TTL, lids: lids})
		c.add(group{key: ix(profile.PushedIndex(o.now.In(o.loc))), bit: 1, ttl: pushedTTL, lids: lids})
		done = append(done, lids...)
	}
	for item, lids := range o.received {
		c.add(group{key: ix(profile.ReceivedIndex(item)), bit: 1, lids: lids})
	}
	for r, lids := range o.failed {
		c.add(group{key: ix(sc.FailedIndex()), bit: 1, ttl: sc.TTL, reason: "failed:" + r, lids: lids})
		done = append(done, lids...)
	}
	for r, lids := range o.skipped {
		c.add(group{key: ix(sc.SkippedIndex()), bit: 1, ttl: sc.TTL, reason: "skipped:" + r, lids: lids})
		done = append(done, lids...)
	}
	for item, lids := range o.mass {
		c.add(group{key: ix(sc.MassIndex(item)), bit: 1, ttl: sc.TTL, lids: lids})
		c.add(group{key: ix(sc.PlannedIndex()), bit: 1, ttl: sc.TTL, lids: lids})
		done = append(done, lids...)
	}
	c.add(group{key: ix(sc.FlightIndex()), bit: 0, lids: append(done, o.unclaim...)})
	for _, sp := range []spend{{profile.SpendMessage, o.spendMsg, o.seen}, {profile.SpendEvent, o.spendEvt, o.seen}} {
		if len(sp.openIDs) > 0 {
			c.spends = append(c.spends, sp)
		}
	}
}

// Record writes outcomes decided without a send (unreachable by rule,
// failed before sending, waiting for a mass send) for lids of one shard.
func (n *Notifier) Record(ctx context.Context, sc Scope, shard int, d Decided) error {
	o := newOutcomes(sc, shard, n.cfg.Now(), n.cfg.Loc)
	d.into(o)
	var c changes
	o.changes(&c)
	if c.empty() {
		return nil
	}
	return n.apply(ctx, sc, shard, "", "", 0, &c)
}

// Decided is what was decided for messages without sending them.
type Decided struct {
	Skipped map[string][]int64 // unreachable, by reason
	Failed  map[string][]int64 // failed, by reason
	Mass    map[string][]int64 // waiting for a mass send, by item
}

// Skip records lid as unreachable for reason.
func (d *Decided) Skip(lid int64, reason string) {
	if d.Skipped == nil {
		d.Skipped = map[string][]int64{}
	}
	d.Skipped[reason] = append(d.Skipped[reason], lid)
}

// Fail records lid as failed for reason.
func (d *Decided) Fail(lid int64, reason string) {
	if d.Failed == nil {
		d.Failed = map[string][]int64{}
	}
	d.Failed[reason] = append(d.Failed[reason], lid)
}

// Plan records lid as waiting for a mass send of item.
func (d *Decided) Plan(lid int64, item string) {
	if d.Mass == nil {
		d.Mass = map[string][]int64{}
	}
	d.Mass[item] = append(d.Mass[item], lid)
}

func (d Decided) into(o *outcomes) {
	for r, l := range d.Skipped {
		o.skipped[r] = append(o.skipped[r], l...)
	}
	for r, l := range d.Failed {
		o.failed[r] = append(o.failed[r], l...)
	}
	for it, l := range d.Mass {
		o.mass[it] = append(o.mass[it], l...)
	}
}

// Reasons sums a scope's reasons over every shard.
func (n *Notifier) Reasons(ctx context.Context, sc Scope) (map[string]int64, error) {
	cmds := make([]*redis.MapStringStringCmd, profile.Shards)
	_, err := n.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for sh := range profile.Shards {
			cmds[sh] = p.HGetAll(ctx, sc.reasonsKey(sh))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reasons of %s: %w", sc.Name, err)
	}
	out := map[string]int64{}
	for _, c := range cmds {
		for k, v := range c.Val() {
			x, _ := strconv.ParseInt(v, 10, 64)
			out[k] += x
		}
	}
	return out, nil
}

// Forget deletes a scope's reasons and leases (its bitmaps expire with TTL).
func (n *Notifier) Forget(ctx context.Context, sc Scope) error {
	_, err := n.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for sh := range profile.Shards {
			p.Del(ctx, sc.reasonsKey(sh))
		}
		return nil
	})
	return err
}

// States are the state bits of a range of local ids, as read by
// profile.Store.Bits over Scope.StateIndexes.
type States [][]byte

// Done reports whether message i of the range has an outcome (sent,
// failed, unreachable, or waiting for a mass send).
func (s States) Done(i int64) bool {
	return profile.BitSet(s[1], i) || profile.BitSet(s[2], i) || profile.BitSet(s[3], i) || profile.BitSet(s[4], i)
}

// InDoubt reports whether message i was left in flight by a run that died.
// Only meaningful under the batch's lease (no other run is sending).
func (s States) InDoubt(i int64) bool { return profile.BitSet(s[0], i) && !s.Done(i) }
