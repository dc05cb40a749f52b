package campaign_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
)

// TestMonthlyMassBudgetAcrossCampaigns: five campaigns of five items to the
// same followers, none with an open window: the first four go by mass
// send, the fifth finds the month's four used and sends nothing, skipping
// everyone as mass_budget_used; the budget bitmaps count four for each
// (spent in the writes that recorded the sends), and the fake WeChat,
// which enforces the four itself, delivered exactly four each.
func TestMonthlyMassBudgetAcrossCampaigns(t *testing.T) {
	t.Parallel()
	b := setup(t, clock.Now, func(b *bundle, cfg *campaign.Config) {
		cfg.Caps = plan.Caps{PerDay: 10, PerWeek: 10} // the budget, not the caps, is what stops the fifth
	})
	for k := 3; k <= 5; k++ {
		id := fmt.Sprintf("it%d", k)
		b.items[id] = &content.Item{ID: id, Title: fmt.Sprintf("科普第%d期", k), Summary: "科学种田。", URL: "https://kepu.example.org/a/" + id,
			Status: content.StatusPublished, Audience: content.Audience{Topics: []string{"litchi"}}}
	}
	ps := b.population(t, 400)
	reach := map[string]bool{}
	for o, p := range ps {
		if p.Subscribed && !p.OptedOut {
			reach[o] = true
		}
	}
	b.run(t, "w", 3)
	for k := 1; k <= 5; k++ {
		c := b.create(t, &campaign.Campaign{Name: fmt.Sprintf("第%d期", k), Mode: campaign.ModeItem, ItemID: fmt.Sprintf("it%d", k)})
		c = b.waitDone(t, c.ID, 30*time.Second)
		st, err := b.engine.Stats(b.ctx, c, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case k <= 4 && (st.Sent != int64(len(reach)) || st.ByChannel["mass"] != st.Sent):
			t.Errorf("campaign %d: sent %d (by channel %v), want %d by mass", k, st.Sent, st.ByChannel, len(reach))
		case k == 5 && (st.Sent != 0 || st.Reasons["skipped:mass_budget_used"] != int64(len(reach))):
			t.Errorf("campaign 5: sent %d, reasons %v; want 0 sent, %d skipped as mass_budget_used", st.Sent, st.Reasons, len(reach))
		}
	}
	month := plan.MonthNumber(clock.Now(), shanghai)
	for o, p := range ps {
		_, id, err := b.profiles.Get(b.ctx, "default", o)
		if err != nil {
			t.Fatal(err)
		}
		n, err := b.profiles.MassCounts(b.ctx, "default", id.Shard, month, id.Local/8*8, 8)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if reach[o] {
			want = profile.MassLevels
		}
		if got := int(n[id.Local%8]); got != want || len(fake.Delivered(b.appID, o)) != want {
			t.Errorf("%s (subscribed %v, opted out %v): budget counts %d, delivered %d; want %d", o, p.Subscribed, p.OptedOut, got, len(fake.Delivered(b.appID, o)), want)
		}
	}
}
