package notify_test

import (
	"bytes"
	"maps"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// TestSettleMaskMatchesList: outcomes written id by id (each write a list
// of one) and all at once (a mask per group) leave the same bits and
// count the same reasons, also written again and when clearing in-flight
// bits; the scratch keys are gone after.
func TestSettleMaskMatchesList(t *testing.T) {
	t.Parallel()
	b := setup(t, 3000)
	shard, ms := b.shard()
	if len(ms) < 64 {
		t.Fatalf("shard %d has %d members; the test needs a mask's worth", shard, len(ms))
	}
	reason := map[int64]int{} // lid → its outcome, the same one by one or all at once
	for k, m := range ms {
		reason[m.ID.Local] = k % 3
	}
	decide := func(ms []profile.Member) notify.Decided {
		var d notify.Decided
		for _, m := range ms {
			switch reason[m.ID.Local] {
			case 0:
				d.Skip(m.ID.Local, "frequency_cap")
			case 1:
				d.Fail(m.ID.Local, "wechat_43004")
			default:
				d.Plan(m.ID.Local, "it1")
			}
		}
		return d
	}
	one, all := notify.Scope{Account: "default", Name: "t:one", TTL: time.Hour}, notify.Scope{Account: "default", Name: "t:all", TTL: time.Hour}
	for range 2 { // written twice: counted once
		for _, m := range ms {
			if err := b.n.Record(b.ctx, one, shard, decide([]profile.Member{m})); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.n.Record(b.ctx, all, shard, decide(ms)); err != nil {
			t.Fatal(err)
		}
	}
	read := func(sc notify.Scope) [][]byte {
		bits, err := b.profiles.Bits(b.ctx, "default", shard, append(sc.StateIndexes(), sc.MassIndex("it1")), 0, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return bits
	}
	a, c := read(one), read(all)
	for i := range a {
		if !bytes.Equal(a[i], c[i]) {
			t.Errorf("bitmap %d differs: list %x, mask %x", i, a[i][:16], c[i][:16])
		}
	}
	ra, _ := b.n.Reasons(b.ctx, one)
	rc, _ := b.n.Reasons(b.ctx, all)
	if !maps.Equal(ra, rc) || ra["skipped:frequency_cap"] != int64((len(ms)+2)/3) {
		t.Errorf("reasons: list %v, mask %v; want equal, %d skipped", ra, rc, (len(ms)+2)/3)
	}
	for _, k := range append(profile.MassScratchKeys("default", shard), profile.ShardKey("default", shard, "tmp:settle")) {
		if v, _ := b.rdb.Exists(b.ctx, k).Result(); v != 0 {
			t.Errorf("scratch key %s left", k)
		}
	}
}

// TestMassSendSpendsTheBudgetOnce: a mass send spends each recipient's
// monthly budget in the write that records it sent; recording the same
// send again (a job run again, WeChat's 45065) spends nothing more, and
// another campaign's send spends one more.
func TestMassSendSpendsTheBudgetOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, 600)
	month := plan.MonthNumber(time.Now(), time.UTC)
	counts := func() map[int64]uint8 { // lid → count, over every member (lids are per shard: keyed by shard too)
		out := map[int64]uint8{}
		for _, m := range b.members {
			c, err := b.profiles.MassCounts(b.ctx, "default", m.ID.Shard, month, m.ID.Local/8*8, 8)
			if err != nil {
				t.Fatal(err)
			}
			out[int64(m.ID.Shard)<<32|m.ID.Local] = c[m.ID.Local%8]
		}
		return out
	}
	b.planMass(t, nil)
	if _, err := b.n.MassAll(b.ctx, b.sc, "it1", "it1", "科普"); err != nil {
		t.Fatal(err)
	}
	var batch []notify.Recipient
	for _, m := range b.members {
		batch = append(batch, notify.Recipient{Shard: m.ID.Shard, Lid: m.ID.Local, OpenID: m.OpenID})
	}
	if _, err := b.n.SendMass(b.ctx, b.sc, "it1", "it1", "科普", batch); err != nil { // the same send, again
		t.Fatal(err)
	}
	for k, n := range counts() {
		if n != 1 {
			t.Fatalf("member %x: %d mass sends counted after one send recorded twice, want 1", k, n)
		}
	}
	other := notify.Scope{Account: "default", Name: "t:other", TTL: time.Hour}
	if _, err := b.n.SendMass(b.ctx, other, "it2", "it2", "科普", batch); err != nil {
		t.Fatal(err)
	}
	for k, n := range counts() {
		if n != 2 {
			t.Fatalf("member %x: %d mass sends counted after two campaigns, want 2", k, n)
		}
	}
}
