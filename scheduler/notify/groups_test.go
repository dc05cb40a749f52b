package notify_test

import (
	"slices"
	"testing"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
)

// planMass records every member but the skipped ones as waiting for the
// mass send of "it1".
func (b *bundle) planMass(t *testing.T, skipped map[string]bool) {
	t.Helper()
	for _, m := range b.members {
		var d notify.Decided
		if skipped[m.OpenID] {
			d.Skip(m.ID.Local, "frequency_cap")
		} else {
			d.Plan(m.ID.Local, "it1")
		}
		if err := b.n.Record(b.ctx, b.sc, m.ID.Shard, d); err != nil {
			t.Fatal(err)
		}
	}
}

// tag sets ms's bits in a group's bitmap.
func (b *bundle) tag(t *testing.T, index string, ms []profile.Member) {
	t.Helper()
	for _, m := range ms {
		if _, err := b.profiles.SetBits(b.ctx, "default", m.ID.Shard, profile.BitChange{Index: index, Bit: 1, Lids: []int64{m.ID.Local}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMassAllUsesWholeGroups(t *testing.T) {
	t.Parallel()
	tag7 := notify.Group{TagID: 7, Index: "tag:7"}
	tag8 := notify.Group{TagID: 8, Index: "tag:8"}
	tag9 := notify.Group{TagID: 9, Index: "tag:9"}
	tests := []struct {
		name    string
		skip    int // the first skip members are not waiting for the send
		groups  []notify.Group
		tags    map[string][2]int // index → members [from, to)
		wantTo  []string          // whom the calls addressed, in order
		wantRec []int             // recipients per call
	}{
		{"everyone waits: one call to all", 0, []notify.Group{notify.Everyone, tag7}, map[string][2]int{"tag:7": {0, 10}}, []string{"all"}, []int{40}},
		{"no groups: openid lists", 0, nil, nil, []string{"openids"}, []int{40}},
		{"one skipped: its tag is not used, the other tag is", 1, []notify.Group{notify.Everyone, tag7, tag8}, map[string][2]int{"tag:7": {0, 10}, "tag:8": {10, 30}},
			[]string{"tag", "openids"}, []int{20, 19}},
		{"overlapping tags: the larger one only", 0, []notify.Group{tag7, tag8, tag9}, map[string][2]int{"tag:7": {0, 10}, "tag:8": {5, 30}, "tag:9": {30, 35}},
			[]string{"tag", "tag", "openids"}, []int{25, 5, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, 40)
			b.groups = tt.groups
			skipped := map[string]bool{}
			for _, m := range b.members[:tt.skip] {
				skipped[m.OpenID] = true
			}
			for ix, r := range tt.tags {
				b.tag(t, ix, b.members[r[0]:r[1]])
			}
			b.planMass(t, skipped)
			calls, err := b.n.MassAll(b.ctx, b.sc, "it1", "it1", "科普")
			if err != nil {
				t.Fatal(err)
			}
			var gotTo []string
			var gotRec []int
			for _, c := range calls {
				gotTo, gotRec = append(gotTo, c.To), append(gotRec, c.Recipients)
			}
			if !slices.Equal(gotTo, tt.wantTo) || !slices.Equal(gotRec, tt.wantRec) {
				t.Errorf("calls to %v with %v recipients, want %v with %v", gotTo, gotRec, tt.wantTo, tt.wantRec)
			}
			// Every waiting member is sent exactly once, the skipped never.
			for _, m := range b.members {
				st := b.states(t, m.ID.Shard)
				sent := profile.BitSet(st[1], m.ID.Local)
				if sent == skipped[m.OpenID] {
					t.Errorf("%s sent = %v, skipped = %v", m.OpenID, sent, skipped[m.OpenID])
				}
			}
			again, err := b.n.MassAll(b.ctx, b.sc, "it1", "it1", "科普")
			if err != nil || len(again) != 0 {
				t.Errorf("MassAll again = %v, %v; want no calls", again, err)
			}
		})
	}
}

// TestGroupSendResumes: a group send WeChat answered with a retryable
// error is left written ahead; the next run makes the call again and
// records its members.
func TestGroupSendResumes(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	b.groups = []notify.Group{notify.Everyone}
	b.planMass(t, nil)
	b.snd.answers["all"] = []error{&wechat.Error{Code: -1, Msg: "system busy"}}
	if _, err := b.n.MassAll(b.ctx, b.sc, "it1", "it1", "科普"); err == nil {
		t.Fatal("MassAll with WeChat busy = nil error, want a retry")
	}
	calls, err := b.n.MassAll(b.ctx, b.sc, "it1", "it1", "科普")
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0].To != notify.ToAll || calls[0].Recipients != 20 {
		t.Errorf("calls = %+v, want one to all with 20 recipients", calls)
	}
	if got := b.snd.got["all"]; got != 1 {
		t.Errorf("accepted sends to all = %d, want 1", got)
	}
	for _, m := range b.members {
		if !profile.BitSet(b.states(t, m.ID.Shard)[1], m.ID.Local) {
			t.Errorf("%s not recorded as sent", m.OpenID)
		}
	}
}
