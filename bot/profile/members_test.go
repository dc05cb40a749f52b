package profile

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestMaterializeMembersBitsSpend(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Now()
	var ps []*Profile
	for i := range 300 {
		p := farmer(fmt.Sprintf("m%03d", i), now)
		if i%3 == 0 {
			p.Town = "licheng"
		}
		ps = append(ps, p)
	}
	if _, err := f.store.Import(f.ctx, "default", ps); err != nil {
		t.Fatal(err)
	}
	c, err := f.store.Materialize(f.ctx, "default", And(Term(TownIndex("paitan")), Reachable()), "c:1:aud", time.Hour)
	if err != nil || c.Total != 200 {
		t.Fatalf("Materialize = %d, %v; want 200", c.Total, err)
	}
	// The snapshot stays as it was when a subscriber changes afterwards.
	f.store.Update(f.ctx, "default", "m001", func(p *Profile) (*Profile, error) { p.Town = "licheng"; return p, nil })
	if c, _ := f.store.Count(f.ctx, "default", Term("c:1:aud"), nil, nil); c.Total != 200 {
		t.Errorf("snapshot count = %d, want 200", c.Total)
	}
	seen := 0
	for shard := range Shards {
		max, err := f.store.MaxLocal(f.ctx, "default", shard)
		if err != nil {
			t.Fatal(err)
		}
		n := (max/8 + 1) * 8
		bits, err := f.store.Bits(f.ctx, "default", shard, []string{"c:1:aud"}, 0, n)
		if err != nil {
			t.Fatal(err)
		}
		var lids []int64
		for i := range n {
			if BitSet(bits[0], i) {
				lids = append(lids, i)
			}
		}
		ms, err := f.store.Members(f.ctx, "default", shard, lids)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != len(lids) {
			t.Errorf("shard %d: %d members for %d ids", shard, len(ms), len(lids))
		}
		for _, m := range ms {
			if m.OpenID == "" || m.Profile.Group != "farmer" || m.ID.Shard != shard {
				t.Errorf("member %+v", m)
			}
		}
		seen += len(ms)
		if len(lids) > 0 {
			old, err := f.store.SetBits(f.ctx, "default", shard, BitChange{Index: "c:1:sent", Bit: 1, Lids: lids[:1]})
			if err != nil || len(old) != 1 || old[0] {
				t.Errorf("first claim: %v %v", old, err)
			}
			old, _ = f.store.SetBits(f.ctx, "default", shard, BitChange{Index: "c:1:sent", Bit: 1, Lids: lids[:1]})
			if !old[0] {
				t.Errorf("second claim of the same id succeeded")
			}
		}
	}
	if seen != 200 {
		t.Errorf("members across shards = %d, want 200", seen)
	}
	if err := f.store.SpendMany(f.ctx, "default", []string{"m002", "m002"}, SpendMessage); err != nil {
		t.Fatal(err)
	}
	f.store.Spend(f.ctx, "default", "m002", SpendEvent)
	p, _, _ := f.store.Get(f.ctx, "default", "m002")
	if p.MessagesUsed != 2 || p.EventMsgsUsed != 1 {
		t.Errorf("after spending: used %d, event %d, want 2 1", p.MessagesUsed, p.EventMsgsUsed)
	}
	if err := f.store.Spend(f.ctx, "default", "m002", "mass"); err == nil {
		t.Error("spending the mass budget in the profile succeeded: it lives in bitmaps")
	}
}

// The monthly mass budget is counted in level bitmaps: SpendMass twice in
// a month reads 2, a fifth stays at MassLevels, another month reads 0.
func TestSpendMassLevels(t *testing.T) {
	t.Parallel()
	f := setup(t)
	lids := []int64{0, 3, 9, 1000}
	for range 2 {
		if err := f.store.SpendMass(f.ctx, "default", 5, 322, lids); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		if err := f.store.SpendMass(f.ctx, "default", 5, 322, lids[1:2]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.store.MassCounts(f.ctx, "default", 5, 322, 0, 1008)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]uint8{0: 2, 3: MassLevels, 9: 2, 1000: 2}
	for i, n := range got {
		if n != want[i] {
			t.Errorf("lid %d: %d mass sends, want %d", i, n, want[i])
		}
	}
	if other, _ := f.store.MassCounts(f.ctx, "default", 5, 323, 0, 8); other[0] != 0 {
		t.Errorf("another month reads %d", other[0])
	}
	if n, _ := f.store.rdb.Exists(f.ctx, MassScratchKeys("default", 5)...).Result(); n != 0 {
		t.Errorf("%d scratch keys left", n)
	}
	if ttl := f.store.rdb.TTL(f.ctx, IndexKey("default", 5, MassLevelIndex(322, 1))).Val(); ttl <= 0 || ttl > MassTTL {
		t.Errorf("level 1 lives %v, want (0, %v]", ttl, MassTTL)
	}
}

// A send lowers the learned interests in the item's topics by SeenDrop, in
// the spend script: never an opt-out (0) or a chosen weight (200), never
// down to an opt-out or onto a chosen weight.
func TestSpendSeenIsASoftNegative(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := &Profile{OpenID: "mSeen", Subscribed: true}
	for _, in := range []Interest{{"litchi", 100}, {"weather", WeightChosen}, {"rice", 0}, {"health", 203}, {"safety", 4}, {"stem", 90}} {
		p.SetInterest(in.Topic, in.Weight)
	}
	if _, err := f.store.Import(f.ctx, "default", []*Profile{p}); err != nil {
		t.Fatal(err)
	}
	seen := map[string][]string{"mSeen": {"litchi", "weather", "rice", "health", "safety", "unknown_topic"}}
	if _, err := f.store.rdb.Pipelined(f.ctx, func(pipe redis.Pipeliner) error {
		if err := f.store.LoadScripts(f.ctx); err != nil {
			return err
		}
		f.store.QueueSpend(f.ctx, pipe, "default", []string{"mSeen"}, SpendMessage, seen)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, _, err := f.store.Get(f.ctx, "default", "mSeen")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint8{"litchi": 100 - SeenDrop, "weather": WeightChosen, "rice": 0, "health": 201, "safety": 1, "stem": 90}
	for _, in := range got.Interests {
		if w, ok := want[in.Topic]; !ok || in.Weight != w {
			t.Errorf("after a send: %s = %d, want %d", in.Topic, in.Weight, w)
		}
	}
	if len(got.Interests) != len(want) || got.MessagesUsed != 1 {
		t.Errorf("after a send: %+v (used %d), want %d interests and 1 used", got.Interests, got.MessagesUsed, len(want))
	}
}
