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
	if err := f.store.SpendMany(f.ctx, "default", []string{"m002", "m002"}, SpendMass, 322); err != nil {
		t.Fatal(err)
	}
	f.store.Spend(f.ctx, "default", "m002", SpendMessage, 0)
	p, _, _ := f.store.Get(f.ctx, "default", "m002")
	if p.MassMonth != 322 || p.MassCount != 2 || p.MessagesUsed != 1 {
		t.Errorf("after spending: month %d count %d used %d, want 322 2 1", p.MassMonth, p.MassCount, p.MessagesUsed)
	}
	f.store.Spend(f.ctx, "default", "m002", SpendMass, 323)
	if p, _, _ := f.store.Get(f.ctx, "default", "m002"); p.MassMonth != 323 || p.MassCount != 1 {
		t.Errorf("new month: %d %d, want 323 1", p.MassMonth, p.MassCount)
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
		f.store.QueueSpend(f.ctx, pipe, "default", []string{"mSeen"}, SpendMessage, 0, seen)
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
