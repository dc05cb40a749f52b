package campaign_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
)

// TestPlanEqualsSend plans a campaign, then sends it, over recipients who
// are capped (pushed today already), inside their window (customer-service
// message), outside it (mass), opted out of the item's topic, and who
// received the item before — planned in quiet hours, sent when they end —
// and for an account without WeChat credentials. The plan's counts by
// channel and by reason must be the send's.
func TestPlanEqualsSend(t *testing.T) {
	t.Parallel()
	for _, configured := range []bool{true, false} {
		t.Run(fmt.Sprintf("configured=%v", configured), func(t *testing.T) {
			t.Parallel()
			clk := &testClock{t: time.Date(2027, 4, 6, 22, 0, 0, 0, shanghai)}
			b := setupQuiet(t, clk.Now, "21:30-07:30", func(b *bundle, cfg *campaign.Config) {
				if !configured {
					cfg.Sender = func(string) (campaign.Sender, error) { return nil, notify.ErrNotConfigured }
				}
			})
			var ps []*profile.Profile
			kinds := []string{"window", "mass", "capped", "opted_out", "received"}
			for i := range 60 {
				p := &profile.Profile{OpenID: fmt.Sprintf("oP%s%04d", b.appID[6:], i), Group: "farmer", Town: "paitan", Subscribed: true, CreatedAt: clk.Now()}
				p.SetInterest("litchi", 200)
				fake.Follow(b.appID, p.OpenID)
				switch kinds[i%len(kinds)] {
				case "window":
					fake.UserMessage(b.appID, p.OpenID)
					p.TouchMessage(clk.Now())
				case "opted_out":
					p.OptOutTopic("litchi")
				}
				ps = append(ps, p)
			}
			if _, err := b.profiles.Import(b.ctx, "default", ps); err != nil {
				t.Fatal(err)
			}
			// Capped: pushed to already today; received: got it1 before.
			for i, p := range ps {
				_, id, err := b.profiles.Get(b.ctx, "default", p.OpenID)
				if err != nil {
					t.Fatal(err)
				}
				var index string
				switch kinds[i%len(kinds)] {
				case "capped":
					index = profile.PushedIndex(clk.Now().In(shanghai).Add(10 * time.Hour)) // the day it will be sent
				case "received":
					index = profile.ReceivedIndex("it1")
				default:
					continue
				}
				if _, err := b.profiles.SetBits(b.ctx, "default", id.Shard, profile.BitChange{Index: index, Bit: 1, Lids: []int64{id.Local}}); err != nil {
					t.Fatal(err)
				}
			}
			c := &campaign.Campaign{Name: "荔枝花期", Audience: "group:farmer", Mode: campaign.ModeItem, ItemID: "it1",
				Account: "default", CreatedAt: clk.Now(), Status: campaign.StatusDraft}
			if err := b.store.Create(b.ctx, c); err != nil {
				t.Fatal(err)
			}
			// Planned at 22:00: the plan says the send waits until 07:30.
			early, err := b.engine.Plan(b.ctx, c, 0)
			if err != nil {
				t.Fatal(err)
			}
			if early.Waiting == nil || early.Waiting.Reason != campaign.WaitQuietHours || !early.Waiting.Until.Equal(time.Date(2027, 4, 7, 7, 30, 0, 0, shanghai)) {
				t.Errorf("plan in quiet hours: waiting = %+v, want quiet_hours until 07:30", early.Waiting)
			}
			// Planned and sent at 08:00.
			clk.mu.Lock()
			clk.t = time.Date(2027, 4, 7, 8, 0, 0, 0, shanghai)
			clk.mu.Unlock()
			rep, err := b.engine.Plan(b.ctx, c, 0)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sampled != len(ps) || rep.Waiting != nil {
				t.Fatalf("plan sampled %d of %d, waiting %+v", rep.Sampled, len(ps), rep.Waiting)
			}
			b.run(t, "w", 4)
			if err := b.engine.Enqueue(b.ctx, c); err != nil {
				t.Fatal(err)
			}
			done := b.waitDone(t, c.ID, 30*time.Second)
			st, err := b.engine.Stats(b.ctx, done, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			sent := map[string]int64{}
			for ch, n := range st.ByChannel {
				if n > 0 {
					sent[ch] = n
				}
			}
			if !maps.Equal(sent, rep.ByChannel) {
				t.Errorf("sent by channel %v, plan said %v", sent, rep.ByChannel)
			}
			reasons := map[string]int64{}
			for r, n := range st.Reasons {
				var name string
				if _, err := fmt.Sscanf(r, "skipped:%s", &name); err != nil {
					if _, err := fmt.Sscanf(r, "failed:%s", &name); err != nil {
						continue
					}
				}
				reasons[name] += n
			}
			if !maps.Equal(reasons, rep.Unreachable) {
				t.Errorf("send's reasons %v, plan said %v", reasons, rep.Unreachable)
			}
			want := map[string]int64{"frequency_cap": 12, "topic_opted_out": 12, "already_received": 12}
			if !configured {
				want = map[string]int64{"frequency_cap": 12, "topic_opted_out": 12, "already_received": 12, notify.ReasonNotConfigured: 24}
			}
			if !maps.Equal(rep.Unreachable, want) {
				t.Errorf("plan's reasons %v, want %v", rep.Unreachable, want)
			}
			if st.Sent+st.Failed+st.Skipped != st.Queued {
				t.Errorf("stats do not add up: %+v", st)
			}
		})
	}
}
